import { describe, expect, it } from 'vitest';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import { useStore } from './context.ts';
import { uniqueSubject, type WindowStoreFactory } from './harness.ts';

/** Sliding log: exact counts inside the last window. */
export function slidingLogContract(create: WindowStoreFactory): void {
  describe('sliding-log', () => {
    const ctx = useStore(create);
    const policy = definePolicy({ name: 'log', limit: 3, window: 1000, algorithm: 'sliding-log' });

    it('counts exactly the charges inside the last window', async () => {
      const subject = uniqueSubject();
      await ctx.store.check(subject, [policy], 1);
      ctx.clock.advance(400);
      await ctx.store.check(subject, [policy], 2);
      const denied = await ctx.store.check(subject, [policy], 1);
      expect(denied).toMatchObject({ allowed: false, retryAfterMs: 600, remaining: 0 });
      ctx.clock.advance(599);
      expect((await ctx.store.check(subject, [policy], 1)).allowed).toBe(false);
      ctx.clock.advance(1);
      expect(await ctx.store.check(subject, [policy], 1)).toMatchObject({
        allowed: true,
        remaining: 0,
      });
      // The 2-unit charge made at 400 ms leaves at 1400 ms.
      expect((await ctx.store.check(subject, [policy], 2)).retryAfterMs).toBe(400);
    });

    it('lets a client that keeps retrying back in (rejected requests consume nothing)', async () => {
      const subject = uniqueSubject();
      for (let i = 0; i < 3; i++) await ctx.store.check(subject, [policy], 1);
      for (let t = 0; t < 999; t += 111) {
        expect((await ctx.store.check(subject, [policy], 1)).allowed).toBe(false);
        ctx.clock.advance(111);
      }
      ctx.clock.advance(1);
      expect((await ctx.store.check(subject, [policy], 1)).allowed).toBe(true);
    });
  });
}
