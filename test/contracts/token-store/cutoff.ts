import { describe, expect, it } from 'vitest';
import { sessionAt, type TokenStoreFactory, uniqueUser, useTokenStore } from './harness.ts';

/**
 * Sessions a user cut-off ended: every method that reports whether a
 * session is live says it is not, as for a revoked one.
 */
export function cutoffContract(create: TokenStoreFactory): void {
  describe('sessions ended by a cut-off', () => {
    const ctx = useTokenStore(create);

    it('getSession, listSessions, revokeSession and revokeUserSessions all treat them as ended', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      // Two logins, then "log out everywhere" sets the cut-off (alone: nothing else revokes them).
      const first = sessionAt(user, now - 20);
      const second = sessionAt(user, now - 10);
      for (const session of [first, second]) await ctx.store.createSession(session);
      await ctx.store.setUserCutoff(user, now, now + 60_000, now);
      const after = sessionAt(user, now + 1);
      await ctx.store.createSession(after);
      // Another user's session of the same time, untouched by this user's cut-off.
      const bystander = sessionAt(uniqueUser(), now - 20);
      await ctx.store.createSession(bystander);
      ctx.clock.advance(10);
      const later = ctx.clock.now();

      expect(await ctx.store.getSession(user, first.id, later)).toBeUndefined();
      expect(await ctx.store.getSession(user, second.id, later)).toBeUndefined();
      expect(await ctx.store.getSession(user, after.id, later)).toMatchObject({ id: after.id });
      expect((await ctx.store.listSessions(user, later)).map((s) => s.id)).toEqual([after.id]);
      // As for a session revoked already: false, and false again.
      expect(await ctx.store.revokeSession(user, first.id, later)).toBe(false);
      expect(await ctx.store.revokeSession(user, first.id, later)).toBe(false);
      // Only the session created after the cut-off was still live.
      expect(await ctx.store.revokeUserSessions(user, undefined, later)).toBe(1);
      expect(await ctx.store.revokeUserSessions(user, undefined, later)).toBe(0);
      expect(await ctx.store.getSession(user, after.id, later)).toBeUndefined();
      expect(await ctx.store.listSessions(user, later)).toEqual([]);
      expect(await ctx.store.getSession(bystander.userId, bystander.id, later)).toBeDefined();
      expect(await ctx.store.revokeSession(bystander.userId, bystander.id, later)).toBe(true);
    });

    it('revokeUserSessions keeping one session counts only the others the cut-off left live', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      const ended = [sessionAt(user, now - 5), sessionAt(user, now)];
      for (const session of ended) await ctx.store.createSession(session);
      await ctx.store.setUserCutoff(user, now, now + 60_000, now);
      const kept = sessionAt(user, now + 1);
      const other = sessionAt(user, now + 2);
      for (const session of [kept, other]) await ctx.store.createSession(session);
      const later = now + 10;

      expect(await ctx.store.revokeUserSessions(user, kept.id, later)).toBe(1);
      expect((await ctx.store.listSessions(user, later)).map((s) => s.id)).toEqual([kept.id]);
      // Keeping a session the cut-off ended keeps nothing alive and counts nothing for it.
      const endedKept = sessionAt(user, now - 1);
      await ctx.store.createSession(endedKept);
      expect(await ctx.store.revokeUserSessions(user, endedKept.id, later)).toBe(1);
      expect(await ctx.store.getSession(user, endedKept.id, later)).toBeUndefined();
    });
  });
}
