import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlAuditReader } from '../../../src/adapters/sql/audit-reader.ts';
import { createSqlAuditSink } from '../../../src/adapters/sql/audit-sink.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/adapters/sql/database.ts';
import type { PostgresPoolClient } from '../../../src/adapters/sql/native.ts';
import { createSqlTokenStore } from '../../../src/adapters/sql/token-store.ts';
import { createSqlWindowStore } from '../../../src/adapters/sql/window-store.ts';
import { StoreUnavailableError } from '../../../src/domain/failure/errors.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import { auditRecord } from '../../contracts/audit/index.ts';
import { rotation, sessionAt, uniqueUser } from '../../contracts/token-store/harness.ts';
import { createTempDatabase, postgresService, type TempDatabase } from '../../support/postgres.ts';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts';
import { postgresAvailable } from './harness.ts';

/**
 * PostgreSQL's `queryTimeoutMs`: a statement held up by a lock taken in
 * another session (a long purge, a migration, an operator's transaction)
 * fails within the timeout, and the pool stays usable, even with more stuck
 * calls at once than the pool has connections. In LockWatch's transactions
 * the server cancels the wait itself (`SET LOCAL lock_timeout`), so no
 * statement lives on to commit later. A server that accepts and never
 * answers fails at start-up.
 */

/** A TCP proxy in front of the database at `url` (to make it stall), and the URL through it. */
async function proxyTo(url: string): Promise<{ proxy: TcpProxy; proxied: URL }> {
  const target = new URL(url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const proxied = new URL(url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  return { proxy, proxied };
}

const queryTimeoutMs = 200;
// Headroom for a shared 2-core machine running other test files at the same time.
const marginMs = 400;
const poolSize = 4;
const policies = [definePolicy({ name: 'locked', limit: 10, window: '1m' })];

const pg = postgresAvailable();
if (pg.available)
  describe('PostgreSQL queryTimeoutMs', () => {
    let temp: TempDatabase;
    let db: SqlDatabase;
    let other: SqlDatabase;

    beforeAll(async () => {
      temp = await createTempDatabase(postgresService().url!);
      other = await openSqlDatabase({ url: temp.url, migrate: 'off' });
      await other.migrateUp();
      db = await openSqlDatabase({ url: temp.url, poolSize, queryTimeoutMs });
    });

    afterAll(async () => {
      await db?.close();
      await other?.close();
      await temp?.drop();
    });

    /** Runs `work` while another session holds an exclusive lock on `tables`, then releases it. */
    async function whileLocked(tables: string, work: () => Promise<void>): Promise<void> {
      if (other.native.kind !== 'postgresql') throw new Error('PostgreSQL expected');
      const locker: PostgresPoolClient = await other.native.pool.connect();
      try {
        await locker.query('begin');
        await locker.query(`lock table ${tables} in access exclusive mode`);
        await work();
      } finally {
        await locker.query('rollback');
        locker.release();
      }
    }

    /** Backends of this database waiting for a lock right now. */
    async function waitingForLocks(): Promise<number> {
      if (other.native.kind !== 'postgresql') throw new Error('PostgreSQL expected');
      const [row] = (
        await other.native.pool.query<{ n: string }>(
          "select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
        )
      ).rows;
      return Number(row!.n);
    }

    /**
     * Calls `call` more times at once than the pool has connections: each fails
     * within the timeout, and the pool still answers. In a transaction
     * (`cancelledByServer`) the server cancels the lock wait itself (55P03), so
     * no backend is left waiting; a single statement is given up by the client.
     */
    async function eachTimesOut(
      call: (i: number) => Promise<unknown>,
      cancelledByServer: boolean,
    ): Promise<void> {
      const started = performance.now();
      const errors = await Promise.all(
        Array.from({ length: poolSize + 2 }, (_, i) =>
          call(i).then(
            () => undefined,
            (e: unknown) => e,
          ),
        ),
      );
      const elapsed = performance.now() - started;
      for (const error of errors) {
        expect(error).toBeInstanceOf(StoreUnavailableError);
        const code = (error as Error & { cause?: { code?: string } }).cause?.code;
        if (cancelledByServer) expect(code).toBe('55P03');
      }
      // Queued behind the pool's 4 connections, the last calls wait for a free one first.
      expect(elapsed).toBeLessThan(2 * queryTimeoutMs + marginMs);
      if (cancelledByServer) expect(await waitingForLocks()).toBe(0);
      if (db.native.kind !== 'postgresql') throw new Error('PostgreSQL expected');
      const ping = performance.now();
      await db.native.pool.query('select 1');
      expect(performance.now() - ping).toBeLessThan(marginMs);
    }

    /** After the lock: the call answers promptly, so no connection was left stuck. */
    async function answersPromptly(call: () => Promise<unknown>): Promise<void> {
      const started = performance.now();
      await call();
      expect(performance.now() - started).toBeLessThan(1000);
    }

    it('audit sink: a batch behind a lock on the audit table', async () => {
      const sink = createSqlAuditSink(db);
      await whileLocked('lockwatch_audit_log', () =>
        eachTimesOut((i) => sink.write([auditRecord(i)]), true),
      );
      await answersPromptly(() => sink.write([auditRecord(99)]));
    });

    it('window store: a check (a transaction with SELECT … FOR UPDATE) and a peek behind a lock', async () => {
      const store = createSqlWindowStore(db);
      await store.check('warm', policies, 1);
      await whileLocked('lockwatch_window_state', async () => {
        await eachTimesOut((i) => store.check(`subject-${i}`, policies, 1), true);
        await eachTimesOut((i) => store.peek(`subject-${i}`, policies, 1), false);
      });
      await answersPromptly(() => store.check('after', policies, 1));
    });

    it('token store: a rotation (a transaction) and a single statement behind a lock', async () => {
      const store = createSqlTokenStore(db);
      const now = Date.now();
      const user = uniqueUser('locked');
      const session = sessionAt(user, now);
      await store.createSession(session);
      await whileLocked('lockwatch_sessions', async () => {
        await eachTimesOut(
          () => store.rotateRefresh(rotation(session, session.refreshHash, 'next', now)),
          true,
        );
        await eachTimesOut(() => store.getSession(user, session.id, now), false);
      });
      await answersPromptly(() => store.getSession(user, session.id, now));
    });

    it('token store: writes behind a lock are cancelled by the server and never apply later', async () => {
      const store = createSqlTokenStore(db);
      const now = Date.now();
      const user = uniqueUser('locked-writes');
      const session = sessionAt(user, now);
      await store.createSession(session);
      const later = now + 60_000;
      await whileLocked(
        'lockwatch_sessions, lockwatch_token_marks, lockwatch_user_cutoffs',
        async () => {
          await eachTimesOut((i) => store.revokeSession(user, session.id, now + i), true);
          await eachTimesOut((i) => store.revokeUserSessions(user, undefined, now + i), true);
          await eachTimesOut((i) => store.denyJti(user, `jti-${i}`, later, now), true);
          await eachTimesOut((i) => store.setUserCutoff(user, now + i, later, now), true);
          await eachTimesOut((i) => store.createSession(sessionAt(user, now + i + 1)), true);
        },
      );
      // Each caller was told its write failed: none of them happened once the lock was gone.
      expect(await store.getSession(user, session.id, now)).toBeDefined();
      expect(await store.listSessions(user, now)).toHaveLength(1);
      expect(await store.revocationState({ userId: user, jti: 'jti-0', now })).toEqual({
        jtiRevoked: false,
        sessionRevoked: false,
        userCutoff: undefined,
      });
      await answersPromptly(() => store.denyJti(user, 'jti-after', later, now));
    });

    it('audit reader: a query (with its count) and a purge behind a lock on the audit table', async () => {
      const reader = createSqlAuditReader(db);
      await createSqlAuditSink(db).write([auditRecord(1)]);
      await whileLocked('lockwatch_audit_log', async () => {
        // Each batch of a purge is a transaction of its own: the server cancels its lock wait.
        await eachTimesOut(() => reader.purgeOlderThan(1), true);
        await eachTimesOut(
          (i) => reader.query({ ip: `198.51.100.${i}`, includeTotal: true }),
          false,
        );
      });
      await answersPromptly(() => reader.query({ includeTotal: true }));
      await answersPromptly(() => reader.purgeOlderThan(1));
    });

    it('audit reader: a server that stops answering fails the query and the purge, and close() returns', async () => {
      const { proxy, proxied } = await proxyTo(temp.url);
      const stalled = await openSqlDatabase({ url: proxied.href, poolSize: 2, queryTimeoutMs });
      try {
        const reader = createSqlAuditReader(stalled);
        // Two pooled connections: each call below gets a live one (a call that found none would
        // wait for a new connection first, up to the connection wait).
        await Promise.all([reader.query({}), reader.query({})]);
        proxy.mode = 'stall';
        for (const [call, limitMs] of [
          [() => reader.query({ ip: '198.51.100.1' }), queryTimeoutMs],
          [() => reader.purgeOlderThan(1), queryTimeoutMs + 1000],
        ] as const) {
          const started = performance.now();
          const error = await call().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(StoreUnavailableError);
          expect(performance.now() - started).toBeLessThan(limitMs + marginMs);
        }
        const closing = performance.now();
        await stalled.close();
        expect(performance.now() - closing).toBeLessThan(marginMs);
      } finally {
        proxy.mode = 'pass';
        await stalled.close();
        await proxy.close();
      }
    });

    it('keeps its connection wait when the application adds driver options of its own', async () => {
      for (const driverOptions of [
        { application_name: 'lockwatch-test', connectionTimeoutMillis: undefined },
        () => ({ application_name: 'lockwatch-test' }),
      ]) {
        const tuned = await openSqlDatabase({
          url: temp.url,
          queryTimeoutMs: 300,
          mikroOrm: { driverOptions },
        });
        try {
          if (tuned.native.kind !== 'postgresql') throw new Error('PostgreSQL expected');
          const pool = tuned.native.pool as unknown as { options: Record<string, unknown> };
          // The floor of 2 s: TLS and SCRAM take a few round trips.
          expect(pool.options.connectionTimeoutMillis).toBe(2000);
          const { rows } = await tuned.native.pool.query<{ name: string }>(
            "select current_setting('application_name') as name",
          );
          expect(rows[0]).toEqual({ name: 'lockwatch-test' });
        } finally {
          await tuned.close();
        }
      }
    });

    it('a server that stops answering mid-transaction: the call fails a second after the timeout, its connection is dropped, and the pool recovers', async () => {
      const { proxy, proxied } = await proxyTo(temp.url);
      const stalled = await openSqlDatabase({ url: proxied.href, poolSize: 2, queryTimeoutMs });
      try {
        const store = createSqlWindowStore(stalled);
        await store.check('stall', policies, 1);
        proxy.mode = 'stall';
        const started = performance.now();
        const error = await store.check('stall', policies, 1).catch((e: unknown) => e);
        const elapsed = performance.now() - started;
        expect(error).toBeInstanceOf(StoreUnavailableError);
        // No lock to time out on the server: the client's limit, queryTimeoutMs + 1 s, ends it.
        expect(elapsed).toBeGreaterThanOrEqual(queryTimeoutMs + 1000 - 50);
        expect(elapsed).toBeLessThan(queryTimeoutMs + 1000 + marginMs);
        proxy.mode = 'pass';
        // The stuck connection was dropped, not pooled again: the next check gets a live one.
        await answersPromptly(() => store.check('stall', policies, 1));
        await answersPromptly(() => store.check('stall', policies, 1));
      } finally {
        proxy.mode = 'pass';
        await stalled.close();
        await proxy.close();
      }
    });

    it('a server that accepts connections and never answers fails at start-up within the connection wait', async () => {
      const { proxy, proxied: hung } = await proxyTo(temp.url);
      try {
        proxy.mode = 'hang';
        const started = performance.now();
        const error = await openSqlDatabase({ url: hung.href, queryTimeoutMs }).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StoreUnavailableError);
        // The connection wait has a floor of 2 s (TLS and SCRAM take a few round trips).
        expect(performance.now() - started).toBeGreaterThanOrEqual(1900);
        expect(performance.now() - started).toBeLessThan(2000 + marginMs);
      } finally {
        await proxy.close();
      }
    });
  });
