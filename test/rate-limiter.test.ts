import { describe, expect, it } from 'vitest';
import { createManualClock } from '../src/adapters/clock/manual.ts';
import { createMemoryWindowStore } from '../src/adapters/memory/window-store.ts';
import { isLockWatchError } from '../src/domain/errors.ts';
import { createRateLimiter } from '../src/rate-limiter.ts';
import { createSwitchableStore } from './support/switchable-store.ts';

function thrown(fn: () => unknown): { code: string; message: string; option?: string } {
  try {
    fn();
  } catch (error) {
    if (isLockWatchError(error)) return error as { code: string; message: string; option?: string };
    throw error;
  }
  throw new Error('expected an error');
}

describe('createRateLimiter', () => {
  it('checks, peeks, refunds and resets a subject on the default memory store', async () => {
    const clock = createManualClock();
    const limiter = createRateLimiter({
      clock,
      policies: [{ name: 'api', limit: 2, window: '1s' }],
    });
    expect(await limiter.check('ip:1')).toMatchObject({ allowed: true, remaining: 1 });
    expect(await limiter.check('ip:1')).toMatchObject({ allowed: true, remaining: 0 });
    expect(await limiter.check('ip:1')).toMatchObject({ allowed: false, retryAfterMs: 500 });
    await limiter.refund('ip:1');
    expect(await limiter.peek('ip:1')).toMatchObject({ allowed: true, remaining: 1 });
    await limiter.reset('ip:1');
    expect(await limiter.peek('ip:1')).toMatchObject({ remaining: 2 });
    await limiter.close();
    await expect(limiter.check('ip:1')).rejects.toMatchObject({ code: 'store_closed' });
  });

  it('charges the per-call cost and validates it', async () => {
    const limiter = createRateLimiter({
      clock: createManualClock(),
      policies: [{ name: 'api', limit: 10, window: '1m', algorithm: 'fixed-window' }],
    });
    expect(await limiter.check('u', { cost: 7 })).toMatchObject({ remaining: 3 });
    await expect(limiter.check('u', { cost: -2 })).rejects.toMatchObject({
      code: 'invalid_option',
    });
    await expect(limiter.check('u', { cost: 0.5 })).rejects.toThrow(/cost/);
  });

  it('resolves subjects with the key function and skips when it returns undefined', async () => {
    const limiter = createRateLimiter<{ user?: string }>({
      clock: createManualClock(),
      policies: [{ name: 'per-user', limit: 1, window: '1m' }],
      key: (request) => (request.user === undefined ? undefined : `user:${request.user}`),
    });
    expect(await limiter.checkRequest({ user: 'ann' })).toMatchObject({ allowed: true });
    expect(await limiter.checkRequest({ user: 'ann' })).toMatchObject({ allowed: false });
    expect(await limiter.checkRequest({})).toBeUndefined();
  });

  it('applies the failure policy given in options, with its timeout on the clock', async () => {
    const clock = createManualClock();
    const store = createSwitchableStore(clock);
    const limiter = createRateLimiter({
      store,
      clock,
      policies: [{ name: 'api', limit: 5, window: '1m' }],
      failure: { policy: 'closed', timeoutMs: 50 },
    });
    expect(await limiter.check('s')).toMatchObject({ allowed: true, degraded: false });
    store.mode = 'hang';
    const pending = limiter.check('s');
    clock.advance(50);
    expect(await pending).toMatchObject({
      allowed: false,
      reason: 'store_unavailable',
      degraded: true,
    });
    expect(() =>
      createRateLimiter({
        policies: [{ name: 'p', limit: 1, window: 1 }],
        failure: { policy: 'maybe' as never },
      }),
    ).toThrow(/failure\.policy/);
  });

  it('puts a store that is not in-process under the open policy (100 ms) unless told otherwise', async () => {
    const clock = createManualClock();
    const store = createSwitchableStore(clock);
    const policies = [{ name: 'api', limit: 5, window: '1m' }];
    const logged: string[] = [];
    const guarded = createRateLimiter({
      store,
      clock,
      policies,
      logger: { warn: (line) => logged.push(line) },
    });
    store.mode = 'hang';
    const pending = guarded.check('s');
    clock.advance(100);
    expect(await pending).toMatchObject({ allowed: true, degraded: true });
    store.mode = 'fail';
    for (let i = 0; i < 5; i++) await guarded.check('s');
    // One line per breaker state change, none per request.
    expect(logged).toEqual(['lockwatch: rate-limit store breaker closed -> open']);
    const bare = createRateLimiter({ store, clock, policies, failure: false });
    await expect(bare.check('s')).rejects.toMatchObject({ code: 'store_unavailable' });
    const fallback = createRateLimiter({ store, clock, policies, failure: { policy: 'fallback' } });
    expect(await fallback.check('s')).toMatchObject({
      allowed: true,
      degraded: true,
      remaining: 4,
    });
  });

  it('leaves a store it was given open', async () => {
    const store = createMemoryWindowStore({ clock: createManualClock() });
    const limiter = createRateLimiter({ store, policies: [{ name: 'p', limit: 1, window: 1000 }] });
    await limiter.close();
    expect((await store.check('s', limiter.policies, 1)).allowed).toBe(true);
  });

  describe('rejects bad options at construction, naming the option', () => {
    const cases: [string, unknown, string][] = [
      ['limit 0', { name: 'p', limit: 0, window: 1000 }, 'policies[0].limit'],
      ['negative limit', { name: 'p', limit: -5, window: 1000 }, 'policies[0].limit'],
      ['NaN limit', { name: 'p', limit: Number.NaN, window: 1000 }, 'policies[0].limit'],
      [
        'Infinity limit',
        { name: 'p', limit: Number.POSITIVE_INFINITY, window: 1000 },
        'policies[0].limit',
      ],
      ['fractional limit', { name: 'p', limit: 2.5, window: 1000 }, 'policies[0].limit'],
      ['window 0', { name: 'p', limit: 5, window: 0 }, 'policies[0].window'],
      ['unparsable window', { name: 'p', limit: 5, window: '10 parsecs' }, 'policies[0].window'],
      [
        'unknown algorithm',
        { name: 'p', limit: 5, window: 1000, algorithm: 'leaky' },
        'policies[0].algorithm',
      ],
      ['unknown mode', { name: 'p', limit: 5, window: 1000, mode: 'shadow' }, 'policies[0].mode'],
      [
        'burst without gcra',
        { name: 'p', limit: 5, window: 1000, algorithm: 'fixed-window', burst: 2 },
        'policies[0].burst',
      ],
      ['bad name', { name: 'a b{c}', limit: 5, window: 1000 }, 'policies[0].name'],
      [
        'product beyond 2^52',
        { name: 'p', limit: 1_000_000_000, window: '366d' },
        'policies[0].window',
      ],
    ];
    for (const [label, policy, option] of cases) {
      it(label, () => {
        const error = thrown(() => createRateLimiter({ policies: [policy as never] }));
        expect(error.code).toBe('invalid_option');
        expect(error.option).toBe(option);
        expect(error.message).toContain(option);
        expect(error.message).toMatch(/expected/);
      });
    }

    it('no policies, duplicate names, bad default cost, bad key', () => {
      expect(thrown(() => createRateLimiter({ policies: [] })).option).toBe('policies');
      const twice = { name: 'p', limit: 1, window: 1000 };
      expect(thrown(() => createRateLimiter({ policies: [twice, twice] })).option).toBe(
        'policies[1].name',
      );
      expect(thrown(() => createRateLimiter({ policies: [twice], cost: -1 })).option).toBe('cost');
      expect(thrown(() => createRateLimiter({ policies: [twice], cost: 1.5 })).option).toBe('cost');
      expect(
        thrown(() => createRateLimiter({ policies: [twice], key: 'ip' as never })).option,
      ).toBe('key');
    });
  });
});
