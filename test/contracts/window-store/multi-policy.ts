import { describe, expect, it } from 'vitest';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import { useStore } from './context.ts';
import { uniqueSubject, type WindowStoreFactory } from './harness.ts';

/** Several policies in one call: all charged or none, observe policies count attempts. */
export function multiPolicyContract(create: WindowStoreFactory): void {
  describe('several policies in one call', () => {
    const ctx = useStore(create);
    const perSecond = definePolicy({ name: 'per-second', limit: 2, window: 1000 });
    const perMinute = definePolicy({
      name: 'per-minute',
      limit: 5,
      window: 60_000,
      algorithm: 'sliding-log',
    });
    const burst = definePolicy({
      name: 'burst',
      limit: 3,
      window: 10_000,
      algorithm: 'sliding-log',
      mode: 'observe',
    });
    const policies = [perSecond, perMinute, burst];

    it('charges no policy unless all enforce policies admit', async () => {
      const subject = uniqueSubject();
      await ctx.store.check(subject, policies, 1);
      await ctx.store.check(subject, policies, 1);
      const denied = await ctx.store.check(subject, policies, 1);
      expect(denied).toMatchObject({ allowed: false, policy: 'per-second' });
      expect(denied.results.map((r) => [r.policy, r.allowed, r.remaining])).toEqual([
        ['per-second', false, 0],
        ['per-minute', true, 3],
      ]);
      const peeked = await ctx.store.peek(subject, [perMinute], 1);
      expect(peeked.remaining).toBe(3);
    });

    it('reports the denying policy with the longest wait', async () => {
      const subject = uniqueSubject();
      for (let i = 0; i < 5; i++) {
        await ctx.store.check(subject, policies, 1);
        ctx.clock.advance(500);
      }
      const denied = await ctx.store.check(subject, policies, 2);
      expect(denied.allowed).toBe(false);
      expect(denied.policy).toBe('per-minute');
      expect(denied.retryAfterMs).toBe(60_000 - 2500 + 500);
    });

    it('picks the most constrained policy when admitted', async () => {
      const subject = uniqueSubject();
      const decision = await ctx.store.check(subject, policies, 1);
      expect(decision).toMatchObject({
        allowed: true,
        policy: 'per-second',
        remaining: 1,
        limit: 2,
      });
      expect(decision.degraded).toBe(false);
    });

    it('counts observe-mode attempts even when an enforce policy denies, and never denies for them', async () => {
      const subject = uniqueSubject();
      const results: boolean[] = [];
      const exceeded: boolean[] = [];
      for (let i = 0; i < 5; i++) {
        const decision = await ctx.store.check(subject, [perSecond, burst], 1);
        results.push(decision.allowed);
        exceeded.push(!decision.observed[0]!.allowed);
      }
      expect(results).toEqual([true, true, false, false, false]);
      expect(exceeded).toEqual([false, false, false, true, true]);
    });

    it('never denies when every policy observes', async () => {
      const subject = uniqueSubject();
      for (let i = 0; i < 6; i++) {
        expect((await ctx.store.check(subject, [burst], 1)).allowed).toBe(true);
      }
      const decision = await ctx.store.check(subject, [burst], 1);
      expect(decision.observed[0]).toMatchObject({ allowed: false, remaining: 0 });
    });

    it('rejects a cost above a limit with its own reason and charges nothing', async () => {
      const subject = uniqueSubject();
      const decision = await ctx.store.check(subject, [perSecond, perMinute], 3);
      expect(decision).toMatchObject({
        allowed: false,
        reason: 'cost_exceeds_limit',
        retryAfterMs: -1,
      });
      expect((await ctx.store.peek(subject, [perMinute], 1)).remaining).toBe(5);
    });

    it('keeps subjects independent and policies of one subject independent', async () => {
      const a = uniqueSubject('a');
      const b = uniqueSubject('b');
      await ctx.store.check(a, [perSecond], 2);
      expect((await ctx.store.check(a, [perSecond], 1)).allowed).toBe(false);
      expect((await ctx.store.check(b, [perSecond], 1)).allowed).toBe(true);
      expect((await ctx.store.check(a, [perMinute], 1)).allowed).toBe(true);
    });
  });
}
