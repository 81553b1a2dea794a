import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjectTag } from '../../../src/adapters/redis/keys.ts';
import { createRedisTokenStore } from '../../../src/adapters/redis/token-store.ts';
import type { FailureEvent } from '../../../src/domain/failure/events.ts';
import { expectCutoffEndsSessions } from '../../domain/tokens/cutoff-sessions.ts';
import {
  codeOf,
  errorOf,
  expectRetryKeepsSession,
  testManager,
} from '../../domain/tokens/support.ts';
import {
  hasRedisServerBinary,
  type RedisProcess,
  startRedisProcess,
  tempDir,
  testPrefix,
} from '../../support/redis.ts';
import { redisTargets } from './harness.ts';

const { targets, missing } = redisTargets();

/**
 * Session managers on Redis and the test Cluster: 50 refreshes of one
 * refresh token at once, with and without a grace period.
 */
describe.runIf(targets.length > 0)(`Sessions on Redis${missing ? ` (${missing})` : ''}`, () => {
  for (const target of targets) {
    describe(target.name, () => {
      const storeOf = () =>
        createRedisTokenStore({ ...target.connection, prefix: testPrefix('sess') });

      it('50 parallel refreshes of one token: exactly one succeeds, reuse is detected, the family is revoked', async () => {
        const store = storeOf();
        const { manager } = await testManager({ store, failure: { timeoutMs: 2000 } });
        try {
          const pair = await manager.issue('racer');
          const results = await Promise.allSettled(
            Array.from({ length: 50 }, () => manager.refresh(pair.refreshToken)),
          );
          const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
          const codes = results.flatMap((r) =>
            r.status === 'rejected' ? [(r.reason as { code: string }).code] : [],
          );
          expect(won).toHaveLength(1);
          expect(codes).toHaveLength(49);
          expect(new Set(codes)).toEqual(new Set(['refresh_reused']));
          // The winner's pair died with the family.
          expect(await codeOf(manager.refresh(won[0]!.refreshToken))).toBe('refresh_reused');
          expect(await codeOf(manager.verify(won[0]!.accessToken))).toBe('token_revoked');
          expect(await manager.listSessions('racer')).toEqual([]);
        } finally {
          await store.close();
        }
      });

      it('50 parallel refreshes inside a grace period: all get the same new pair, and it works', async () => {
        const store = storeOf();
        const { manager } = await testManager({
          store,
          refreshGrace: '5s',
          failure: { timeoutMs: 2000 },
        });
        try {
          const pair = await manager.issue('racer');
          const results = await Promise.all(
            Array.from({ length: 50 }, () => manager.refresh(pair.refreshToken)),
          );
          expect(new Set(results.map((r) => r.refreshToken)).size).toBe(1);
          const jtis = await Promise.all(
            results.map(async (r) => (await manager.verify(r.accessToken)).claims.jti),
          );
          expect(new Set(jtis).size).toBe(1);
          const next = await manager.refresh(results[0]!.refreshToken);
          await manager.verify(next.accessToken);
          const [session] = await manager.listSessions('racer');
          expect(session?.generation).toBe(2);
        } finally {
          await store.close();
        }
      });

      it('sessions only a cut-off ended are reported ended: listed, read, revoked, counted by logoutAll', async () => {
        const store = storeOf();
        try {
          await expectCutoffEndsSessions(store);
        } finally {
          await store.close();
        }
      });

      it('a session hash without its creation time counts as logged out by a cut-off, not as a script error', async () => {
        const prefix = testPrefix('sess');
        const client =
          'url' in target.connection
            ? new Redis(target.connection.url)
            : new Cluster([...target.connection.nodes]);
        const store = createRedisTokenStore({ client, prefix });
        try {
          const now = Date.now();
          const user = `nocreated-${now}`;
          const session = {
            id: `s-${now}`,
            userId: user,
            familyHash: 'f'.repeat(43),
            refreshHash: 'r'.repeat(43),
            generation: 0,
            createdAt: now - 10,
            lastUsedAt: now - 10,
            expiresAt: now + 60_000,
          };
          await store.createSession(session);
          // Data written by hand or by something else: the creation time is gone.
          await client.hdel(`${prefix}:{${subjectTag(user)}}:s:${session.id}`, 'c');
          await store.setUserCutoff(user, now, now + 60_000, now);
          expect(await store.getSession(user, session.id, now + 1)).toBeUndefined();
          expect(await store.listSessions(user, now + 1)).toEqual([]);
          expect(await store.revokeUserSessions(user, undefined, now + 1)).toBe(0);
          expect(await store.revokeSession(user, session.id, now + 1)).toBe(false);
        } finally {
          await store.close();
          client.disconnect();
        }
      });

      it('the whole session lifecycle on one user slot: issue, verify, revoke, logout everywhere', async () => {
        const store = storeOf();
        const { manager, clock } = await testManager({ store, failure: { timeoutMs: 2000 } });
        try {
          const user = 'user {with} braces';
          const a = await manager.issue(user, { ip: '192.0.2.1', userAgent: 'A' });
          const b = await manager.issue(user);
          const { claims } = await manager.verify(a.accessToken);
          await manager.revokeAccessToken(claims);
          expect(await codeOf(manager.verify(a.accessToken))).toBe('token_revoked');
          expect((await manager.listSessions(user)).map((s) => s.id).sort()).toEqual(
            [a.sessionId, b.sessionId].sort(),
          );
          clock.advance(1000);
          expect(await manager.logoutAll(user)).toBe(2);
          expect(await codeOf(manager.verify(b.accessToken))).toBe('token_revoked');
          clock.advance(1000);
          const reset = await manager.issuePurposeToken('password_reset', user);
          await manager.verifyPurposeToken('password_reset', reset.token);
          expect(await codeOf(manager.verifyPurposeToken('password_reset', reset.token))).toBe(
            'token_already_used',
          );
        } finally {
          await store.close();
        }
      });
    });
  }
});

const available = hasRedisServerBinary();
if (!available && process.env.CI) throw new Error('redis-server is required in CI');

/**
 * A Redis of this test's own is killed: verification under the default
 * `closed` policy fails with token_store_unavailable within the timeout,
 * then at once while the breaker is open; `open` lets tokens through,
 * degraded. Real time: what is measured is the latency a caller sees.
 */
describe.runIf(available)('Sessions when Redis is down', () => {
  const timeoutMs = 50;
  let server: RedisProcess;
  beforeAll(async () => {
    server = await startRedisProcess({ dir: await tempDir('token-outage') });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('closed: a typed error within the timeout, then immediately from the open breaker; back when Redis is', async () => {
    await server.start();
    const events: FailureEvent[] = [];
    const store = createRedisTokenStore({ url: server.url, prefix: testPrefix('down') });
    const { manager } = await testManager({
      store,
      systemClock: true,
      failure: { timeoutMs, breaker: { failureThreshold: 3, cooldownMs: 500 } },
      onEvent: (event) => events.push(event),
    });
    try {
      const pair = await manager.issue('u');
      await manager.verify(pair.accessToken);
      await server.stop();
      const latencies: number[] = [];
      const reasons: string[] = [];
      for (let i = 0; i < 10; i++) {
        const started = performance.now();
        const error = (await errorOf(manager.verify(pair.accessToken))) as {
          code: string;
          status: number;
          cause: { code: string };
        };
        latencies.push(performance.now() - started);
        expect(error.code).toBe('token_store_unavailable');
        expect(error.status).toBe(503);
        reasons.push(error.cause.code);
      }
      // Each failure is typed: refused connection or timeout, then the breaker's own refusal.
      expect(reasons.slice(3)).toEqual(Array(7).fill('circuit_open'));
      expect(Math.max(...latencies)).toBeLessThanOrEqual(timeoutMs + 100);
      // No store call at all while the breaker is open: bounded by the event loop, not by Redis.
      expect(Math.max(...latencies.slice(3))).toBeLessThan(20);
      expect(events.some((e) => e.type === 'state' && e.to === 'open')).toBe(true);
      await server.start();
      await new Promise((resolve) => setTimeout(resolve, 700));
      // The restarted server lost its data (no persistence here): the old session is gone, so
      // the old token is revoked — never accepted — and a new session works.
      expect(await codeOf(manager.verify(pair.accessToken))).toBe('token_revoked');
      const fresh = await manager.issue('u');
      expect((await manager.verify(fresh.accessToken)).degraded).toBe(false);
      console.info(
        `token verification with Redis down: max ${Math.max(...latencies).toFixed(1)} ms before the breaker opened, max ${Math.max(...latencies.slice(3)).toFixed(2)} ms after (timeout ${timeoutMs} ms)`,
      );
    } finally {
      await store.close();
    }
  });

  it('a Redis that stops answering (CLIENT PAUSE) costs one timeout, not a hang', async () => {
    await server.start();
    const store = createRedisTokenStore({ url: server.url, prefix: testPrefix('slow') });
    const { manager } = await testManager({ store, systemClock: true, failure: { timeoutMs } });
    const blocker = new Redis(server.url);
    try {
      const pair = await manager.issue('u');
      await blocker.call('CLIENT', 'PAUSE', '500', 'ALL');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const started = performance.now();
      expect(await codeOf(manager.verify(pair.accessToken))).toBe('token_store_unavailable');
      expect(performance.now() - started).toBeLessThanOrEqual(timeoutMs + 100);
    } finally {
      blocker.disconnect();
      await store.close();
    }
  });

  /**
   * A session manager on a Redis whose writes `pause()` stalls (scripts
   * included, as they may write) until `unpause()`, which gets through on a
   * connection of its own; the rotation script is loaded first, so a stalled
   * rotation is one EVALSHA that runs when Redis resumes.
   */
  async function pausableRedis(prefix: string) {
    await server.start();
    const store = createRedisTokenStore({ url: server.url, prefix: testPrefix(prefix) });
    const { manager } = await testManager({ store, systemClock: true, failure: { timeoutMs } });
    const pauser = new Redis(server.url);
    const unpauser = new Redis(server.url);
    // A pause left by an earlier test would stall this one's set-up.
    await unpauser.call('CLIENT', 'UNPAUSE');
    await manager.refresh((await manager.issue('warm-up')).refreshToken);
    return {
      manager,
      pause: () => pauser.call('CLIENT', 'PAUSE', '30000', 'WRITE'),
      unpause: () => unpauser.call('CLIENT', 'UNPAUSE'),
      async close() {
        pauser.disconnect();
        unpauser.disconnect();
        await store.close();
      },
    };
  }

  it('a refresh that timed out while Redis stalled is applied when it resumes: the retry gets the pair, a true replay is still reuse', async () => {
    const { manager, pause, unpause, close } = await pausableRedis('stall');
    try {
      const pair = await manager.issue('u');
      await pause();
      // Given up after the rotation timeout (1 s by default); the script waits in Redis.
      expect(await codeOf(manager.refresh(pair.refreshToken))).toBe('token_store_unavailable');
      await unpause();
      // The client retries: the stalled rotation ran first (same connection), and the retry
      // gets its successor instead of ending the session as reuse.
      await expectRetryKeepsSession(manager, 'u', pair.refreshToken);
    } finally {
      await close();
    }
  });

  it('a stall longer than timeoutMs but within the rotation timeout: verification gives up, the refresh waits and succeeds', async () => {
    const { manager, pause, unpause, close } = await pausableRedis('stall2');
    try {
      const pair = await manager.issue('u');
      await pause();
      const refreshing = manager.refresh(pair.refreshToken);
      // A read gives up after timeoutMs, while the rotation is still waited for.
      expect(await codeOf(manager.verify(pair.accessToken))).toBe('token_store_unavailable');
      await unpause();
      await manager.verify((await refreshing).accessToken);
    } finally {
      await close();
    }
  });

  it('open: tokens pass on signature and claims alone, marked degraded; refresh still fails closed', async () => {
    await server.start();
    const store = createRedisTokenStore({ url: server.url, prefix: testPrefix('open') });
    const { manager } = await testManager({
      store,
      systemClock: true,
      failure: { policy: 'open', timeoutMs },
    });
    try {
      const pair = await manager.issue('u');
      await server.stop();
      const verified = await manager.verify(pair.accessToken);
      expect(verified.degraded).toBe(true);
      expect(await codeOf(manager.refresh(pair.refreshToken))).toBe('token_store_unavailable');
    } finally {
      await store.close();
    }
  });
});
