import type { EntityManager } from '@mikro-orm/core';
import { encodeCursor } from '../../domain/audit/cursor.ts';
import { checkQuery } from '../../domain/audit/query.ts';
import { integerOption } from '../../domain/config/validate.ts';
import type { AuditPage, AuditQuery, AuditReader, AuditRecord } from '../../ports/audit.ts';
import type { SqlDatabase } from './database.ts';
import { buildFilter } from './filter.ts';
import type { SqliteStatement } from './native.ts';
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
 * Creates the SQL audit reader. Reads go through MikroORM (a fork of its
 * EntityManager per call, never the global one). Pages come newest first,
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
    const result = await fork()
      .getConnection()
      .execute<{ affectedRows: number }>(purgeSql, [timestamp], 'run');
    return result.affectedRows;
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
      const rows: Record<string, unknown>[] = await fork()
        .getConnection()
        .execute(`${prefix} ${sql}`, params);
      return rows.map((row) => String(row.detail ?? row['QUERY PLAN'] ?? JSON.stringify(row)));
    },
    async query(query, callOptions): Promise<AuditPage> {
      const { q, limit, sql, params } = pageSql(query);
      const signal = callOptions?.signal;
      if (signal?.aborted) throw signal.reason;
      const em = fork();
      try {
        const rows = await em.getConnection().execute<Row[]>(sql, params);
        const more = rows.length > limit;
        const records = (more ? rows.slice(0, limit) : rows).map(toRecord);
        const last = records.at(-1);
        let total: number | undefined;
        if (q.includeTotal) {
          const all = buildFilter(q, undefined, engine);
          const [counted] = await em
            .getConnection()
            .execute<{ n: number | string }[]>(
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
