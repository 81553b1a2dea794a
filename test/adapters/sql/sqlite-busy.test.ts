import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlAuditReader } from '../../../src/adapters/sql/audit-reader.ts';
import { createSqlAuditSink } from '../../../src/adapters/sql/audit-sink.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/adapters/sql/database.ts';
import { lockwatchEntities } from '../../../src/adapters/sql/entities.ts';
import { createSqlTokenStore } from '../../../src/adapters/sql/token-store.ts';
import { createSqlWindowStore } from '../../../src/adapters/sql/window-store.ts';
import { StoreUnavailableError } from '../../../src/domain/failure/errors.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import { auditRecord } from '../../contracts/audit/index.ts';
import { sessionAt, uniqueUser } from '../../contracts/token-store/harness.ts';

/**
 * SQLite writes while another connection holds the database's write lock
 * (here a second connection in this very process, as another process would).
 * SQLite's own busy handler would sleep inside the synchronous call: the
 * event loop would stop, and a holder in this process could never let go.
 * LockWatch's writes wait asynchronously: timers keep firing meanwhile, and
 * the write goes through once the lock is released, or fails after
 * `busyTimeoutMs`.
 */

const policies = [definePolicy({ name: 'busy', limit: 10, window: '1m' })];
const holdMs = 300;

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lockwatch-busy-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Takes the write lock of the database file from `other` (a connection of
 * its own) for `ms` (until `call` settles when undefined), runs `call`, and
 * reports how often a 5 ms interval fired while it ran.
 */
async function underLock<T>(
  other: SqlDatabase,
  ms: number | undefined,
  call: () => Promise<T>,
): Promise<{ result: T | undefined; error: unknown; ticks: number; elapsed: number }> {
  if (other.native.kind !== 'sqlite') throw new Error('SQLite expected');
  const holder = other.native.db;
  holder.exec('begin immediate');
  const release = () => {
    if (holder.inTransaction) holder.exec('commit');
  };
  const timer = ms === undefined ? undefined : setTimeout(release, ms);
  let ticks = 0;
  const interval = setInterval(() => ticks++, 5);
  const started = performance.now();
  try {
    const result = await call();
    return { result, error: undefined, ticks, elapsed: performance.now() - started };
  } catch (error) {
    return { result: undefined, error, ticks, elapsed: performance.now() - started };
  } finally {
    clearInterval(interval);
    clearTimeout(timer);
    release();
  }
}

describe('SQLite writes wait for another connection’s lock without blocking the event loop', () => {
  let file: string;
  let db: SqlDatabase;
  let other: SqlDatabase;
  beforeAll(async () => {
    file = join(dir, 'busy.db');
    db = await openSqlDatabase({ url: `sqlite:${file}` });
    other = await openSqlDatabase({ url: `sqlite:${file}` });
  });
  afterAll(async () => {
    await db?.close();
    await other?.close();
  });

  it('LockWatch’s own connection sleeps in no busy handler: its busy timeout is 0', () => {
    if (db.native.kind !== 'sqlite') throw new Error('SQLite expected');
    expect(db.native.db.pragma('busy_timeout', { simple: true })).toBe(0);
    expect(db.busyTimeoutMs).toBe(5000);
  });

  it('window store: a check goes through once the lock is released, timers firing meanwhile', async () => {
    const store = createSqlWindowStore(db);
    const run = await underLock(other, holdMs, () => store.check('a', policies, 1));
    expect(run.error).toBeUndefined();
    expect(run.result).toMatchObject({ allowed: true, remaining: 9 });
    expect(run.elapsed).toBeGreaterThanOrEqual(holdMs - 20);
    expect(run.ticks).toBeGreaterThanOrEqual(20);
  });

  it('token store: a write goes through once the lock is released, timers firing meanwhile', async () => {
    const store = createSqlTokenStore(db);
    const user = uniqueUser('busy');
    const session = sessionAt(user, Date.now());
    const run = await underLock(other, holdMs, () => store.createSession(session));
    expect(run.error).toBeUndefined();
    expect(run.ticks).toBeGreaterThanOrEqual(20);
    expect((await store.getSession(user, session.id, Date.now()))?.id).toBe(session.id);
  });

  it('audit sink: a batch goes through once the lock is released, timers firing meanwhile', async () => {
    const sink = createSqlAuditSink(db);
    const record = auditRecord(1);
    const run = await underLock(other, holdMs, () => sink.write([record]));
    expect(run.error).toBeUndefined();
    expect(run.ticks).toBeGreaterThanOrEqual(20);
    const page = await createSqlAuditReader(db).query({});
    expect(page.records.map((stored) => stored.id)).toContain(record.id);
  });

  it('audit purge: a batch goes through once the lock is released, timers firing meanwhile', async () => {
    const reader = createSqlAuditReader(db);
    const run = await underLock(other, holdMs, () => reader.purgeOlderThan(Date.now()));
    expect(run.error).toBeUndefined();
    expect(run.ticks).toBeGreaterThanOrEqual(20);
  });

  it('a lock held past busyTimeoutMs fails the call with StoreUnavailableError, timers firing meanwhile', async () => {
    const short = await openSqlDatabase({ url: `sqlite:${file}`, busyTimeoutMs: 200 });
    try {
      const store = createSqlWindowStore(short);
      const run = await underLock(other, undefined, () => store.check('b', policies, 1));
      expect(run.error).toBeInstanceOf(StoreUnavailableError);
      expect(run.elapsed).toBeGreaterThanOrEqual(180);
      expect(run.elapsed).toBeLessThan(2000);
      expect(run.ticks).toBeGreaterThanOrEqual(10);
    } finally {
      await short.close();
    }
  });
});

describe('on an application’s MikroORM connection', () => {
  it('gives the application’s connection busyTimeoutMs as its busy timeout, and leaves it there', async () => {
    const orm = await MikroORM.init({
      dbName: join(dir, 'app.db'),
      entities: [...lockwatchEntities],
      metadataCache: { enabled: false },
    });
    try {
      const db = await openSqlDatabase({ orm, busyTimeoutMs: 2500, migrate: 'auto' });
      if (db.native.kind !== 'sqlite') throw new Error('SQLite expected');
      expect(db.native.db.pragma('busy_timeout', { simple: true })).toBe(2500);
      await createSqlWindowStore(db).check('c', policies, 1);
      expect(db.native.db.pragma('busy_timeout', { simple: true })).toBe(2500);
    } finally {
      await orm.close(true);
    }
  });
});
