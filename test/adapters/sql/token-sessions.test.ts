import { describe, expect, it } from 'vitest';
import { createSqlTokenStore } from '../../../src/adapters/sql/token-store.ts';
import { expectCutoffEndsSessions } from '../../domain/tokens/cutoff-sessions.ts';
import { codeOf, expectRetryKeepsSession, testManager } from '../../domain/tokens/support.ts';
import {
  postgresAvailable,
  postgresTarget,
  type SqlTargetFixture,
  sqliteTarget,
  useDatabase,
} from './harness.ts';

/** Session managers on SQL: 50 refreshes of one refresh token at once. */
function run(target: SqlTargetFixture) {
  const holder = useDatabase(target);

  it('50 parallel refreshes of one token: exactly one succeeds, reuse is detected, the family is revoked', async () => {
    const { manager } = await testManager({
      store: createSqlTokenStore(holder.db),
      failure: { timeoutMs: 5000 },
    });
    const pair = await manager.issue('racer');
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => manager.refresh(pair.refreshToken)),
    );
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const codes = results.flatMap((r) =>
      r.status === 'rejected' ? [(r.reason as { code: string }).code] : [],
    );
    expect(won).toHaveLength(1);
    expect(codes).toEqual(Array(49).fill('refresh_reused'));
    expect(await codeOf(manager.refresh(won[0]!.refreshToken))).toBe('refresh_reused');
    expect(await codeOf(manager.verify(won[0]!.accessToken))).toBe('token_revoked');
  });

  it('50 parallel refreshes inside a grace period: all get the same new pair', async () => {
    const { manager } = await testManager({
      store: createSqlTokenStore(holder.db),
      refreshGrace: '5s',
      failure: { timeoutMs: 5000 },
    });
    const pair = await manager.issue('racer-grace');
    const results = await Promise.all(
      Array.from({ length: 50 }, () => manager.refresh(pair.refreshToken)),
    );
    expect(new Set(results.map((r) => r.refreshToken)).size).toBe(1);
    await manager.verify((await manager.refresh(results[0]!.refreshToken)).accessToken);
  });

  // Row locks that a refresh waits on are PostgreSQL's; SQLite locks the whole file instead.
  if (target.name === 'PostgreSQL')
    it('a refresh that timed out waiting for a row lock commits once it frees: the retry gets the pair, a true replay is still reuse', async () => {
      const { manager } = await testManager({
        store: createSqlTokenStore(holder.db),
        systemClock: true,
        failure: { timeoutMs: 50 },
      });
      const pair = await manager.issue('locked');
      const native = holder.db.native;
      if (native?.kind !== 'postgresql') throw new Error('expected PostgreSQL');
      // Another transaction (a slow purge, a concurrent refresh) holds the session's row.
      const locker = await native.pool.connect();
      try {
        await locker.query('begin');
        await locker.query({
          text: 'select 1 from lockwatch_sessions where user_id = $1 for update',
          values: ['locked'],
        });
        // Given up after the rotation timeout (1 s by default); the transaction waits on.
        expect(await codeOf(manager.refresh(pair.refreshToken))).toBe('token_store_unavailable');
        await locker.query('commit');
        // The waiting rotation takes the row first and commits; the retry gets its successor.
        await expectRetryKeepsSession(manager, 'locked', pair.refreshToken);
      } finally {
        locker.release();
      }
    });

  it('sessions only a cut-off ended are reported ended: listed, read, revoked, counted by logoutAll', async () => {
    await expectCutoffEndsSessions(createSqlTokenStore(holder.db));
  });

  it('expired rows are purged; live ones stay', async () => {
    const store = createSqlTokenStore(holder.db);
    const { manager, clock } = await testManager({
      store,
      accessTokenTtl: '1m',
      refreshTokenTtl: '1h',
    });
    const old = await manager.issue('purge-user');
    await manager.revokeAccessToken((await manager.verify(old.accessToken)).claims);
    clock.advance(2 * 3_600_000);
    const fresh = await manager.issue('purge-user');
    expect(await store.purgeExpired(clock.now())).toBeGreaterThanOrEqual(2);
    expect((await manager.listSessions('purge-user')).map((s) => s.id)).toEqual([fresh.sessionId]);
  });
}

describe('SQLite', () => run(sqliteTarget()));

const pg = postgresAvailable();
describe.runIf(pg.available)(`PostgreSQL${pg.note}`, () => run(postgresTarget()));
