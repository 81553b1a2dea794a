import { describe, expect, it } from 'vitest';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import { useStore } from './context.ts';
import { uniqueSubject, type WindowStoreFactory } from './harness.ts';

/** Fixed window: the limit per aligned window. */
export function fixedWindowContract(create: WindowStoreFactory): void {
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
}
