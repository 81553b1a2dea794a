import { isLockWatchError } from '../../domain/errors.ts';
import { StoreUnavailableError } from '../../domain/failure/errors.ts';
import { StoreClosedError } from '../../domain/ratelimit/errors.ts';
import {
  isLive,
  newestFirst,
  publicRecord,
  rotationStep,
  type StoredSession,
} from '../../domain/tokens/rotation.ts';
import {
  validateSessionRecord,
  validateStoreId,
  validateTime,
} from '../../domain/tokens/store-arguments.ts';
import type { CallOptions } from '../../ports/call-options.ts';
import type { RotateOutcome, RotateRequest, TokenStore } from '../../ports/token-store.ts';
import type { SqlDatabase } from './database.ts';
import { SqlSchemaError } from './errors.ts';
import type { PostgresNative, SqliteNative, SqliteStatement } from './native.ts';
import { inPgTransaction } from './pg-transaction.ts';
import { type SqliteWrites, sqliteWritesOf } from './sqlite-busy.ts';

/** A {@link TokenStore} on a {@link SqlDatabase}. */
export interface SqlTokenStore extends TokenStore {
  /** `sqlite` or `postgresql`. */
  readonly engine: SqlDatabase['engine'];
}

/** A session row as the drivers return it (PostgreSQL gives bigint columns as strings). */
interface SessionRow {
  user_id: string;
  id: string;
  family_hash: string;
  refresh_hash: string;
  previous_hash: string | null;
  rotated_at: string | number | null;
  generation: number;
  created_at: string | number;
  last_used_at: string | number;
  expires_at: string | number;
  ip: string | null;
  user_agent: string | null;
  last_ip: string | null;
  data: string | null;
  reused_at: string | number | null;
}

/** A session row with the user's cut-off in force at the caller's time (or null), read in the same statement. */
interface CutoffRow extends SessionRow {
  user_cutoff: string | number | null;
}

function cutoffOf(row: CutoffRow | undefined): number | undefined {
  return row?.user_cutoff == null ? undefined : Number(row.user_cutoff);
}

/** True when `row` is a live session: the domain's rule, cut-off included (see `isLive`). */
function liveRow(row: CutoffRow | undefined, now: number): boolean {
  return row !== undefined && isLive(toRecord(row), now, cutoffOf(row));
}

const columns =
  'user_id, id, family_hash, refresh_hash, previous_hash, rotated_at, generation, created_at, last_used_at, expires_at, ip, user_agent, last_ip, data, reused_at';

/** The user's cut-off in force at a time given as the next placeholder, as a column of a session row. */
const userCutoff = (placeholder: string) =>
  `(select c.cutoff_at from lockwatch_user_cutoffs c where c.user_id = lockwatch_sessions.user_id and c.expires_at > ${placeholder}) as user_cutoff`;

function toRecord(row: SessionRow): StoredSession {
  const optional = (value: string | number | null) => (value === null ? undefined : Number(value));
  return {
    id: row.id,
    userId: row.user_id,
    familyHash: row.family_hash,
    refreshHash: row.refresh_hash,
    previousHash: row.previous_hash ?? undefined,
    rotatedAt: optional(row.rotated_at),
    generation: Number(row.generation),
    createdAt: Number(row.created_at),
    lastUsedAt: Number(row.last_used_at),
    expiresAt: Number(row.expires_at),
    ip: row.ip ?? undefined,
    userAgent: row.user_agent ?? undefined,
    lastIp: row.last_ip ?? undefined,
    data: row.data ?? undefined,
    reusedAt: optional(row.reused_at),
  };
}

function rowValues(s: StoredSession): unknown[] {
  return [
    s.userId,
    s.id,
    s.familyHash,
    s.refreshHash,
    s.previousHash ?? null,
    s.rotatedAt ?? null,
    s.generation,
    s.createdAt,
    s.lastUsedAt,
    s.expiresAt,
    s.ip ?? null,
    s.userAgent ?? null,
    s.lastIp ?? null,
    s.data ?? null,
    s.reusedAt ?? null,
  ];
}

/** The statements, each written once per engine (`?` or `$n` placeholders, `max` or `greatest`). */
function statements(engine: 'sqlite' | 'postgresql') {
  let n = 0;
  const pg = engine === 'postgresql';
  const $ = () => (pg ? `$${++n}` : '?');
  const sql = (build: () => string) => {
    n = 0;
    return build();
  };
  const greatest = pg ? 'greatest' : 'max';
  return {
    insert: sql(
      () =>
        `insert into lockwatch_sessions (${columns}) values (${Array.from({ length: 15 }, $).join(', ')})`,
    ),
    // The session and, in the same read, the user's cut-off in force at the caller's time.
    select: sql(
      () =>
        `select ${columns}, ${userCutoff($())} from lockwatch_sessions where user_id = ${$()} and id = ${$()}`,
    ),
    update: sql(
      () =>
        `update lockwatch_sessions set refresh_hash = ${$()}, previous_hash = ${$()}, rotated_at = ${$()}, generation = ${$()}, last_used_at = ${$()}, expires_at = ${$()}, last_ip = ${$()}, reused_at = ${$()} where user_id = ${$()} and id = ${$()}`,
    ),
    remove: sql(() => `delete from lockwatch_sessions where user_id = ${$()} and id = ${$()}`),
    list: sql(
      () =>
        `select ${columns} from lockwatch_sessions where user_id = ${$()} and reused_at is null and expires_at > ${$()} and not exists (select 1 from lockwatch_user_cutoffs c where c.user_id = lockwatch_sessions.user_id and c.expires_at > ${$()} and c.cutoff_at >= lockwatch_sessions.created_at) order by created_at desc, id desc`,
    ),
    // Deleted rows come back with the cut-off read by the same statement, so "was it live" is
    // decided atomically with the delete.
    revokeOne: sql(
      () =>
        `delete from lockwatch_sessions where user_id = ${$()} and id = ${$()} and (reused_at is null or expires_at <= ${$()}) returning ${columns}, ${userCutoff($())}`,
    ),
    revokeAll: sql(
      () =>
        `delete from lockwatch_sessions where user_id = ${$()} and id <> ${$()} and reused_at is null returning ${columns}, ${userCutoff($())}`,
    ),
    deny: sql(
      () =>
        `insert into lockwatch_token_marks (user_id, kind, id, expires_at) values (${$()}, 'deny', ${$()}, ${$()}) on conflict (user_id, kind, id) do update set expires_at = ${greatest}(lockwatch_token_marks.expires_at, excluded.expires_at)`,
    ),
    consume: sql(
      () =>
        `insert into lockwatch_token_marks (user_id, kind, id, expires_at) values (${$()}, 'used', ${$()}, ${$()}) on conflict (user_id, kind, id) do update set expires_at = excluded.expires_at where lockwatch_token_marks.expires_at <= ${$()} returning 1 as won`,
    ),
    // Placeholders are never reused (SQLite binds `?` by position): callers repeat values instead.
    cutoff: sql(
      () =>
        `insert into lockwatch_user_cutoffs (user_id, cutoff_at, expires_at) values (${$()}, ${$()}, ${$()}) on conflict (user_id) do update set cutoff_at = case when lockwatch_user_cutoffs.expires_at > ${$()} then ${greatest}(lockwatch_user_cutoffs.cutoff_at, excluded.cutoff_at) else excluded.cutoff_at end, expires_at = case when lockwatch_user_cutoffs.expires_at > ${$()} then ${greatest}(lockwatch_user_cutoffs.expires_at, excluded.expires_at) else excluded.expires_at end`,
    ),
    revocation: sql(
      () =>
        `select (select expires_at from lockwatch_token_marks where user_id = ${$()} and kind = 'deny' and id = ${$()}) as denied, (select cutoff_at from lockwatch_user_cutoffs where user_id = ${$()} and expires_at > ${$()}) as cutoff, (select expires_at from lockwatch_sessions where user_id = ${$()} and id = ${$()} and reused_at is null) as session_expires, (select created_at from lockwatch_sessions where user_id = ${$()} and id = ${$()}) as session_created`,
    ),
    purgeSessions: sql(() => `delete from lockwatch_sessions where expires_at <= ${$()}`),
    purgeMarks: sql(() => `delete from lockwatch_token_marks where expires_at <= ${$()}`),
    purgeCutoffs: sql(() => `delete from lockwatch_user_cutoffs where expires_at <= ${$()}`),
  };
}

type Statements = ReturnType<typeof statements>;
type StatementName = keyof Statements;

/** Runs named statements on one engine. */
interface Engine {
  all<R>(name: StatementName, values: unknown[]): Promise<R[]>;
  run(name: StatementName, values: unknown[]): Promise<number>;
  /** Reads the session row locked, applies `step`, writes the result, atomically. */
  rotate(request: RotateRequest): Promise<RotateOutcome>;
}

function sqliteEngine(db: SqliteNative, writes: SqliteWrites, sql: Statements): Engine {
  const prepared = new Map<StatementName, SqliteStatement>();
  const statement = (name: StatementName) => {
    let s = prepared.get(name);
    if (s === undefined) {
      s = db.prepare(sql[name]);
      prepared.set(name, s);
    }
    return s;
  };
  // better-sqlite3 runs the transaction synchronously, under BEGIN IMMEDIATE (the database's write lock).
  let rotateTx: ((request: RotateRequest) => RotateOutcome) | undefined;
  const rotateBody = (request: RotateRequest): RotateOutcome => {
    const row = statement('select').get(request.now, request.userId, request.sessionId) as
      | CutoffRow
      | undefined;
    const step = rotationStep(
      row === undefined ? undefined : toRecord(row),
      request,
      cutoffOf(row),
    );
    if (step.write === 'delete') statement('remove').run(request.userId, request.sessionId);
    else if (step.write === 'replace') statement('update').run(...updateValues(step.record));
    return step.outcome;
  };
  // Some statements write (a RETURNING delete, an upsert): every one goes through `writes`, which
  // waits for another process's lock without blocking the event loop.
  return {
    async all<R>(name: StatementName, values: unknown[]) {
      return writes(() => statement(name).all(...values) as R[]);
    },
    async run(name, values) {
      return writes(() => statement(name).run(...values).changes);
    },
    async rotate(request) {
      rotateTx ??= db.transaction(rotateBody).immediate;
      const rotate = rotateTx;
      // Checked on every attempt: a retry comes later, when another transaction may have opened.
      return writes(() => {
        if (db.inTransaction) {
          throw new Error('the SQLite connection is inside another transaction');
        }
        return rotate(request);
      });
    },
  };
}

function updateValues(s: StoredSession): unknown[] {
  return [
    s.refreshHash,
    s.previousHash ?? null,
    s.rotatedAt ?? null,
    s.generation,
    s.lastUsedAt,
    s.expiresAt,
    s.lastIp ?? null,
    s.reusedAt ?? null,
    s.userId,
    s.id,
  ];
}

// Reads wait for no row lock (MVCC); only DDL's table locks can hold them up, and a read given
// up by the client changes nothing if it runs on.
const reads: ReadonlySet<StatementName> = new Set(['select', 'list', 'revocation']);

function postgresEngine(pool: PostgresNative, queryTimeoutMs: number, sql: Statements): Engine {
  const query = (name: StatementName, values: unknown[]) => {
    const statement = { name: `lockwatch_tokens_${name}`, text: sql[name], values };
    // A read is one statement; the client gives up on it at the timeout.
    if (reads.has(name)) return pool.query({ ...statement, query_timeout: queryTimeoutMs });
    // A write waits for row locks: in a transaction of its own, the server cancels that wait at
    // the timeout (lock_timeout) and rolls it back. Given up by the client alone, it would run on
    // in its backend and apply once the lock freed, after its caller was told it failed.
    return inPgTransaction(pool, queryTimeoutMs, (client) => client.query(statement));
  };
  return {
    async all<R>(name: StatementName, values: unknown[]) {
      return (await query(name, values)).rows as R[];
    },
    async run(name, values) {
      return (await query(name, values)).rowCount ?? 0;
    },
    async rotate(request) {
      return inPgTransaction(pool, queryTimeoutMs, async (client) => {
        // FOR UPDATE makes concurrent rotations of one session wait, then read the first one's result.
        const found = await client.query<CutoffRow>({
          name: 'lockwatch_tokens_lock',
          text: `${sql.select} for update`,
          values: [request.now, request.userId, request.sessionId],
        });
        const row = found.rows[0];
        const step = rotationStep(
          row === undefined ? undefined : toRecord(row),
          request,
          cutoffOf(row),
        );
        if (step.write === 'delete') {
          await client.query({
            name: 'lockwatch_tokens_remove',
            text: sql.remove,
            values: [request.userId, request.sessionId],
          });
        } else if (step.write === 'replace') {
          await client.query({
            name: 'lockwatch_tokens_update',
            text: sql.update,
            values: updateValues(step.record),
          });
        }
        return step.outcome;
      });
    },
  };
}

/**
 * Creates a token store on SQL (SQLite or PostgreSQL, schema by the shipped
 * migrations). Each call is one statement on the driver's connection that
 * MikroORM holds — a revocation check is one SELECT of three subqueries on
 * primary keys — except rotation, one transaction that locks the session's
 * row (`BEGIN IMMEDIATE` on SQLite, `SELECT ... FOR UPDATE` on PostgreSQL)
 * and applies the domain's rotation rule. `purgeExpired` deletes what
 * expired; run it from a scheduled job.
 */
export function createSqlTokenStore(database: SqlDatabase): SqlTokenStore {
  if (typeof database !== 'object' || database === null || database.native === undefined) {
    throw new TypeError('createSqlTokenStore needs a SqlDatabase from openSqlDatabase()');
  }
  const sql = statements(database.engine);
  const engine =
    database.native.kind === 'sqlite'
      ? sqliteEngine(database.native.db, sqliteWritesOf(database.native.db), sql)
      : postgresEngine(database.native.pool, database.queryTimeoutMs, sql);
  let closed = false;

  const guard = async <T>(
    what: string,
    options: CallOptions | undefined,
    body: () => Promise<T>,
  ) => {
    if (closed) throw new StoreClosedError('sql token store');
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
    try {
      return await body();
    } catch (error) {
      throw tokenSqlError(error, what, signal);
    }
  };

  const store: SqlTokenStore = {
    engine: database.engine,

    createSession(session, options) {
      return guard('createSession', options, async () => {
        validateSessionRecord(session);
        await engine.run('insert', rowValues(session));
      });
    },

    rotateRefresh(request, options) {
      return guard('rotateRefresh', options, async () => {
        validateStoreId('userId', request.userId);
        validateStoreId('sessionId', request.sessionId);
        validateTime('now', request.now);
        const outcome = await engine.rotate(request);
        if (outcome.kind === 'rotated' || outcome.kind === 'grace') {
          return { kind: outcome.kind, session: publicRecord(outcome.session) };
        }
        return outcome;
      });
    },

    getSession(userId, sessionId, now, options) {
      return guard('getSession', options, async () => {
        validateStoreId('userId', userId);
        validateStoreId('sessionId', sessionId);
        const [row] = await engine.all<CutoffRow>('select', [now, userId, sessionId]);
        return row !== undefined && liveRow(row, now) ? publicRecord(toRecord(row)) : undefined;
      });
    },

    listSessions(userId, now, options) {
      return guard('listSessions', options, async () => {
        validateStoreId('userId', userId);
        const rows = await engine.all<SessionRow>('list', [userId, now, now]);
        // Sorted again in JavaScript: the databases' text collations may order ids differently.
        return rows.map(toRecord).sort(newestFirst).map(publicRecord);
      });
    },

    revokeSession(userId, sessionId, now, options) {
      return guard('revokeSession', options, async () => {
        validateStoreId('userId', userId);
        validateStoreId('sessionId', sessionId);
        const [row] = await engine.all<CutoffRow>('revokeOne', [userId, sessionId, now, now]);
        return liveRow(row, now);
      });
    },

    revokeUserSessions(userId, keepSessionId, now, options) {
      return guard('revokeUserSessions', options, async () => {
        validateStoreId('userId', userId);
        const rows = await engine.all<CutoffRow>('revokeAll', [userId, keepSessionId ?? '', now]);
        return rows.filter((row) => liveRow(row, now)).length;
      });
    },

    denyJti(userId, jti, expiresAt, now, options) {
      return guard('denyJti', options, async () => {
        validateStoreId('userId', userId);
        validateStoreId('jti', jti);
        validateTime('expiresAt', expiresAt);
        if (expiresAt <= now) return;
        await engine.run('deny', [userId, jti, expiresAt]);
      });
    },

    setUserCutoff(userId, at, expiresAt, now, options) {
      return guard('setUserCutoff', options, async () => {
        validateStoreId('userId', userId);
        validateTime('at', at);
        validateTime('expiresAt', expiresAt);
        await engine.run('cutoff', [userId, at, expiresAt, now, now]);
      });
    },

    revocationState(query, options) {
      return guard('revocationState', options, async () => {
        validateStoreId('userId', query.userId);
        validateStoreId('jti', query.jti);
        const [row] = await engine.all<{
          denied: string | number | null;
          cutoff: string | number | null;
          session_expires: string | number | null;
          session_created: string | number | null;
        }>('revocation', [
          query.userId,
          query.jti,
          query.userId,
          query.now,
          query.userId,
          query.sessionId ?? '',
          query.userId,
          query.sessionId ?? '',
        ]);
        const userCutoff = row?.cutoff == null ? undefined : Number(row.cutoff);
        return {
          jtiRevoked: row?.denied != null && Number(row.denied) > query.now,
          sessionRevoked:
            query.sessionId !== undefined &&
            (row?.session_expires == null ||
              Number(row.session_expires) <= query.now ||
              // Created at or before the cut-off: logged out (see loggedOutByCutoff).
              (userCutoff !== undefined && Number(row.session_created) <= userCutoff)),
          userCutoff,
        };
      });
    },

    consumeOnce(userId, id, expiresAt, now, options) {
      return guard('consumeOnce', options, async () => {
        validateStoreId('userId', userId);
        validateStoreId('id', id);
        validateTime('expiresAt', expiresAt);
        const rows = await engine.all('consume', [userId, id, expiresAt, now]);
        return rows.length === 1;
      });
    },

    purgeExpired(now, options) {
      return guard('purgeExpired', options, async () => {
        validateTime('now', now);
        let removed = 0;
        for (const name of ['purgeSessions', 'purgeMarks', 'purgeCutoffs'] as const) {
          removed += await engine.run(name, [now]);
        }
        return removed;
      });
    },

    async close() {
      // The database handle belongs to the caller (openSqlDatabase), who closes it.
      closed = true;
    },
  };
  return store;
}

/**
 * A driver error as the session manager's failure policy sees it: a
 * missing table is a {@link SqlSchemaError} naming the fix, everything
 * else a {@link StoreUnavailableError}; LockWatch errors and the caller's
 * abort pass through.
 */
function tokenSqlError(error: unknown, what: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted && error === signal.reason) return error;
  if (isLockWatchError(error)) return error;
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (e?.code === '42P01' || /no such table/i.test(message)) {
    return new SqlSchemaError(
      `Token store ${what}: LockWatch's token tables are missing (${message}). Run \`npx lockwatch migrate up\` for this database.`,
      { cause: error },
    );
  }
  return new StoreUnavailableError(`Token store ${what} failed: ${message}`, { cause: error });
}
