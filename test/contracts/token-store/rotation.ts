import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import {
  rotation,
  sessionAt,
  type TokenStoreFactory,
  uniqueUser,
  useTokenStore,
} from './harness.ts';

/** The rotation rule: rotated, grace, reused (and its tombstone), not_found. */
export function rotationContract(create: TokenStoreFactory): void {
  describe('refresh rotation', () => {
    const ctx = useTokenStore(create);

    it('rotates the current token: successor current, presented previous, times and generation move', async () => {
      const now = ctx.clock.now();
      const session = sessionAt(uniqueUser(), now);
      await ctx.store.createSession(session);
      const later = now + 5000;
      const outcome = await ctx.store.rotateRefresh(
        rotation(session, session.refreshHash, 'h1', later, { ip: '198.51.100.7' }),
      );
      expect(outcome).toEqual({
        kind: 'rotated',
        session: {
          ...session,
          refreshHash: 'h1',
          previousHash: session.refreshHash,
          rotatedAt: later,
          generation: 1,
          lastUsedAt: later,
          expiresAt: later + 3_600_000,
          lastIp: '198.51.100.7',
          ip: undefined,
          userAgent: undefined,
          data: undefined,
        },
      });
      expect(await ctx.store.getSession(session.userId, session.id, later)).toMatchObject({
        refreshHash: 'h1',
        generation: 1,
      });
    });

    it('caps expiry at creation plus the maximum lifetime', async () => {
      const now = ctx.clock.now();
      const session = sessionAt(uniqueUser(), now);
      await ctx.store.createSession(session);
      const outcome = await ctx.store.rotateRefresh(
        rotation(session, session.refreshHash, 'h1', now + 1000, { maxLifetimeMs: 2000 }),
      );
      expect(outcome.kind === 'rotated' && outcome.session.expiresAt).toBe(now + 2000);
    });

    it('a rotated token presented again outside the grace is reuse: the session is revoked and stays reused', async () => {
      const now = ctx.clock.now();
      const session = sessionAt(uniqueUser(), now);
      await ctx.store.createSession(session);
      await ctx.store.rotateRefresh(rotation(session, session.refreshHash, 'h1', now));
      const reused = { kind: 'reused', sessionId: session.id, userId: session.userId };
      expect(
        await ctx.store.rotateRefresh(rotation(session, session.refreshHash, 'h9', now)),
      ).toEqual(reused);
      // The family is gone for everyone, the current token's holder included.
      expect(await ctx.store.rotateRefresh(rotation(session, 'h1', 'h2', now))).toEqual(reused);
      expect(await ctx.store.getSession(session.userId, session.id, now)).toBeUndefined();
      expect(await ctx.store.listSessions(session.userId, now)).toEqual([]);
      expect(
        await ctx.store.revocationState({
          userId: session.userId,
          jti: 'j',
          sessionId: session.id,
          now,
        }),
      ).toMatchObject({ sessionRevoked: true });
      // Revoking the user's sessions keeps the tombstone: reuse is still reported.
      await ctx.store.revokeUserSessions(session.userId, undefined, now);
      expect(await ctx.store.rotateRefresh(rotation(session, 'h1', 'h2', now))).toEqual(reused);
      // Until the session would have expired.
      expect(
        await ctx.store.rotateRefresh(rotation(session, 'h1', 'h2', session.expiresAt)),
      ).toEqual({ kind: 'not_found' });
    });

    it('an unknown hash of the right family is reuse too (an older generation)', async () => {
      const now = ctx.clock.now();
      const session = sessionAt(uniqueUser(), now);
      await ctx.store.createSession(session);
      await ctx.store.rotateRefresh(rotation(session, session.refreshHash, 'h1', now));
      await ctx.store.rotateRefresh(rotation(session, 'h1', 'h2', now));
      expect((await ctx.store.rotateRefresh(rotation(session, 'h-older', 'h9', now))).kind).toBe(
        'reused',
      );
    });

    it('another family, another user, an unknown session, an expired session: not_found, nothing changes', async () => {
      const now = ctx.clock.now();
      const session = sessionAt(uniqueUser(), now, {}, 10_000);
      await ctx.store.createSession(session);
      const nf = { kind: 'not_found' };
      expect(
        await ctx.store.rotateRefresh(
          rotation(session, 'h-x', 'h1', now, { familyHash: 'forged' }),
        ),
      ).toEqual(nf);
      expect(
        await ctx.store.rotateRefresh({
          ...rotation(session, session.refreshHash, 'h1', now),
          userId: uniqueUser(),
        }),
      ).toEqual(nf);
      expect(
        await ctx.store.rotateRefresh({
          ...rotation(session, session.refreshHash, 'h1', now),
          sessionId: 'nope',
        }),
      ).toEqual(nf);
      // The forged family did not revoke anything.
      expect(
        (
          await ctx.store.rotateRefresh(
            rotation(session, session.refreshHash, 'h1', now, { ttlMs: 10_000 }),
          )
        ).kind,
      ).toBe('rotated');
      expect(await ctx.store.rotateRefresh(rotation(session, 'h1', 'h2', now + 10_000))).toEqual(
        nf,
      );
    });

    it('grace: the previous token inside graceMs answers grace with the current record and changes nothing', async () => {
      const now = ctx.clock.now();
      const session = sessionAt(uniqueUser(), now);
      await ctx.store.createSession(session);
      await ctx.store.rotateRefresh(
        rotation(session, session.refreshHash, 'h1', now, { graceMs: 2000 }),
      );
      const again = await ctx.store.rotateRefresh(
        rotation(session, session.refreshHash, 'h1', now + 1999, { graceMs: 2000 }),
      );
      expect(again.kind).toBe('grace');
      expect(again.kind === 'grace' && again.session).toMatchObject({
        refreshHash: 'h1',
        rotatedAt: now,
        generation: 1,
      });
      // At exactly graceMs the grace is over.
      const late = await ctx.store.rotateRefresh(
        rotation(session, session.refreshHash, 'h1', now + 2000, { graceMs: 2000 }),
      );
      expect(late.kind).toBe('reused');
    });

    it('clocks that disagree: a replay stamped before the rotation is reuse, and grace is bounded on both sides', async () => {
      // Two app servers share the store; B's clock runs 2 s behind A's (or A's stepped back).
      const serverA = ctx.clock;
      const serverB = createManualClock(serverA.now() - 2000);
      const rotateOnAThenReplayOnB = async (graceMs: number) => {
        const session = sessionAt(uniqueUser(), serverB.now());
        await ctx.store.createSession(session);
        const rotated = await ctx.store.rotateRefresh(
          rotation(session, session.refreshHash, 'h1', serverA.now(), { graceMs }),
        );
        expect(rotated.kind).toBe('rotated');
        const replay = await ctx.store.rotateRefresh(
          rotation(session, session.refreshHash, 'h1', serverB.now(), { graceMs }),
        );
        return replay.kind;
      };
      // Grace off: never grace, whatever the clocks say.
      expect(await rotateOnAThenReplayOnB(0)).toBe('reused');
      // A grace shorter than the disagreement does not reach back to it either.
      expect(await rotateOnAThenReplayOnB(1000)).toBe('reused');
      expect(await rotateOnAThenReplayOnB(2000)).toBe('reused');
      // A grace longer than it covers it, as it covers a replay 2 s after the rotation.
      expect(await rotateOnAThenReplayOnB(2001)).toBe('grace');
    });

    it('grace never covers a token two rotations back', async () => {
      const now = ctx.clock.now();
      const session = sessionAt(uniqueUser(), now);
      await ctx.store.createSession(session);
      const opts = { graceMs: 60_000 };
      await ctx.store.rotateRefresh(rotation(session, session.refreshHash, 'h1', now, opts));
      await ctx.store.rotateRefresh(rotation(session, 'h1', 'h2', now, opts));
      expect((await ctx.store.rotateRefresh(rotation(session, 'h1', 'h2', now, opts))).kind).toBe(
        'grace',
      );
      expect(
        (await ctx.store.rotateRefresh(rotation(session, session.refreshHash, 'h1', now, opts)))
          .kind,
      ).toBe('reused');
    });

    it('20 concurrent rotations of one token: exactly one rotates', async () => {
      const now = ctx.clock.now();
      const session = sessionAt(uniqueUser(), now);
      await ctx.store.createSession(session);
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          ctx.store.rotateRefresh(rotation(session, session.refreshHash, `next-${i}`, now)),
        ),
      );
      const kinds = outcomes.map((o) => o.kind);
      expect(kinds.filter((k) => k === 'rotated')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'reused')).toHaveLength(19);
      expect(await ctx.store.getSession(session.userId, session.id, now)).toBeUndefined();
    });

    it('20 concurrent rotations inside the grace: one rotates, the rest see its successor', async () => {
      const now = ctx.clock.now();
      const session = sessionAt(uniqueUser(), now);
      await ctx.store.createSession(session);
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () =>
          ctx.store.rotateRefresh(
            rotation(session, session.refreshHash, 'same-next', now, { graceMs: 5000 }),
          ),
        ),
      );
      expect(outcomes.filter((o) => o.kind === 'rotated')).toHaveLength(1);
      expect(outcomes.filter((o) => o.kind === 'grace')).toHaveLength(19);
      for (const o of outcomes) {
        expect(o.kind !== 'not_found' && o.kind !== 'reused' && o.session.refreshHash).toBe(
          'same-next',
        );
      }
    });
  });
}
