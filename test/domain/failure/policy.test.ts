import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import { defineFailurePolicy } from '../../../src/domain/failure/policy.ts';

function optionOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidOptionError) return error.option;
    throw error;
  }
  return undefined;
}

describe('defineFailurePolicy', () => {
  it('fills in the defaults', () => {
    expect(defineFailurePolicy({ policy: 'open' })).toEqual({
      policy: 'open',
      timeoutMs: 100,
      breaker: { failureThreshold: 5, cooldownMs: 5000 },
    });
  });

  it('takes the concern default when policy is left out, and requires one otherwise', () => {
    expect(defineFailurePolicy({ timeoutMs: 20 }, 'tokens.failure', 'closed').policy).toBe(
      'closed',
    );
    expect(optionOf(() => defineFailurePolicy({}))).toBe('failure.policy');
    expect(optionOf(() => defineFailurePolicy(undefined))).toBe('failure.policy');
  });

  it('names the offending option', () => {
    expect(optionOf(() => defineFailurePolicy({ policy: 'half' as never }))).toBe('failure.policy');
    for (const timeoutMs of [0, -1, 1.5, 10_001, Number.NaN, '100']) {
      expect(
        optionOf(() => defineFailurePolicy({ policy: 'open', timeoutMs: timeoutMs as number })),
      ).toBe('failure.timeoutMs');
    }
    expect(
      optionOf(() =>
        defineFailurePolicy({ policy: 'open', breaker: { cooldownMs: 0 } }, 'rateLimit.failure'),
      ),
    ).toBe('rateLimit.failure.breaker.cooldownMs');
    expect(
      optionOf(() => defineFailurePolicy({ policy: 'open', breaker: { failureThreshold: 0 } })),
    ).toBe('failure.breaker.failureThreshold');
    expect(optionOf(() => defineFailurePolicy('open' as never))).toBe('failure');
  });

  it('accepts timeouts from 1 ms to 10 s', () => {
    expect(defineFailurePolicy({ policy: 'closed', timeoutMs: 1 }).timeoutMs).toBe(1);
    expect(defineFailurePolicy({ policy: 'fallback', timeoutMs: 10_000 }).timeoutMs).toBe(10_000);
  });
});
