import type { AuditRecord, AuditSink } from '../../ports/audit.ts';
import type { SqlDatabase } from './database.ts';
import type { PostgresNative, SqliteNative, SqliteStatement } from './native.ts';
import { inPgTransaction } from './pg-transaction.ts';
import { toSqlError } from './sql-errors.ts';
import { sqliteWritesOf, waitsAsynchronously } from './sqlite-busy.ts';

/** An {@link AuditSink} on a {@link SqlDatabase}. */
export interface SqlAuditSink extends AuditSink {
  /** The database written to. */
  readonly database: SqlDatabase;
}

const columns =
  'id, timestamp, request_id, user_id, ip, endpoint, method, status_code, rate_limit_hit, anomaly_detected, latency_ms';

/** The SQLite insert: one prepared statement, run once per record inside one transaction. */
export const sqliteInsertSql = `insert into lockwatch_audit_log (${columns}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (id) do nothing`;

/** Records per multi-row SQLite insert: one statement step per 100 records instead of per record. */
const sqliteRowsPerInsert = 100;

/** The SQLite insert of {@link sqliteRowsPerInsert} records at once (the same statement, repeated rows). */
const sqliteMultiInsertSql = `insert into lockwatch_audit_log (${columns}) values ${Array.from(
  { length: sqliteRowsPerInsert },
  () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
).join(', ')} on conflict (id) do nothing`;

/** The PostgreSQL insert: one statement per batch, every column passed as one array. */
export const postgresInsertSql = `insert into lockwatch_audit_log (${columns}) select * from unnest($1::uuid[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int2[], $9::bool[], $10::bool[], $11::float8[]) on conflict (id) do nothing`;

/**
 * Creates the SQL audit sink. MikroORM owns the schema and the connection;
 * batches go through the driver client MikroORM itself holds, because the
 * ORM's generic `insertMany` measured at under half the driver's speed:
 * on SQLite one transaction running prepared `INSERT ... ON CONFLICT DO
 * NOTHING` statements of 100 rows each, then one per remaining record; on PostgreSQL one `INSERT ... SELECT FROM unnest(...)
 * ON CONFLICT DO NOTHING` per batch (a named, server-prepared statement).
 * Writing an id that is already stored does nothing, so a retried batch
 * never duplicates a record. On PostgreSQL each batch is a transaction
 * bounded by the `queryTimeoutMs` the database was opened with.
 * `close()` leaves the database open: its owner closes it.
 */
export function createSqlAuditSink(database: SqlDatabase): SqlAuditSink {
  const write =
    database.native.kind === 'sqlite'
      ? sqliteWriter(database.native.db)
      : postgresWriter(database.native.pool, database.queryTimeoutMs);
  return {
    database,
    async write(records, options) {
      const signal = options?.signal;
      if (signal?.aborted) throw signal.reason;
      if (records.length === 0) return;
      try {
        await write(records, signal);
      } catch (error) {
        throw toSqlError(error, 'Audit write', signal);
      }
    },
    async close() {},
  };
}

function sqliteWriter(
  db: SqliteNative,
): (records: readonly AuditRecord[], signal?: AbortSignal) => void | Promise<void> {
  let run: ((records: readonly AuditRecord[]) => void) | undefined;
  return (records, signal) => {
    if (run === undefined) {
      // Both statements are prepared once and reused for every batch.
      const single: SqliteStatement = db.prepare(sqliteInsertSql);
      const multi: SqliteStatement = db.prepare(sqliteMultiInsertSql);
      const params: unknown[] = new Array(sqliteRowsPerInsert * 11);
      run = db.transaction((batch: readonly AuditRecord[]) => {
        // Full groups of rows in one statement each (measured ~20% less per record), the rest one by one.
        let i = 0;
        for (; i + sqliteRowsPerInsert <= batch.length; i += sqliteRowsPerInsert) {
          let k = 0;
          for (let j = i; j < i + sqliteRowsPerInsert; j++) {
            const r = batch[j]!;
            params[k++] = r.id;
            params[k++] = r.timestamp;
            params[k++] = r.requestId ?? null;
            params[k++] = r.userId ?? null;
            params[k++] = r.ip;
            params[k++] = r.endpoint;
            params[k++] = r.method;
            params[k++] = r.statusCode;
            params[k++] = r.rateLimitHit ? 1 : 0;
            params[k++] = r.anomalyDetected ? 1 : 0;
            params[k++] = r.latencyMs;
          }
          multi.run(...params);
        }
        for (; i < batch.length; i++) {
          const r = batch[i]!;
          single.run(
            r.id,
            r.timestamp,
            r.requestId ?? null,
            r.userId ?? null,
            r.ip,
            r.endpoint,
            r.method,
            r.statusCode,
            r.rateLimitHit ? 1 : 0,
            r.anomalyDetected ? 1 : 0,
            r.latencyMs,
          );
        }
      });
    }
    const write = run;
    // Another caller's transaction is open on this one connection (an application using the same
    // MikroORM instance): joining it would tie these records to its fate. Retry later instead.
    const outside = () => {
      // A retry comes later: the logger may have given up on this write (timeout, close) by then.
      signal?.throwIfAborted();
      if (db.inTransaction) throw new Error('the SQLite connection is inside another transaction');
      write(records);
    };
    // On a connection LockWatch opened, another process's write lock is waited for
    // asynchronously (checked again on every attempt), as every LockWatch write there is.
    if (waitsAsynchronously(db)) return sqliteWritesOf(db)(outside);
    // On an application's connection, waiting out the lock (busy_timeout) would stall the whole
    // event loop, requests included: the write gives up at once and the logger retries it later.
    if (db.inTransaction) throw new Error('the SQLite connection is inside another transaction');
    const busyTimeout = db.pragma('busy_timeout', { simple: true });
    db.pragma('busy_timeout = 0');
    try {
      run(records);
    } finally {
      db.pragma(`busy_timeout = ${Number(busyTimeout) || 0}`);
    }
  };
}

function postgresWriter(
  pool: PostgresNative,
  queryTimeoutMs: number,
): (records: readonly AuditRecord[]) => Promise<void> {
  return async (records) => {
    // One array per column, built by push (packed arrays): pg serialises them element by element.
    const id: string[] = [];
    const timestamp: number[] = [];
    const requestId: (string | null)[] = [];
    const userId: (string | null)[] = [];
    const ip: string[] = [];
    const endpoint: string[] = [];
    const method: string[] = [];
    const status: number[] = [];
    const limited: boolean[] = [];
    const anomaly: boolean[] = [];
    const latency: number[] = [];
    for (const r of records) {
      id.push(r.id);
      timestamp.push(r.timestamp);
      requestId.push(r.requestId ?? null);
      userId.push(r.userId ?? null);
      ip.push(r.ip);
      endpoint.push(r.endpoint);
      method.push(r.method);
      status.push(r.statusCode);
      limited.push(r.rateLimitHit);
      anomaly.push(r.anomalyDetected);
      latency.push(r.latencyMs);
    }
    // In a transaction of its own so that the server bounds a wait for a lock on the table
    // (lock_timeout): a batch it cancelled is rolled back, never committed after the logger was
    // told it failed. Two more round trips per batch of up to 500 records.
    await inPgTransaction(pool, queryTimeoutMs, (client) =>
      client.query({
        name: 'lockwatch_audit_insert',
        text: postgresInsertSql,
        values: [
          id,
          timestamp,
          requestId,
          userId,
          ip,
          endpoint,
          method,
          status,
          limited,
          anomaly,
          latency,
        ],
      }),
    );
  };
}
