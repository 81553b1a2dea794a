import { describe, expect, it } from 'vitest';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import type { Decision } from '../../../src/domain/ratelimit/types.ts';
import { useStore } from './context.ts';
import { uniqueSubject, type WindowStoreFactory } from './harness.ts';

/** `checkNow`: offered only by stores that decide with no I/O, and then the same as `check`. */
export function synchronousContract(create: WindowStoreFactory): void {
  describe('checkNow', () => {
    const ctx = useStore(create);
    const policies = [
      definePolicy({ name: 'now-rate', limit: 3, window: 1000 }),
      definePolicy({
        name: 'now-burst',
        limit: 4,
        window: 10_000,
        algorithm: 'sliding-log',
        mode: 'observe',
      }),
    ];

    it('is offered by in-process stores only', () => {
      const { store } = ctx;
      // A store that needs I/O (or a wrapper adding a timeout) must not claim to decide at once,
      // and an in-process one offers it: the HTTP pipeline's synchronous path depends on it.
      expect(typeof store.checkNow).toBe(store.inProcess === true ? 'function' : 'undefined');
    });

    it('decides as check does, on the same state', async () => {
      const { store } = ctx;
      if (store.checkNow === undefined) return;
      const viaNow = uniqueSubject('now');
      const viaPromise = uniqueSubject('promise');
      const now: Decision[] = [];
      const later: Decision[] = [];
      for (let i = 0; i < 6; i++) {
        // Alternating calls on one subject share its state: check and checkNow are one counter.
        now.push(
          i % 2 === 0
            ? store.checkNow(viaNow, policies, 1)
            : await store.check(viaNow, policies, 1),
        );
        later.push(await store.check(viaPromise, policies, 1));
        ctx.clock.advance(1);
      }
      expect(now).toEqual(later);
      expect(now.map((d) => d.allowed)).toEqual([true, true, true, false, false, false]);
      expect(now.map((d) => d.observed[0]!.allowed)).toEqual([
        true,
        true,
        true,
        true,
        false,
        false,
      ]);
    });

    it('throws what check rejects with: bad arguments, a closed store', async () => {
      const { store } = ctx;
      if (store.checkNow === undefined) return;
      let rejected: unknown;
      await store.check('s', policies, -1).catch((error: unknown) => {
        rejected = error;
      });
      expect(rejected).toBeInstanceOf(Error);
      expect(() => store.checkNow!('s', policies, -1)).toThrow(
        (rejected as Error).constructor as never,
      );
      await store.close();
      const closed = await store.check('x', policies, 1).catch((error: unknown) => error);
      expect(closed).toBeInstanceOf(Error);
      expect(() => store.checkNow!('x', policies, 1)).toThrow((closed as Error).message);
    });
  });
}
