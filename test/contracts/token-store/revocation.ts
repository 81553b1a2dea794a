import { describe, expect, it } from 'vitest';
import { sessionAt, type TokenStoreFactory, uniqueUser, useTokenStore } from './harness.ts';

/** Deny-list, cut-off, session checks and single-use ids. */
export function revocationContract(create: TokenStoreFactory): void {
  describe('revocation', () => {
    const ctx = useTokenStore(create);

    it('a fresh user: nothing revoked; asking about a session that does not exist says revoked', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      expect(await ctx.store.revocationState({ userId: user, jti: 'j1', now })).toEqual({
        jtiRevoked: false,
        sessionRevoked: false,
        userCutoff: undefined,
      });
      expect(
        await ctx.store.revocationState({ userId: user, jti: 'j1', sessionId: 's', now }),
      ).toMatchObject({ sessionRevoked: true });
    });

    it('a live session is not revoked; revoked, expired or another user’s session is', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      const session = sessionAt(user, now, {}, 5000);
      await ctx.store.createSession(session);
      const ask = (userId: string, at: number) =>
        ctx.store.revocationState({ userId, jti: 'j', sessionId: session.id, now: at });
      expect((await ask(user, now)).sessionRevoked).toBe(false);
      expect((await ask(uniqueUser(), now)).sessionRevoked).toBe(true);
      expect((await ask(user, now + 5000)).sessionRevoked).toBe(true);
      await ctx.store.revokeSession(user, session.id, now);
      expect((await ask(user, now)).sessionRevoked).toBe(true);
    });

    it('a denied jti is revoked until its expiry, for its user only', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      await ctx.store.denyJti(user, 'jti-1', now + 1000, now);
      const ask = (userId: string, jti: string, at: number) =>
        ctx.store.revocationState({ userId, jti, now: at }).then((s) => s.jtiRevoked);
      expect(await ask(user, 'jti-1', now)).toBe(true);
      expect(await ask(user, 'jti-1', now + 999)).toBe(true);
      expect(await ask(user, 'jti-1', now + 1000)).toBe(false);
      expect(await ask(user, 'jti-2', now)).toBe(false);
      expect(await ask(uniqueUser(), 'jti-1', now)).toBe(false);
      // Denying again never shortens the entry; an entry already expired is not stored.
      await ctx.store.denyJti(user, 'jti-1', now + 500, now);
      expect(await ask(user, 'jti-1', now + 999)).toBe(true);
      await ctx.store.denyJti(user, 'jti-3', now, now);
      expect(await ask(user, 'jti-3', now - 1)).toBe(false);
    });

    it('the user cut-off applies until its expiry and never moves back', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      const cutoff = () =>
        ctx.store.revocationState({ userId: user, jti: 'j', now: ctx.clock.now() });
      await ctx.store.setUserCutoff(user, now, now + 10_000, now);
      expect((await cutoff()).userCutoff).toBe(now);
      await ctx.store.setUserCutoff(user, now - 5000, now + 1000, now);
      expect((await cutoff()).userCutoff).toBe(now);
      ctx.clock.advance(100);
      await ctx.store.setUserCutoff(user, now + 100, now + 20_000, now + 100);
      expect((await cutoff()).userCutoff).toBe(now + 100);
      ctx.clock.advance(19_900);
      expect((await cutoff()).userCutoff).toBeUndefined();
      expect(
        (await ctx.store.revocationState({ userId: uniqueUser(), jti: 'j', now })).userCutoff,
      ).toBeUndefined();
    });

    it('consumeOnce: true the first time, false while the entry lives, per user', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      expect(await ctx.store.consumeOnce(user, 'once', now + 1000, now)).toBe(true);
      expect(await ctx.store.consumeOnce(user, 'once', now + 1000, now + 999)).toBe(false);
      expect(await ctx.store.consumeOnce(uniqueUser(), 'once', now + 1000, now)).toBe(true);
      expect(await ctx.store.consumeOnce(user, 'once', now + 5000, now + 1000)).toBe(true);
    });

    it('20 concurrent consumeOnce calls: exactly one wins', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => ctx.store.consumeOnce(user, 'race', now + 1000, now)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}
