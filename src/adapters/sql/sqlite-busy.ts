import type { SqliteNative } from './native.ts';
import { retryWithin } from './retry.ts';

/** SQLite's answer when another connection holds a lock the statement needs. */
export function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs a SQLite write without sleeping in SQLite's busy handler: the
 * result at once when the write went through on the first attempt, else a
 * promise of it (see {@link createSqliteWrites}).
 */
export type SqliteWrites = <T>(write: () => T) => T | Promise<T>;

/** 1 ms doubling to 16 ms, jittered: another process's write is usually done within a few ms. */
const backoff = (tries: number) => Math.min(2 ** tries, 16) * (0.5 + Math.random() / 2);

/**
 * Writes that never block the event loop on another process's lock, for a
 * connection whose busy timeout is 0 (one LockWatch opened). SQLite waits
 * out a lock by sleeping inside the call (its busy timeout), and
 * better-sqlite3 is synchronous, so that sleep froze the whole process: up
 * to 1.5 s at a time with three processes checking limits on one file. Here
 * an attempt that finds the lock taken fails at once and is tried again
 * after a short pause (1 ms doubling to 16 ms, jittered) until `waitMs` has
 * passed; then its SQLITE_BUSY error is thrown.
 */
export function createSqliteWrites(waitMs: number): SqliteWrites {
  return (write) => {
    const started = performance.now();
    try {
      return write();
    } catch (error) {
      if (!isSqliteBusy(error) || waitMs === 0) throw error;
      return retryWithin(started, waitMs, isSqliteBusy, backoff, write);
    }
  };
}

/**
 * Writes on an application's connection: run as they are, so its busy
 * timeout applies (setting it per write measured at tens of µs, and
 * PRAGMA statements cannot be prepared once and reused reliably).
 */
const direct: SqliteWrites = (write) => write();

// Keyed by the driver's connection: every SqlDatabase object over it (a copy, a wrapper) shares it.
const registered = new WeakMap<SqliteNative, SqliteWrites>();

/** Records the writes of a connection `openSqlDatabase` opened (busy timeout 0), for its stores to share. */
export function registerSqliteWrites(db: SqliteNative, writes: SqliteWrites): void {
  registered.set(db, writes);
}

/** The writes registered for `db`; on another connection, writes as they are (its busy timeout applies). */
export function sqliteWritesOf(db: SqliteNative): SqliteWrites {
  return registered.get(db) ?? direct;
}

/** True when LockWatch opened `db` and its writes wait asynchronously (its busy timeout is 0). */
export function waitsAsynchronously(db: SqliteNative): boolean {
  return registered.has(db);
}
