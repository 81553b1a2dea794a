import { describe, expect, it } from 'vitest';
import {
  closedDecision,
  closedRetryAfterMs,
  openDecision,
} from '../../../src/domain/failure/degraded.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';

const now = 1_700_006_400_000;
const perMinute = definePolicy({ name: 'minute', limit: 10, window: '1m' });
const perHour = definePolicy({ name: 'hour', limit: 100, window: '1h', algorithm: 'fixed-window' });
const watch = definePolicy({ name: 'watch', limit: 3, window: '1s', mode: 'observe' });

describe('openDecision', () => {
  it('admits, marked degraded, with the limits of a fresh subject', () => {
    const decision = openDecision([perMinute, perHour, watch], 2, now);
    expect(decision).toMatchObject({
      allowed: true,
      reason: 'ok',
      degraded: true,
      retryAfterMs: 0,
    });
    expect(decision.policy).toBe('minute');
    expect(decision.limit).toBe(10);
    expect(decision.remaining).toBe(8);
    expect(decision.results.map((r) => [r.policy, r.remaining])).toEqual([
      ['minute', 8],
      ['hour', 98],
    ]);
    expect(decision.observed.map((r) => r.policy)).toEqual(['watch']);
  });

  it('charges nothing for a peek', () => {
    expect(openDecision([perMinute], 2, now, false).remaining).toBe(10);
  });

  it('still refuses a cost no policy can admit', () => {
    expect(openDecision([perMinute], 11, now)).toMatchObject({
      allowed: false,
      reason: 'cost_exceeds_limit',
      retryAfterMs: -1,
      degraded: true,
    });
  });
});

describe('closedDecision', () => {
  it('denies with store_unavailable on every enforce policy', () => {
    const decision = closedDecision([perMinute, perHour, watch], 1, now, 4000);
    expect(decision).toMatchObject({
      allowed: false,
      reason: 'store_unavailable',
      policy: 'minute',
      limit: 10,
      remaining: 0,
      retryAfterMs: 4000,
      degraded: true,
    });
    expect(decision.results.map((r) => [r.policy, r.allowed, r.retryAfterMs])).toEqual([
      ['minute', false, 4000],
      ['hour', false, 4000],
    ]);
    expect(decision.observed.map((r) => [r.policy, r.remaining])).toEqual([['watch', 3]]);
  });

  it('keeps cost_exceeds_limit, which needs no store', () => {
    expect(closedDecision([perMinute], 11, now, 4000)).toMatchObject({
      reason: 'cost_exceeds_limit',
      retryAfterMs: -1,
    });
  });

  it('never denies a subject with only observe-mode policies', () => {
    expect(closedDecision([watch], 1, now, 4000)).toMatchObject({ allowed: true, degraded: true });
  });
});

describe('closedRetryAfterMs', () => {
  it('is the time until the breaker lets a probe through, at least one second', () => {
    expect(closedRetryAfterMs(now + 4000, now)).toBe(4000);
    expect(closedRetryAfterMs(now + 10, now)).toBe(1000);
    expect(closedRetryAfterMs(now, now)).toBe(1000);
  });
});
