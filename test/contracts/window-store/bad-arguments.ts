import { describe, expect, it } from 'vitest';
import { isLockWatchError } from '../../../src/domain/errors.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import type { Policy } from '../../../src/domain/ratelimit/types.ts';
import { useStore } from './context.ts';
import { uniqueSubject, type WindowStoreFactory } from './harness.ts';

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isLockWatchError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** Bad arguments are typed errors and change nothing; a closed store refuses work. */
export function badArgumentsContract(create: WindowStoreFactory): void {
  describe('bad arguments', () => {
    const ctx = useStore(create);
    const policy = definePolicy({ name: 'args', limit: 3, window: 1000 });

    for (const cost of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1' as unknown as number]) {
      it(`rejects cost ${String(cost)} with invalid_option naming cost`, async () => {
        const subject = uniqueSubject();
        const error = await rejection(ctx.store.check(subject, [policy], cost));
        expect(error.code).toBe('invalid_option');
        expect(error.message).toContain('cost');
        expect((await ctx.store.peek(subject, [policy], 1)).remaining).toBe(3);
      });
    }

    it('rejects an empty policy list and a policy not made by definePolicy', async () => {
      const subject = uniqueSubject();
      expect((await rejection(ctx.store.check(subject, [], 1))).message).toContain('policies');
      const forged = { ...policy } as Policy;
      expect((await rejection(ctx.store.check(subject, [forged], 1))).message).toContain(
        'policies[0]',
      );
    });

    it('rejects a subject that is not a string', async () => {
      const error = await rejection(ctx.store.check(42 as unknown as string, [policy], 1));
      expect(error).toMatchObject({ code: 'invalid_option' });
      expect(error.message).toContain('subject');
    });

    it('accepts a cost of zero without charging', async () => {
      const subject = uniqueSubject();
      expect(await ctx.store.check(subject, [policy], 0)).toMatchObject({
        allowed: true,
        remaining: 3,
      });
    });

    it('refuses work after close with a LockWatch error', async () => {
      await ctx.store.close();
      const error = await rejection(ctx.store.check(uniqueSubject(), [policy], 1));
      expect(error.code).toMatch(/^store_/);
    });
  });
}
