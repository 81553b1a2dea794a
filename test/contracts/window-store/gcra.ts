import { describe, expect, it } from 'vitest';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import { useStore } from './context.ts';
import { uniqueSubject, type WindowStoreFactory } from './harness.ts';

/** GCRA: burst at once, then one unit per emission interval, exact retry-after. */
export function gcraContract(create: WindowStoreFactory): void {
  describe('gcra', () => {
    const ctx = useStore(create);
    const policy = definePolicy({ name: 'gcra', limit: 5, window: 1000 });

    it('admits the burst at once, then denies with the exact wait', async () => {
      const subject = uniqueSubject();
      for (let i = 0; i < 5; i++) {
        const decision = await ctx.store.check(subject, [policy], 1);
        expect(decision).toMatchObject({
          allowed: true,
          remaining: 4 - i,
          policy: 'gcra',
          limit: 5,
        });
      }
      const denied = await ctx.store.check(subject, [policy], 1);
      expect(denied).toMatchObject({
        allowed: false,
        reason: 'limit',
        remaining: 0,
        retryAfterMs: 200,
      });
      ctx.clock.advance(199);
      expect((await ctx.store.check(subject, [policy], 1)).allowed).toBe(false);
      ctx.clock.advance(1);
      expect((await ctx.store.check(subject, [policy], 1)).allowed).toBe(true);
    });

    it('keeps exact time when the emission interval is not a whole millisecond', async () => {
      const third = definePolicy({ name: 'third', limit: 3, window: 1000 });
      const subject = uniqueSubject();
      expect((await ctx.store.check(subject, [third], 3)).allowed).toBe(true);
      // Emission interval 333⅓ ms: the waits are 334, 333, 333 and the third
      // admission falls exactly one window after the burst.
      const waits: number[] = [];
      for (let i = 0; i < 3; i++) {
        const denied = await ctx.store.check(subject, [third], 1);
        waits.push(denied.retryAfterMs);
        ctx.clock.advance(denied.retryAfterMs - 1);
        expect((await ctx.store.check(subject, [third], 1)).allowed).toBe(false);
        ctx.clock.advance(1);
        expect((await ctx.store.check(subject, [third], 1)).allowed).toBe(true);
      }
      expect(waits).toEqual([334, 333, 333]);
    });

    it('reports reset as the time until the bucket is empty', async () => {
      const subject = uniqueSubject();
      await ctx.store.check(subject, [policy], 2);
      const decision = await ctx.store.check(subject, [policy], 1);
      expect(decision.resetMs).toBe(600);
      ctx.clock.advance(600);
      expect((await ctx.store.peek(subject, [policy], 1)).remaining).toBe(5);
    });

    it('charges weighted costs and honours a burst smaller than the limit', async () => {
      const steady = definePolicy({ name: 'steady', limit: 10, window: 1000, burst: 4 });
      const subject = uniqueSubject();
      expect(await ctx.store.check(subject, [steady], 3)).toMatchObject({
        allowed: true,
        remaining: 1,
        limit: 4,
      });
      const denied = await ctx.store.check(subject, [steady], 2);
      expect(denied).toMatchObject({ allowed: false, retryAfterMs: 100 });
      ctx.clock.advance(100);
      expect(await ctx.store.check(subject, [steady], 2)).toMatchObject({
        allowed: true,
        remaining: 0,
      });
    });
  });
}
