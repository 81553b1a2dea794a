import { describe, expect, it } from 'vitest';
import {
  rotation,
  sessionAt,
  type TokenStoreFactory,
  uniqueUser,
  useTokenStore,
} from './harness.ts';

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

    it('a session created at or before a live cut-off is logged out: revoked, never rotated, not listed', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      // Logins that read their clock before "log out everywhere" and landed after it.
      const racing = sessionAt(user, now - 1);
      const atCutoff = sessionAt(user, now);
      const after = sessionAt(user, now + 1);
      await ctx.store.setUserCutoff(user, now, now + 60_000, now);
      for (const session of [racing, atCutoff, after]) await ctx.store.createSession(session);
      const later = now + 10;
      const revoked = (sessionId: string) =>
        ctx.store
          .revocationState({ userId: user, jti: 'j', sessionId, now: later })
          .then((state) => state.sessionRevoked);
      expect(await revoked(racing.id)).toBe(true);
      expect(await revoked(atCutoff.id)).toBe(true);
      expect(await revoked(after.id)).toBe(false);
      expect((await ctx.store.listSessions(user, later)).map((s) => s.id)).toEqual([after.id]);
      expect(
        await ctx.store.rotateRefresh(rotation(racing, racing.refreshHash, 'h1', later)),
      ).toEqual({ kind: 'not_found' });
      // Refused rotation removed it.
      expect(await ctx.store.getSession(user, racing.id, later)).toBeUndefined();
      expect(
        (await ctx.store.rotateRefresh(rotation(after, after.refreshHash, 'h1', later))).kind,
      ).toBe('rotated');
      // Another user's cut-off changes nothing.
      const bystander = sessionAt(uniqueUser(), now - 1);
      await ctx.store.createSession(bystander);
      expect(
        (
          await ctx.store.revocationState({
            userId: bystander.userId,
            jti: 'j',
            sessionId: bystander.id,
            now: later,
          })
        ).sessionRevoked,
      ).toBe(false);
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
