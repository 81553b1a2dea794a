import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { startTcpProxy } from '../../support/tcp-proxy.ts';
import { postgresAvailable } from './harness.ts';

/**
 * PostgreSQL's `queryTimeoutMs`: a statement held up by a lock taken in
 * another session (a long purge, a migration, an operator's transaction)
 * is cancelled by the server itself (`lock_timeout`) within the timeout:
 * the call fails, no statement lives on to commit later, and the pool's
 * connections stay usable, even with more stuck calls at once than the pool
 * has connections. A server that accepts and never answers fails at start-up.
 */

const queryTimeoutMs = 200;
// Headroom for a shared 2-core machine running other test files at the same time.
const marginMs = 400;
const poolSize = 4;
const policies = [definePolicy({ name: 'locked', limit: 10, window: '1m' })];

const pg = postgresAvailable();
describe.runIf(pg.available)(`PostgreSQL queryTimeoutMs${pg.note}`, () => {
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

  /** Runs `work` while another session holds an exclusive lock on `table`, then releases it. */
  async function whileLocked(table: string, work: () => Promise<void>): Promise<void> {
    if (other.native.kind !== 'postgresql') throw new Error('PostgreSQL expected');
    const locker: PostgresPoolClient = await other.native.pool.connect();
    try {
      await locker.query('begin');
      await locker.query(`lock table ${table} in access exclusive mode`);
      await work();
    } finally {
      await locker.query('rollback');
      locker.release();
    }
  }

  /**
   * Calls `call` more times at once than the pool has connections: each fails
   * within the timeout, cancelled by the server, and meanwhile no backend of
   * this database is left waiting for the lock and the pool still answers.
   */
  async function eachTimesOut(call: (i: number) => Promise<unknown>): Promise<void> {
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
      expect((error as Error & { cause?: { code?: string } }).cause?.code).toBe('55P03');
    }
    // Queued behind the pool's 4 connections, the last calls wait for a free one first.
    expect(elapsed).toBeLessThan(2 * queryTimeoutMs + marginMs);
    if (other.native.kind !== 'postgresql' || db.native.kind !== 'postgresql') {
      throw new Error('PostgreSQL expected');
    }
    const [waiting] = (
      await other.native.pool.query<{ n: string }>(
        "select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
      )
    ).rows;
    expect(Number(waiting!.n)).toBe(0);
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
      eachTimesOut((i) => sink.write([auditRecord(i)])),
    );
    await answersPromptly(() => sink.write([auditRecord(99)]));
  });

  it('window store: a check (a transaction with SELECT … FOR UPDATE) and a peek behind a lock', async () => {
    const store = createSqlWindowStore(db);
    await store.check('warm', policies, 1);
    await whileLocked('lockwatch_window_state', async () => {
      await eachTimesOut((i) => store.check(`subject-${i}`, policies, 1));
      await eachTimesOut((i) => store.peek(`subject-${i}`, policies, 1));
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
      await eachTimesOut(() =>
        store.rotateRefresh(rotation(session, session.refreshHash, 'next', now)),
      );
      await eachTimesOut(() => store.getSession(user, session.id, now));
    });
    await answersPromptly(() => store.getSession(user, session.id, now));
  });

  it('keeps its bounds when the application adds driver options of its own', async () => {
    const tuned = await openSqlDatabase({
      url: temp.url,
      queryTimeoutMs: 300,
      mikroOrm: { driverOptions: { application_name: 'lockwatch-test' } },
    });
    try {
      if (tuned.native.kind !== 'postgresql') throw new Error('PostgreSQL expected');
      const { rows } = await tuned.native.pool.query<{ lock: string; name: string }>(
        "select current_setting('lock_timeout') as lock, current_setting('application_name') as name",
      );
      expect(rows[0]).toEqual({ lock: '300ms', name: 'lockwatch-test' });
    } finally {
      await tuned.close();
    }
  });

  it('a server that accepts connections and never answers fails at start-up within the connection wait', async () => {
    const target = new URL(temp.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    try {
      proxy.mode = 'hang';
      const hung = new URL(temp.url);
      hung.hostname = '127.0.0.1';
      hung.port = String(proxy.port);
      const started = performance.now();
      const error = await openSqlDatabase({ url: hung.href, queryTimeoutMs }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreUnavailableError);
      // The connection wait has a floor of 2 s (TLS and SCRAM take a few round trips).
      expect(performance.now() - started).toBeLessThan(2000 + marginMs);
    } finally {
      await proxy.close();
    }
  });
});
