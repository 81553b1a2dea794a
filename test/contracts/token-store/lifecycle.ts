import { describe, expect, it } from 'vitest';
import { isLockWatchError } from '../../../src/domain/errors.ts';
import { sessionAt, type TokenStoreFactory, uniqueUser, useTokenStore } from './harness.ts';

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isLockWatchError(error) ? error.code : `not a LockWatch error: ${String(error)}`;
  }
  return 'resolved';
}

/** Expiry, purging, bad arguments, abort and close. */
export function lifecycleContract(create: TokenStoreFactory): void {
  describe('lifecycle', () => {
    const ctx = useTokenStore(create);

    it('purgeExpired leaves live entries alone', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      const live = sessionAt(user, now);
      await ctx.store.createSession(live);
      await ctx.store.createSession(sessionAt(user, now, {}, 10));
      await ctx.store.denyJti(user, 'j', now + 10, now);
      await ctx.store.consumeOnce(user, 'o', now + 10, now);
      const purged = await ctx.store.purgeExpired(now + 100);
      expect(purged).toBeGreaterThanOrEqual(0);
      expect((await ctx.store.listSessions(user, now + 100)).map((s) => s.id)).toEqual([live.id]);
      expect(await ctx.store.consumeOnce(user, 'o', now + 1000, now + 100)).toBe(true);
    });

    it('refuses bad identifiers and times with invalid_option', async () => {
      const now = ctx.clock.now();
      expect(await code(ctx.store.createSession(sessionAt('', now)))).toBe('invalid_option');
      expect(await code(ctx.store.createSession(sessionAt('x'.repeat(257), now)))).toBe(
        'invalid_option',
      );
      expect(
        await code(ctx.store.createSession(sessionAt('u', now, { expiresAt: Number.NaN }))),
      ).toBe('invalid_option');
      expect(await code(ctx.store.denyJti('u', '', now + 1, now))).toBe('invalid_option');
      // Text no SQL database keeps faithfully: NUL, unpaired surrogates.
      expect(await code(ctx.store.createSession(sessionAt('a\u0000b', now)))).toBe(
        'invalid_option',
      );
      expect(await code(ctx.store.denyJti('u\ud800', 'j', now + 1, now))).toBe('invalid_option');
      expect(await code(ctx.store.consumeOnce('', 'x', now + 1, now))).toBe('invalid_option');
      expect(await code(ctx.store.setUserCutoff('u', -1, now, now))).toBe('invalid_option');
    });

    it('an aborted signal rejects with its reason', async () => {
      const controller = new AbortController();
      const reason = new Error('caller gave up');
      controller.abort(reason);
      await expect(
        ctx.store.listSessions(uniqueUser(), ctx.clock.now(), { signal: controller.signal }),
      ).rejects.toBe(reason);
    });

    it('after close every call rejects with store_closed; close twice is harmless', async () => {
      await ctx.store.close();
      await ctx.store.close();
      const now = ctx.clock.now();
      expect(await code(ctx.store.createSession(sessionAt(uniqueUser(), now)))).toBe(
        'store_closed',
      );
      expect(await code(ctx.store.revocationState({ userId: 'u', jti: 'j', now }))).toBe(
        'store_closed',
      );
      expect(await code(ctx.store.listSessions('u', now))).toBe('store_closed');
    });
  });
}
