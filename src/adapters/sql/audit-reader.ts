import type { EntityManager } from '@mikro-orm/core';
import { encodeCursor } from '../../domain/audit/cursor.ts';
import { checkQuery } from '../../domain/audit/query.ts';
import { integerOption } from '../../domain/config/validate.ts';
import type { AuditPage, AuditQuery, AuditReader, AuditRecord } from '../../ports/audit.ts';
import type { SqlDatabase } from './database.ts';
import { buildFilter } from './filter.ts';
import type { SqliteStatement } from './native.ts';
import { inPgTransaction } from './pg-transaction.ts';
import { toSqlError } from './sql-errors.ts';
import { sqliteWritesOf } from './sqlite-busy.ts';

/** Options of {@link createSqlAuditReader}. */
export interface SqlAuditReaderOptions {
  /** Records deleted per statement by `purgeOlderThan`: 1 to 1,000,000; 10,000 by default. */
  readonly purgeBatchSize?: number | undefined;
}

/** An {@link AuditReader} on a {@link SqlDatabase}. */
export interface SqlAuditReader extends AuditReader {
  /** The database read. */
  readonly database: SqlDatabase;
  /** The engine's plan for the page query of `query` (EXPLAIN), one line per entry: to check which index serves it. */
  explain(query: AuditQuery): Promise<string[]>;
}

interface Row {
  id: string;
  timestamp: number | string;
  request_id: string | null;
  user_id: string | null;
  ip: string;
  endpoint: string;
  method: string;
  status_code: number;
  rate_limit_hit: boolean | number;
  anomaly_detected: boolean | number;
  latency_ms: number;
}

const selectColumns =
  'id, "timestamp", request_id, user_id, ip, endpoint, method, status_code, rate_limit_hit, anomaly_detected, latency_ms';

function toRecord(row: Row): AuditRecord {
  return {
    id: row.id,
    timestamp: Number(row.timestamp),
    requestId: row.request_id ?? undefined,
    userId: row.user_id ?? undefined,
    ip: row.ip,
    endpoint: row.endpoint,
    method: row.method,
    statusCode: Number(row.status_code),
    rateLimitHit: row.rate_limit_hit === true || row.rate_limit_hit === 1,
    anomalyDetected: row.anomaly_detected === true || row.anomaly_detected === 1,
    latencyMs: Number(row.latency_ms),
  };
}

/**
 * PostgreSQL's numbered placeholders for the `?` ones of a statement. The
 * statements here hold no `?` inside a literal or an identifier.
 */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * Creates the SQL audit reader. On SQLite reads go through MikroORM (a fork
 * of its EntityManager per call, never the global one); on PostgreSQL
 * through the pg pool MikroORM holds, bounded by `queryTimeoutMs` as the
 * other stores' statements are. Pages come newest first,
 * ordered by (timestamp, id), with keyset pagination: the cursor is the last
 * record's (timestamp, id), so page 1,000 costs what page 1 does. A page
 * holds at most 1,000 records; the total is counted only when asked.
 */
export function createSqlAuditReader(
  database: SqlDatabase,
  options: SqlAuditReaderOptions = {},
): SqlAuditReader {
  const purgeBatchSize = integerOption(
    'purgeBatchSize',
    options.purgeBatchSize ?? 10_000,
    1,
    1_000_000,
  );
  const fork = (): EntityManager => database.orm.em.fork();
  const engine = database.engine;
  const purgeSql = `delete from lockwatch_audit_log where id in (select id from lockwatch_audit_log where "timestamp" < ? order by "timestamp" limit ${purgeBatchSize})`;
  let sqlitePurge: SqliteStatement | undefined;
  /** Deletes one batch; on SQLite through the native connection, waiting for another process's lock without blocking. */
  const purgeBatch = async (timestamp: number): Promise<number> => {
    const native = database.native;
    if (native.kind === 'sqlite') {
      const db = native.db;
      sqlitePurge ??= db.prepare(purgeSql);
      const statement = sqlitePurge;
      return sqliteWritesOf(db)(() => {
        if (db.inTransaction) {
          throw new Error('the SQLite connection is inside another transaction');
        }
        return statement.run(timestamp).changes;
      });
    }
    // A transaction of its own per batch, so that the server gives up a wait for a lock on the
    // table (lock_timeout) and a network that stopped answering fails the call (query_timeout):
    // a purge run from cron behind a migration or an operator's lock would otherwise hang.
    const result = await inPgTransaction(native.pool, database.queryTimeoutMs, (client) =>
      client.query({ text: numbered(purgeSql), values: [timestamp] }),
    );
    return result.rowCount ?? 0;
  };

  /**
   * Runs one statement of `query`: on PostgreSQL on the pool, given up
   * client-side at `queryTimeoutMs` (its connection closed) like every
   * single-statement read of LockWatch's, rather than waiting behind a table
   * lock or a stalled network for ever.
   */
  const read = async <R>(sql: string, params: unknown[]): Promise<R[]> => {
    const native = database.native;
    if (native.kind === 'sqlite') return fork().getConnection().execute<R[]>(sql, params);
    const result = await native.pool.query<R>({
      text: numbered(sql),
      values: params,
      query_timeout: database.queryTimeoutMs,
    });
    return result.rows;
  };

  const pageSql = (query: AuditQuery) => {
    const { query: q, limit, cursor } = checkQuery(query);
    const filter = buildFilter(q, cursor, engine);
    return {
      q,
      limit,
      params: filter.params,
      sql: `select ${selectColumns} from lockwatch_audit_log ${filter.where} order by "timestamp" desc, id desc limit ${limit + 1}`,
    };
  };

  return {
    database,
    async explain(query) {
      const { sql, params } = pageSql(query);
      const prefix = engine === 'sqlite' ? 'explain query plan' : 'explain';
      const rows = await read<Record<string, unknown>>(`${prefix} ${sql}`, params);
      return rows.map((row) => String(row.detail ?? row['QUERY PLAN'] ?? JSON.stringify(row)));
    },
    async query(query, callOptions): Promise<AuditPage> {
      const { q, limit, sql, params } = pageSql(query);
      const signal = callOptions?.signal;
      if (signal?.aborted) throw signal.reason;
      try {
        const rows = await read<Row>(sql, params);
        const more = rows.length > limit;
        const records = (more ? rows.slice(0, limit) : rows).map(toRecord);
        const last = records.at(-1);
        let total: number | undefined;
        if (q.includeTotal) {
          const all = buildFilter(q, undefined, engine);
          const [counted] = await read<{ n: number | string }>(
            `select count(*) as n from lockwatch_audit_log ${all.where}`,
            all.params,
          );
          total = Number(counted?.n ?? 0);
        }
        return {
          records,
          nextCursor: more && last ? encodeCursor(last) : undefined,
          ...(total === undefined ? {} : { total }),
        };
      } catch (error) {
        throw toSqlError(error, 'Audit query', signal);
      }
    },
    async purgeOlderThan(timestamp, callOptions) {
      integerOption('timestamp', timestamp, 0, Number.MAX_SAFE_INTEGER);
      const signal = callOptions?.signal;
      let deleted = 0;
      try {
        for (;;) {
          if (signal?.aborted) throw signal.reason;
          const removed = await purgeBatch(timestamp);
          deleted += removed;
          if (removed < purgeBatchSize) return deleted;
        }
      } catch (error) {
        throw toSqlError(error, 'Audit purge', signal);
      }
    },
  };
}
