import { describe, expect, it } from 'vitest';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import { useStore } from './context.ts';
import { uniqueSubject, type WindowStoreFactory } from './harness.ts';

/** Fixed window, two-counter sliding window and sliding log. */
export function windowsContract(create: WindowStoreFactory): void {
  describe('fixed-window', () => {
    const ctx = useStore(create);
    const policy = definePolicy({
      name: 'fixed',
      limit: 3,
      window: 1000,
      algorithm: 'fixed-window',
    });

    it('admits the limit per aligned window and waits for the next one', async () => {
      const subject = uniqueSubject();
      ctx.clock.advance(250);
      for (let i = 0; i < 3; i++)
        expect((await ctx.store.check(subject, [policy], 1)).allowed).toBe(true);
      const denied = await ctx.store.check(subject, [policy], 1);
      expect(denied).toMatchObject({
        allowed: false,
        retryAfterMs: 750,
        resetMs: 750,
        remaining: 0,
      });
      ctx.clock.advance(749);
      expect((await ctx.store.check(subject, [policy], 1)).allowed).toBe(false);
      ctx.clock.advance(1);
      expect(await ctx.store.check(subject, [policy], 1)).toMatchObject({
        allowed: true,
        remaining: 2,
      });
    });
  });

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
