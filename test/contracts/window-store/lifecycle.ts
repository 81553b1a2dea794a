import { describe, expect, it } from 'vitest';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import { useStore } from './context.ts';
import { uniqueSubject, type WindowStoreFactory } from './harness.ts';

/** Expiry, peek, refund and reset. */
export function lifecycleContract(create: WindowStoreFactory): void {
  const algorithms = ['gcra', 'fixed-window', 'sliding-window', 'sliding-log'] as const;

  describe('expiry, peek, refund and reset', () => {
    const ctx = useStore(create);

    for (const algorithm of algorithms) {
      const policy = definePolicy({ name: `life-${algorithm}`, limit: 4, window: 1000, algorithm });

      it(`${algorithm}: state expires and the subject starts fresh`, async () => {
        const subject = uniqueSubject();
        await ctx.store.check(subject, [policy], 4);
        expect((await ctx.store.check(subject, [policy], 1)).allowed).toBe(false);
        ctx.clock.advance(2000);
        expect(await ctx.store.check(subject, [policy], 1)).toMatchObject({
          allowed: true,
          remaining: 3,
        });
      });

      it(`${algorithm}: peek charges nothing`, async () => {
        const subject = uniqueSubject();
        await ctx.store.check(subject, [policy], 1);
        for (let i = 0; i < 3; i++) {
          expect(await ctx.store.peek(subject, [policy], 1)).toMatchObject({
            allowed: true,
            remaining: 3,
          });
        }
        await ctx.store.check(subject, [policy], 3);
        expect(await ctx.store.peek(subject, [policy], 1)).toMatchObject({
          allowed: false,
          remaining: 0,
        });
      });

      it(`${algorithm}: refund gives units back, never below empty`, async () => {
        const subject = uniqueSubject();
        await ctx.store.check(subject, [policy], 4);
        await ctx.store.refund(subject, [policy], 2);
        expect((await ctx.store.peek(subject, [policy], 1)).remaining).toBe(2);
        await ctx.store.refund(subject, [policy], 10);
        expect((await ctx.store.peek(subject, [policy], 1)).remaining).toBe(4);
        expect((await ctx.store.check(subject, [policy], 4)).allowed).toBe(true);
        expect((await ctx.store.check(subject, [policy], 1)).allowed).toBe(false);
      });

      it(`${algorithm}: reset forgets the subject`, async () => {
        const subject = uniqueSubject();
        await ctx.store.check(subject, [policy], 4);
        await ctx.store.reset(subject, [policy]);
        expect(await ctx.store.check(subject, [policy], 1)).toMatchObject({
          allowed: true,
          remaining: 3,
        });
      });
    }

    it('reads state written under the same name by another algorithm as empty, for every pair', async () => {
      const algorithms = ['gcra', 'fixed-window', 'sliding-window', 'sliding-log'] as const;
      for (const before of algorithms) {
        for (const after of algorithms) {
          if (before === after) continue;
          const subject = uniqueSubject();
          const old = definePolicy({
            name: 'life-renamed',
            limit: 3,
            window: 60_000,
            algorithm: before,
          });
          const redefined = definePolicy({
            name: 'life-renamed',
            limit: 5,
            window: 60_000,
            algorithm: after,
          });
          await ctx.store.check(subject, [old], 3);
          const decision = await ctx.store.check(subject, [redefined], 1);
          const pair = `${before} -> ${after}`;
          expect(decision, pair).toMatchObject({ allowed: true, remaining: 4, limit: 5 });
          expect(Number.isFinite(decision.resetMs), pair).toBe(true);
          expect(Number.isFinite(decision.retryAfterMs), pair).toBe(true);
        }
      }
    });

    it('limits a policy whatever its name, __proto__ and constructor included', async () => {
      for (const name of ['__proto__', 'constructor', 'hasOwnProperty']) {
        const policy = definePolicy({ name, limit: 2, window: 60_000 });
        const subject = uniqueSubject();
        const allowed: boolean[] = [];
        for (let i = 0; i < 4; i++)
          allowed.push((await ctx.store.check(subject, [policy], 1)).allowed);
        expect(allowed, name).toEqual([true, true, false, false]);
      }
    });

    it('refund leaves observe-mode counts alone', async () => {
      const observe = definePolicy({
        name: 'life-observe',
        limit: 2,
        window: 1000,
        mode: 'observe',
      });
      const subject = uniqueSubject();
      await ctx.store.check(subject, [observe], 2);
      await ctx.store.refund(subject, [observe], 2);
      expect((await ctx.store.peek(subject, [observe], 1)).observed[0]!.remaining).toBe(0);
    });

    it('treats subjects with separators, braces and unusual text as distinct keys', async () => {
      const policy = definePolicy({ name: 'life-odd', limit: 1, window: 60_000 });
      const base = uniqueSubject();
      const subjects = [
        `${base}`,
        `${base}:`,
        `{${base}}`,
        `${base}\n`,
        `${base}\u0000x`,
        `${base}\ud800`,
        `${base}é`,
        `${base}${'x'.repeat(10_000)}`,
      ];
      for (const subject of subjects) {
        expect((await ctx.store.check(subject, [policy], 1)).allowed).toBe(true);
      }
      for (const subject of subjects) {
        expect((await ctx.store.check(subject, [policy], 1)).allowed).toBe(false);
      }
    });
  });
}
