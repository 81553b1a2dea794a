import { describe, expect, it } from 'vitest';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import { useStore } from './context.ts';
import { uniqueSubject, type WindowStoreFactory } from './harness.ts';

/** Two-counter sliding window: weighted estimate and exact retry-after. */
export function slidingWindowContract(create: WindowStoreFactory): void {
  describe('sliding-window', () => {
    const ctx = useStore(create);
    const policy = definePolicy({
      name: 'sliding',
      limit: 10,
      window: 1000,
      algorithm: 'sliding-window',
    });

    it('weights the previous window by the part still inside the sliding window', async () => {
      const subject = uniqueSubject();
      expect((await ctx.store.check(subject, [policy], 10)).allowed).toBe(true);
      ctx.clock.advance(1000);
      // At the start of the next window all 10 still count.
      expect(await ctx.store.check(subject, [policy], 1)).toMatchObject({
        allowed: false,
        retryAfterMs: 100,
      });
      ctx.clock.advance(500);
      // Half of the previous window remains: 5 count, so 5 fit.
      expect(await ctx.store.check(subject, [policy], 5)).toMatchObject({
        allowed: true,
        remaining: 0,
      });
      expect((await ctx.store.check(subject, [policy], 1)).allowed).toBe(false);
    });

    it('gives an exact retry-after', async () => {
      const subject = uniqueSubject();
      await ctx.store.check(subject, [policy], 8);
      ctx.clock.advance(1300);
      const denied = await ctx.store.check(subject, [policy], 8);
      expect(denied.allowed).toBe(false);
      ctx.clock.advance(denied.retryAfterMs - 1);
      expect((await ctx.store.check(subject, [policy], 8)).allowed).toBe(false);
      ctx.clock.advance(1);
      expect((await ctx.store.check(subject, [policy], 8)).allowed).toBe(true);
    });
  });
}
