import { describe, expect, it } from 'vitest';
import { sessionAt, type TokenStoreFactory, uniqueUser, useTokenStore } from './harness.ts';

/** Creating, reading, listing and revoking sessions. */
export function sessionsContract(create: TokenStoreFactory): void {
  describe('sessions', () => {
    const ctx = useTokenStore(create);

    it('stores a session and reads it back with every field', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      const session = sessionAt(user, now, {
        ip: '2001:db8::1',
        userAgent: 'Mozilla/5.0 (X11) «ünïcödé» 🚀',
        data: '{"c":"app","a":"api","x":{"k":"v|with:odd{chars}"}}',
      });
      await ctx.store.createSession(session);
      expect(await ctx.store.getSession(user, session.id, now)).toEqual({
        ...session,
        previousHash: undefined,
        rotatedAt: undefined,
        lastIp: undefined,
      });
    });

    it('getSession: unknown user, unknown id, and an expired session are undefined', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      const session = sessionAt(user, now, {}, 1000);
      await ctx.store.createSession(session);
      expect(await ctx.store.getSession(uniqueUser(), session.id, now)).toBeUndefined();
      expect(await ctx.store.getSession(user, 'nope', now)).toBeUndefined();
      expect(await ctx.store.getSession(user, session.id, now + 999)).toBeDefined();
      expect(await ctx.store.getSession(user, session.id, now + 1000)).toBeUndefined();
    });

    it('lists live sessions newest first, by creation time then id; expired ones are left out', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      const a = sessionAt(user, now - 3000, { id: 'a' });
      const b = sessionAt(user, now - 1000, { id: 'b' });
      const c = sessionAt(user, now - 1000, { id: 'c' });
      const old = sessionAt(user, now - 5000, { id: 'old' }, 4000);
      for (const s of [a, b, c, old]) await ctx.store.createSession(s);
      await ctx.store.createSession(sessionAt(uniqueUser(), now));
      const listed = await ctx.store.listSessions(user, now);
      expect(listed.map((s) => s.id)).toEqual(['c', 'b', 'a']);
      expect(listed[0]).toMatchObject({ userId: user, createdAt: now - 1000 });
      expect(await ctx.store.listSessions(uniqueUser(), now)).toEqual([]);
    });

    it('revokeSession removes one session and says whether it was live', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      const one = sessionAt(user, now);
      const two = sessionAt(user, now);
      await ctx.store.createSession(one);
      await ctx.store.createSession(two);
      expect(await ctx.store.revokeSession(user, one.id, now)).toBe(true);
      expect(await ctx.store.revokeSession(user, one.id, now)).toBe(false);
      expect(await ctx.store.revokeSession(uniqueUser(), two.id, now)).toBe(false);
      expect((await ctx.store.listSessions(user, now)).map((s) => s.id)).toEqual([two.id]);
      expect(await ctx.store.getSession(user, one.id, now)).toBeUndefined();
    });

    it('revokeUserSessions revokes all but the kept one and counts live ones only', async () => {
      const now = ctx.clock.now();
      const user = uniqueUser();
      const keep = sessionAt(user, now);
      const others = [sessionAt(user, now), sessionAt(user, now), sessionAt(user, now - 10, {}, 5)];
      for (const s of [keep, ...others]) await ctx.store.createSession(s);
      const bystander = sessionAt(uniqueUser(), now);
      await ctx.store.createSession(bystander);
      expect(await ctx.store.revokeUserSessions(user, keep.id, now)).toBe(2);
      expect((await ctx.store.listSessions(user, now)).map((s) => s.id)).toEqual([keep.id]);
      expect(await ctx.store.revokeUserSessions(user, undefined, now)).toBe(1);
      expect(await ctx.store.listSessions(user, now)).toEqual([]);
      expect(await ctx.store.getSession(bystander.userId, bystander.id, now)).toBeDefined();
    });

    it('keeps users with hostile ids apart (braces, separators, unicode, 256 characters)', async () => {
      const now = ctx.clock.now();
      const base = uniqueUser();
      const users = [
        `${base}{x}`,
        `${base}}{`,
        `${base}:s:x`,
        `${base}|1`,
        `${base} ü 🚀`,
        `${base}${'z'.repeat(256 - base.length)}`,
      ];
      for (const user of users) await ctx.store.createSession(sessionAt(user, now, { id: 'same' }));
      for (const user of users) {
        const listed = await ctx.store.listSessions(user, now);
        expect(listed.map((s) => [s.userId, s.id])).toEqual([[user, 'same']]);
      }
      expect(await ctx.store.revokeUserSessions(users[0]!, undefined, now)).toBe(1);
      expect(await ctx.store.getSession(users[1]!, 'same', now)).toBeDefined();
    });
  });
}
