import { createHash } from 'node:crypto';
import { InvalidOptionError } from '../../domain/config/errors.ts';
import { choiceOption, integerOption } from '../../domain/config/validate.ts';
import { refund as refundStep, type WindowState } from '../../domain/ratelimit/algorithm.ts';
import { validateCall } from '../../domain/ratelimit/arguments.ts';
import { StoreClosedError } from '../../domain/ratelimit/errors.ts';
import { evaluate } from '../../domain/ratelimit/evaluate.ts';
import type { Decision, Policy } from '../../domain/ratelimit/types.ts';
import type { Clock } from '../../ports/clock.ts';
import type { WindowStore } from '../../ports/window-store.ts';
import { systemClock } from '../clock/system.ts';
import type { SqlDatabase } from './database.ts';
import type { PostgresNative, SqliteNative } from './native.ts';
import { inPgTransaction, type PgStatements } from './pg-transaction.ts';
import { toSqlError } from './sql-errors.ts';
import { type SqliteWrites, sqliteWritesOf } from './sqlite-busy.ts';

/** Options of {@link createSqlWindowStore}. */
export interface SqlWindowStoreOptions {
  /**
   * Where time comes from. PostgreSQL: `server` (default) reads the
   * database's clock inside the locked transaction, so app servers agree;
   * `client` uses {@link clock}. SQLite is always `client` (its processes
   * share one machine).
   */
  readonly time?: 'server' | 'client' | undefined;
  /** Clock for `client` time; the system clock by default. */
  readonly clock?: Clock | undefined;
  /** Delete subjects whose state expired, a batch every this many writes: 1 to 1,000,000; 1,000 by default. */
  readonly sweepEvery?: number | undefined;
}

/** A {@link WindowStore} on a {@link SqlDatabase}. */
export interface SqlWindowStore extends WindowStore {
  /** Deletes up to `limit` subjects whose every state has expired; returns how many. */
  sweep(limit?: number): Promise<number>;
}

/** One policy's stored state and when it stops mattering (epoch ms). */
interface Entry {
  s: WindowState;
  e: number;
}

type States = Record<string, Entry>;

// States are keyed by policy name, which may be any text: `__proto__` included. Objects without a
// prototype hold it as a key like any other (on a plain object, assigning it sets the prototype).
function statesFrom(source?: States): States {
  return Object.assign(Object.create(null) as States, source);
}

// The member only a state of that algorithm has: a policy redefined under the same name with
// another algorithm finds its old state unreadable, and reads it as none (as the memory and Redis
// stores do), never feeds it to the wrong step function.
const stateMember: Readonly<Record<Policy['algorithm'], string>> = {
  gcra: 'tat',
  'fixed-window': 'count',
  'sliding-window': 'current',
  'sliding-log': 'entries',
};

/** What one locked read-modify-write does with a subject's states at `now`; returns what to answer. */
type Change<T> = (states: States, now: number) => { result: T; states: States | null };

/** Row key of a subject: SHA-256 of its UTF-16 code units, so any string (lone surrogates, NUL) maps to a distinct fixed-size key. */
export function subjectKey(subject: string): string {
  return createHash('sha256').update(subject, 'utf16le').digest('hex');
}

function parse(text: string | null | undefined): States {
  if (!text) return statesFrom();
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? statesFrom(value as States)
      : statesFrom();
  } catch {
    return statesFrom();
  }
}

function liveState(states: States, policy: Policy, now: number): WindowState | undefined {
  const entry = Object.hasOwn(states, policy.name) ? states[policy.name] : undefined;
  if (entry === undefined || !(entry.e > now)) return undefined;
  const state = entry.s as unknown;
  return typeof state === 'object' &&
    state !== null &&
    Object.hasOwn(state, stateMember[policy.algorithm])
    ? entry.s
    : undefined;
}

/** The states to keep: the live ones; null when none is left (delete the row). */
function pruned(states: States, now: number): { states: States; expiresAt: number } | null {
  const kept = statesFrom();
  let expiresAt = 0;
  for (const name of Object.keys(states)) {
    const entry = states[name]!;
    if (entry.e > now) {
      kept[name] = entry;
      if (entry.e > expiresAt) expiresAt = entry.e;
    }
  }
  return expiresAt === 0 ? null : { states: kept, expiresAt };
}

/**
 * Creates a WindowStore on SQL for teams without Redis. Each check is one
 * transaction that locks the subject's row (`BEGIN IMMEDIATE` on SQLite,
 * `SELECT ... FOR UPDATE` on PostgreSQL), applies the domain's pure step
 * functions to all of its policies and writes the result back, so limits
 * hold across processes and survive restarts. All policies of a subject
 * live in one row (a JSON document keyed by policy name).
 *
 * Like the audit sink it uses the driver client MikroORM holds (the schema
 * and migrations stay MikroORM's): on SQLite the whole read-modify-write runs
 * synchronously in one better-sqlite3 transaction, so nothing else on that
 * one connection can interleave with it; on PostgreSQL one pooled client
 * carries the locked transaction and reads the server's clock.
 */
export function createSqlWindowStore(
  database: SqlDatabase,
  options: SqlWindowStoreOptions = {},
): SqlWindowStore {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object');
  }
  const time =
    database.engine === 'sqlite'
      ? 'client'
      : choiceOption('time', options.time ?? 'server', ['server', 'client'] as const);
  if (database.engine === 'sqlite' && options.time === 'server') {
    throw new InvalidOptionError(
      'time',
      options.time,
      "'client' on SQLite (it has no server clock)",
    );
  }
  const clock = options.clock ?? systemClock;
  const sweepEvery = integerOption('sweepEvery', options.sweepEvery ?? 1000, 1, 1_000_000);
  const run =
    database.native.kind === 'sqlite'
      ? sqliteRunner(database.native.db, clock, sqliteWritesOf(database.native.db))
      : postgresRunner(database.native.pool, database.queryTimeoutMs, clock, time === 'server');
  let closed = false;
  let writes = 0;

  const guard = async <T>(what: string, body: () => Promise<T>, signal?: AbortSignal) => {
    if (closed) throw new StoreClosedError('sql window store');
    if (signal?.aborted) throw signal.reason;
    try {
      return await body();
    } catch (error) {
      throw toSqlError(error, `Window store ${what}`, signal);
    }
  };

  const noteWrite = () => {
    if (++writes % sweepEvery === 0) store.sweep().catch(() => {});
  };

  const decide = (policies: readonly Policy[], cost: number, charge: boolean): Change<Decision> => {
    return (states, now) => {
      const current = policies.map((policy) => liveState(states, policy, now));
      const { decision, steps, charged } = evaluate(current, now, policies, cost, charge);
      if (!charged.includes(true)) return { result: decision, states: null };
      const next = statesFrom(states);
      for (let i = 0; i < policies.length; i++) {
        if (!charged[i]) continue;
        const step = steps[i]!;
        const name = policies[i]!.name;
        if (step.state === undefined) delete next[name];
        else next[name] = { s: step.state, e: step.expiresAt };
      }
      return { result: decision, states: next };
    };
  };

  const store: SqlWindowStore = {
    // A statement runs to its end: an abort only stops one that has not started.
    stopsOnAbort: false,
    check(subject, policies, cost, callOptions) {
      return guard(
        'check',
        async () => {
          validateCall(subject, policies, cost);
          const decision = await run.locked(
            subjectKey(subject),
            decide(policies, cost, true),
            true,
          );
          noteWrite();
          return decision;
        },
        callOptions?.signal,
      );
    },
    peek(subject, policies, cost, callOptions) {
      return guard(
        'peek',
        async () => {
          validateCall(subject, policies, cost);
          return run.read(
            subjectKey(subject),
            (states, now) => decide(policies, cost, false)(states, now).result,
          );
        },
        callOptions?.signal,
      );
    },
    refund(subject, policies, cost, callOptions) {
      return guard(
        'refund',
        async () => {
          validateCall(subject, policies, cost);
          if (cost === 0 || !policies.some((p) => p.mode === 'enforce')) return;
          await run.locked(
            subjectKey(subject),
            (states, now) => {
              const next = statesFrom(states);
              let changed = false;
              for (const policy of policies) {
                if (policy.mode !== 'enforce') continue;
                const state = liveState(states, policy, now);
                if (state === undefined) continue;
                const refunded = refundStep(state, now, policy, cost);
                changed = true;
                if (refunded === undefined) delete next[policy.name];
                else next[policy.name] = { s: refunded, e: states[policy.name]!.e };
              }
              return { result: undefined, states: changed ? next : null };
            },
            false,
          );
        },
        callOptions?.signal,
      );
    },
    reset(subject, policies, callOptions) {
      return guard(
        'reset',
        async () => {
          validateCall(subject, policies, 0);
          await run.locked(
            subjectKey(subject),
            (states) => {
              const next = statesFrom(states);
              let changed = false;
              for (const policy of policies) {
                if (Object.hasOwn(next, policy.name)) {
                  delete next[policy.name];
                  changed = true;
                }
              }
              return { result: undefined, states: changed ? next : null };
            },
            false,
          );
        },
        callOptions?.signal,
      );
    },
    sweep(limit = 1000) {
      return guard('sweep', () => run.sweep(integerOption('limit', limit, 1, 1_000_000)));
    },
    async close() {
      closed = true;
    },
  };
  return store;
}

/** Engine-specific storage: locked read-modify-write, plain read, sweep. */
interface Runner {
  /** Runs `change` with the subject's row locked; `create` makes the row first when missing (checks). */
  locked<T>(key: string, change: Change<T>, create: boolean): Promise<T>;
  read<T>(key: string, answer: (states: States, now: number) => T): Promise<T>;
  sweep(limit: number): Promise<number>;
}

function sqliteRunner(db: SqliteNative, clock: Clock, writes: SqliteWrites): Runner {
  let prepared:
    | {
        select: ReturnType<SqliteNative['prepare']>;
        upsert: ReturnType<SqliteNative['prepare']>;
        remove: ReturnType<SqliteNative['prepare']>;
        sweep: ReturnType<SqliteNative['prepare']>;
      }
    | undefined;
  const statements = () =>
    (prepared ??= {
      select: db.prepare('select states from lockwatch_window_state where key = ?'),
      upsert: db.prepare(
        'insert into lockwatch_window_state (key, states, expires_at) values (?, ?, ?) on conflict (key) do update set states = excluded.states, expires_at = excluded.expires_at',
      ),
      remove: db.prepare('delete from lockwatch_window_state where key = ?'),
      sweep: db.prepare(
        'delete from lockwatch_window_state where key in (select key from lockwatch_window_state where expires_at <= ? limit ?)',
      ),
    });
  const read = (key: string) =>
    parse((statements().select.get(key) as { states?: string } | undefined)?.states);
  // better-sqlite3 runs a transaction synchronously: no other code of this process can interleave,
  // and BEGIN IMMEDIATE takes the database's write lock; while another process holds it, `writes`
  // tries again after a pause instead of sleeping in SQLite's busy handler.
  let body: (<T>(key: string, change: Change<T>) => T) | undefined;
  const transaction = () =>
    (body ??= db.transaction(<T>(key: string, change: Change<T>): T => {
      const now = clock.now();
      const { result, states } = change(read(key), now);
      if (states !== null) {
        const kept = pruned(states, now);
        if (kept === null) statements().remove.run(key);
        else statements().upsert.run(key, JSON.stringify(kept.states), kept.expiresAt);
      }
      return result;
    }).immediate as <T>(key: string, change: Change<T>) => T);
  return {
    async locked(key, change) {
      // SQLite needs no row to lock: BEGIN IMMEDIATE holds the whole database.
      const run = transaction();
      // Checked on every attempt: a retry comes later, when another transaction may have opened.
      return writes(() => {
        if (db.inTransaction) {
          throw new Error('the SQLite connection is inside another transaction');
        }
        return run(key, change);
      });
    },
    async read(key, answer) {
      // A read rarely meets a lock under WAL (recovery, a file that could not switch to WAL), and
      // then waits as a write does: free when it does not.
      return writes(() => answer(read(key), clock.now()));
    },
    async sweep(limit) {
      return writes(() => statements().sweep.run(clock.now(), limit).changes);
    },
  };
}

const serverNow = '(extract(epoch from clock_timestamp()) * 1000)::int8';

async function serverClock(client: PgStatements): Promise<number> {
  const { rows } = await client.query<{ now: string }>({ text: `select ${serverNow} as now` });
  return Number(rows[0]?.now);
}

function postgresRunner(
  pool: PostgresNative,
  queryTimeoutMs: number,
  clock: Clock,
  serverTime: boolean,
): Runner {
  const nowOf = (row: { now?: string | number } | undefined) =>
    serverTime ? Number(row?.now) : clock.now();
  return {
    async locked(key, change, create) {
      return inPgTransaction(pool, queryTimeoutMs, async (client) => {
        // FOR UPDATE waits for a concurrent check of the same subject and then reads its result.
        let found = await client.query<{ states: string; now: string }>({
          name: 'lockwatch_window_lock',
          text: `select states, ${serverNow} as now from lockwatch_window_state where key = $1 for update`,
          values: [key],
        });
        let created = false;
        if (found.rows.length === 0 && create) {
          // No row yet: create an empty one, or, when a concurrent check just created it, wait for
          // that check and lock its row (xmax = 0 only on a row this statement inserted).
          found = await client.query<{ states: string; now: string; inserted: boolean }>({
            name: 'lockwatch_window_create',
            text: `insert into lockwatch_window_state (key, states, expires_at) values ($1, '{}', 0) on conflict (key) do update set expires_at = lockwatch_window_state.expires_at returning states, ${serverNow} as now, (xmax = 0) as inserted`,
            values: [key],
          });
          created = (found.rows[0] as { inserted?: boolean } | undefined)?.inserted === true;
        }
        const row = found.rows[0];
        const now = row === undefined && serverTime ? await serverClock(client) : nowOf(row);
        const { result, states } = change(parse(row?.states), now);
        const kept = states === null ? undefined : pruned(states, now);
        if (kept === null || (kept === undefined && created)) {
          await client.query({
            name: 'lockwatch_window_delete',
            text: 'delete from lockwatch_window_state where key = $1',
            values: [key],
          });
        } else if (kept !== undefined) {
          await client.query({
            name: 'lockwatch_window_update',
            text: 'update lockwatch_window_state set states = $2, expires_at = $3 where key = $1',
            values: [key, JSON.stringify(kept.states), kept.expiresAt],
          });
        }
        return result;
      });
    },
    async read(key, answer) {
      const found = await pool.query<{ states: string | null; now: string }>({
        name: 'lockwatch_window_peek',
        // One statement, no transaction to bound its lock wait in: the client gives up instead.
        query_timeout: queryTimeoutMs,
        text: `select (select states from lockwatch_window_state where key = $1) as states, ${serverNow} as now`,
        values: [key],
      });
      const row = found.rows[0];
      return answer(parse(row?.states), nowOf(row));
    },
    async sweep(limit) {
      const now = serverTime ? null : clock.now();
      const result = await pool.query({
        name: 'lockwatch_window_sweep',
        query_timeout: queryTimeoutMs,
        text: `delete from lockwatch_window_state where key in (select key from lockwatch_window_state where expires_at <= coalesce($1::int8, ${serverNow}) limit $2 for update skip locked)`,
        values: [now, limit],
      });
      return result.rowCount ?? 0;
    },
  };
}
