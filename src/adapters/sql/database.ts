import type { MikroORM, Options } from '@mikro-orm/core';
import type { Migration, Migrator as MikroMigrator } from '@mikro-orm/migrations';
import { InvalidOptionError } from '../../domain/config/errors.ts';
import { integerOption } from '../../domain/config/validate.ts';
import { StoreUnavailableError } from '../../domain/failure/errors.ts';
import {
  defaultDatabaseUrl,
  describeTarget,
  parseDatabaseUrl,
  type SqlEngine,
  type SqlTarget,
} from './config.ts';
import { AuditLogEntry, lockwatchEntities, WindowStateEntry } from './entities.ts';
import { SqlDriverMissingError, SqlSchemaError } from './errors.ts';
import { type MigrationEntry, migrationsOf } from './migrations/index.ts';
import type { NativeClient, PostgresNative, SqliteNative } from './native.ts';
import { retryWithin } from './retry.ts';
import { checkTableShapes } from './schema-check.ts';
import { createSqliteWrites, registerSqliteWrites, waitsAsynchronously } from './sqlite-busy.ts';

/**
 * Internal option of {@link openSqlDatabase} for the `lockwatch migrate`
 * commands: no shape check on open, because each command runs the check
 * that fits it (`migrate up` the current schema, where it creates tables).
 * Not exported from the package.
 */
export const skipOpenShapeCheck: unique symbol = Symbol('lockwatch.sql.skip-open-shape-check');

/** What to do about LockWatch's migrations when a database is opened. */
export type MigrateOnOpen =
  /** Run pending migrations (the default on SQLite). */
  | 'auto'
  /** Fail with a SqlSchemaError naming the fix when any is pending (the default on PostgreSQL). */
  | 'check'
  /** Neither run nor check migrations; a table of LockWatch's name with another shape still fails. */
  | 'off';

/** Options of {@link openSqlDatabase}. */
export interface SqlDatabaseOptions {
  /**
   * Database URL: `sqlite:<path>`, `sqlite::memory:` or `postgres://...`
   * (its query settings, such as `sslmode`, passed to node-postgres; one it
   * would ignore is refused); `LOCKWATCH_DATABASE_URL` by default, else
   * `sqlite:lockwatch.db`.
   */
  readonly url?: string | undefined;
  /**
   * A MikroORM instance (SQLite or PostgreSQL driver) your application
   * already has: LockWatch uses its connection and leaves it open on
   * `close()`. Its entities are added if missing; on SQLite its journal
   * mode and `synchronous` setting are left as they are.
   */
  readonly orm?: MikroORM | undefined;
  /** Migrations on open: `auto` on SQLite, `check` on PostgreSQL by default. */
  readonly migrate?: MigrateOnOpen | undefined;
  /**
   * SQLite: how long a write waits for another process's lock, ms (0 to
   * 60,000; 5,000 by default). On a connection LockWatch opens, its writes
   * wait asynchronously (the event loop keeps serving); on an application's
   * connection this becomes the connection's busy timeout.
   */
  readonly busyTimeoutMs?: number | undefined;
  /** PostgreSQL: most pooled connections (1 to 1,000; 10 by default). */
  readonly poolSize?: number | undefined;
  /**
   * PostgreSQL: how long LockWatch's statements wait, ms (1 to 600,000;
   * 5,000 by default). In its transactions (window checks, token rotation,
   * audit batches and purges, migrations) the server cancels a lock wait
   * past it (`SET LOCAL lock_timeout`); a single statement (an audit query,
   * say), or a server that stopped answering, is given up client-side (the
   * connection is closed). On a pool LockWatch
   * creates, a connection is waited for at most this long (2 s at least).
   * The call fails with StoreUnavailableError.
   */
  readonly queryTimeoutMs?: number | undefined;
  /**
   * Extra MikroORM options for an instance LockWatch creates (logging, for
   * example); keys of its `driverOptions` win over the URL's settings.
   */
  readonly mikroOrm?: Partial<Options> | undefined;
}

/** Names of LockWatch's migrations on one database. */
export interface MigrationStatus {
  /** Applied, oldest first. */
  readonly executed: readonly string[];
  /** Not applied yet, oldest first. */
  readonly pending: readonly string[];
}

/** A database LockWatch's SQL adapters run on: one MikroORM instance, its connection and its migrations. */
export interface SqlDatabase {
  /** `sqlite` or `postgresql`. */
  readonly engine: SqlEngine;
  /** Where it is, for messages (no password). */
  readonly description: string;
  /** The MikroORM instance (created by LockWatch, or the one passed in). */
  readonly orm: MikroORM;
  /** The driver's own client that MikroORM holds: a better-sqlite3 Database or a pg Pool, tagged. */
  readonly native: NativeClient;
  /** PostgreSQL: the `queryTimeoutMs` LockWatch's statements run under. */
  readonly queryTimeoutMs: number;
  /** SQLite: the `busyTimeoutMs` LockWatch's writes wait for another process's lock. */
  readonly busyTimeoutMs: number;
  /**
   * Applies pending migrations; returns their names. First checks the
   * LockWatch tables that exist (a SqlSchemaError for one of another shape).
   */
  migrateUp(): Promise<string[]>;
  /**
   * Reverts the last applied migration (all of them with `{ all: true }`);
   * returns their names. First checks the tables as `migrateUp` does: a
   * table of LockWatch's name that is not LockWatch's is never dropped.
   */
  migrateDown(options?: { all?: boolean }): Promise<string[]>;
  /** Which migrations are applied and which are pending. */
  migrationStatus(): Promise<MigrationStatus>;
  /**
   * Throws a SqlSchemaError naming the fix when a LockWatch table that
   * exists has another shape, or when a migration is pending.
   */
  assertMigrated(): Promise<void>;
  /** Closes the MikroORM instance if LockWatch created it. */
  close(): Promise<void>;
}

/**
 * True for the errors of two processes migrating one database at once: a
 * lock the other holds, or a table (or type) it created between this one's
 * check and its create.
 */
function isMigrationRace(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    // SQLite busy; PostgreSQL: duplicate key (a catalog row the other created), duplicate table
    // or object, lock timeout, deadlock.
    if (
      typeof code === 'string' &&
      (code.startsWith('SQLITE_BUSY') ||
        ['23505', '42P07', '42710', '55P03', '40P01'].includes(code))
    ) {
      return true;
    }
    // MikroORM's migration runner may wrap the driver's error in one of its own, code and all.
    if (typeof message === 'string' && /already exists|database is locked/i.test(message)) {
      return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Longest a migration keeps retrying a race it lost, whatever the busy or query timeout. */
const migrationRaceMs = 10_000;

/**
 * Runs a migration step. Every process of an application migrates at start,
 * several at the same moment on a new database, and the CLI may migrate
 * while the application writes: an attempt that lost such a race (a lock the
 * other holds, a table it just created) is tried again after a pause, when
 * it finds the work done, for up to `waitMs`; any other error is thrown at
 * once. MikroORM runs each migration in a transaction that it rolls back on
 * the error, so a retry starts clean.
 */
async function alongsideOthers<T>(waitMs: number, step: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await step();
  } catch (error) {
    if (!isMigrationRace(error)) throw error;
    return retryWithin(started, waitMs, isMigrationRace, () => 10 + Math.random() * 40, step);
  }
}

/** Table where LockWatch records its applied migrations (apart from the application's own). */
export const migrationsTable = 'lockwatch_migrations';

/**
 * Opens a database for LockWatch's SQL adapters: creates a MikroORM
 * instance for the URL (loading only that engine's driver), or adopts the
 * one given; on SQLite sets the busy timeout (0 on its own connection,
 * whose writes wait asynchronously) and, on a connection it opened itself
 * only, WAL and `synchronous = NORMAL`; then runs or checks migrations as
 * `migrate` says. Whatever `migrate` says, a LockWatch table that exists
 * with another shape than its migrations create fails with a SqlSchemaError.
 */
export async function openSqlDatabase(options: SqlDatabaseOptions = {}): Promise<SqlDatabase> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object with url or orm');
  }
  const busyTimeoutMs = integerOption('busyTimeoutMs', options.busyTimeoutMs ?? 5000, 0, 60_000);
  const poolSize = integerOption('poolSize', options.poolSize ?? 10, 1, 1000);
  const queryTimeoutMs = integerOption(
    'queryTimeoutMs',
    options.queryTimeoutMs ?? 5000,
    1,
    600_000,
  );
  if (options.migrate !== undefined && !['auto', 'check', 'off'].includes(options.migrate)) {
    throw new InvalidOptionError('migrate', options.migrate, "one of 'auto', 'check', 'off'");
  }
  let orm: MikroORM;
  let owned: boolean;
  let target: SqlTarget | undefined;
  if (options.orm !== undefined) {
    if (typeof options.orm !== 'object' || options.orm === null || !('em' in options.orm)) {
      throw new InvalidOptionError('orm', options.orm, 'a MikroORM instance');
    }
    orm = options.orm;
    owned = false;
    if (orm.getMetadata().find(AuditLogEntry as never) === undefined) {
      orm.discoverEntity([...lockwatchEntities]);
    }
  } else {
    target = parseDatabaseUrl(
      options.url ?? process.env.LOCKWATCH_DATABASE_URL ?? defaultDatabaseUrl,
    );
    orm = await createOrm(target, poolSize, queryTimeoutMs, options.mikroOrm);
    owned = true;
  }
  const client = await (
    orm.em.fork().getConnection() as unknown as { getNativeClient(): Promise<unknown> }
  ).getNativeClient();
  const native: NativeClient =
    typeof (client as { pragma?: unknown }).pragma === 'function'
      ? { kind: 'sqlite', db: client as SqliteNative }
      : { kind: 'postgresql', pool: client as PostgresNative };
  const engine: SqlEngine = native.kind;
  const description = target
    ? describeTarget(target)
    : `${engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} (application's MikroORM)`;
  if (native.kind === 'sqlite') {
    const db = native.db;
    // Durability and journaling are the application's choice on its own connection: WAL, say,
    // leaves -wal and -shm files next to the database that its backups or tools may not expect.
    if (owned) {
      if (db.pragma('journal_mode', { simple: true }) !== 'memory') {
        db.pragma('journal_mode = WAL');
      }
      db.pragma('synchronous = NORMAL');
    }
    // A connection of LockWatch's own never sleeps in SQLite's busy handler (which would freeze
    // the event loop): its writers wait for another process's lock asynchronously instead, and it
    // keeps that when adopted again (`openSqlDatabase({ orm: db.orm })`). An application's
    // connection gets busyTimeoutMs as its busy timeout, a wait its other users expect.
    db.pragma(`busy_timeout = ${owned || waitsAsynchronously(db) ? 0 : busyTimeoutMs}`);
    if (owned) registerSqliteWrites(db, createSqliteWrites(busyTimeoutMs));
  }
  const { Migrator } = await import('@mikro-orm/migrations');
  // MikroORM looks for its migrations table in the configured schema, `public` unless set, while
  // the unqualified `create table` that made it went to the first schema of search_path: on a
  // connection whose search_path starts elsewhere, every open after the first failed with
  // "relation lockwatch_migrations already exists". It is looked for where the name resolves now
  // (an install made while the connection resolved to public keeps its table there), and a new
  // install puts it in current_schema(), beside the tables. Another schema the application
  // configured is left as it is.
  const migrationsSchema =
    native.kind === 'postgresql' && orm.config.get('schema') === 'public'
      ? await migrationsSchemaOf(native.pool, queryTimeoutMs)
      : undefined;

  const migrator = (): MikroMigrator =>
    lockwatchMigrator(orm, engine, queryTimeoutMs, Migrator, migrationsSchema);

  const raceMs = Math.max(engine === 'sqlite' ? busyTimeoutMs : queryTimeoutMs, migrationRaceMs);
  const status = (): Promise<MigrationStatus> =>
    alongsideOthers(raceMs, async () => {
      const m = migrator();
      // One after the other: each may create the migrations table on first use.
      const executed = await m.getExecuted();
      const pending = await m.getPending();
      return {
        executed: executed.map((row) => row.name),
        pending: pending.map((row) => row.name),
      };
    });

  // Before every migration step and on every open: `create table if not exists` would otherwise
  // take a table of the same name from something else as LockWatch's. Inside the step's retries,
  // as a read may meet another process's migration lock.
  const checkShapes = (resolved: boolean) =>
    checkTableShapes(native, description, queryTimeoutMs, resolved);

  const database: SqlDatabase = {
    engine,
    description,
    orm,
    native,
    queryTimeoutMs,
    busyTimeoutMs,
    async migrateUp() {
      return alongsideOthers(raceMs, async () => {
        await checkShapes(false);
        return (await migrator().up()).map((row) => row.name);
      });
    },
    async migrateDown(downOptions) {
      return alongsideOthers(raceMs, async () => {
        // Its drops resolve through search_path: check what they would reach.
        await checkShapes(true);
        const m = migrator();
        const reverted = downOptions?.all ? await m.down({ to: 0 }) : await m.down();
        return reverted.map((row) => row.name);
      });
    },
    migrationStatus: status,
    async assertMigrated() {
      // The shapes first: `migrate up`, which a pending migration's message asks for, would fail on them.
      await alongsideOthers(raceMs, () => checkShapes(true));
      const { pending } = await status();
      if (pending.length > 0) {
        throw new SqlSchemaError(
          `LockWatch's tables are not up to date on ${description}: ${pending.length} migration(s) pending (${pending.join(', ')}). ` +
            `Run \`npx lockwatch migrate up\` with LOCKWATCH_DATABASE_URL (or --url) set to this database, ` +
            `or call \`await db.migrateUp()\`, or open it with \`migrate: 'auto'\`.`,
        );
      }
    },
    async close() {
      if (owned) await orm.close(true);
    },
  };

  const mode = options.migrate ?? (engine === 'sqlite' ? 'auto' : 'check');
  try {
    if (mode === 'auto') await database.migrateUp();
    else if (mode === 'check') await database.assertMigrated();
    // An existing schema adopted as it is: LockWatch's statements need its tables' shapes all the same.
    else if ((options as { [skipOpenShapeCheck]?: boolean })[skipOpenShapeCheck] !== true) {
      await alongsideOthers(raceMs, () => checkShapes(true));
    }
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
  return database;
}

async function createOrm(
  target: SqlTarget,
  poolSize: number,
  queryTimeoutMs: number,
  extra: Partial<Options> | undefined,
): Promise<MikroORM> {
  const { Migrator } = await import('@mikro-orm/migrations');
  const common = {
    entities: [...lockwatchEntities],
    extensions: [Migrator],
    // LockWatch's entities are fixed; no metadata cache files next to the package.
    metadataCache: { enabled: false },
    ...extra,
  };
  try {
    if (target.engine === 'sqlite') {
      const { MikroORM } = await importDriver(
        '@mikro-orm/sqlite',
        () => import('@mikro-orm/sqlite'),
      );
      const orm = (await MikroORM.init({ ...common, dbName: target.file })) as unknown as MikroORM;
      try {
        // better-sqlite3 opens the file on first use: a missing folder would otherwise surface
        // later as a bare TypeError that does not say which path.
        await (
          orm.em.fork().getConnection() as unknown as { getNativeClient(): Promise<unknown> }
        ).getNativeClient();
      } catch (error) {
        await orm.close(true).catch(() => {});
        throw error;
      }
      return orm;
    }
    const { MikroORM } = await importDriver(
      '@mikro-orm/postgresql',
      () => import('@mikro-orm/postgresql'),
    );
    const orm = (await MikroORM.init({
      // MikroORM would create a database that does not exist: a typo in the URL would then
      // quietly start an empty audit log beside the real one.
      ensureDatabase: false,
      ...common,
      // pg waits for a connection without end by default: a server that accepts and never
      // answers, or a pool whose connections are all taken, would hang every caller. TLS and
      // SCRAM take a few round trips, hence the floor. MikroORM reads only host, port, user,
      // password, database and schema from the URL: its other settings (sslmode, host=,
      // application_name, options, ...) reach pg this way.
      driverOptions: underDriverOptions(extra?.driverOptions, {
        connectionTimeoutMillis: Math.max(queryTimeoutMs, 2000),
        ...(await postgresUrlOptions(target.url)),
      }) as Options['driverOptions'],
      clientUrl: target.url,
      pool: { min: 0, max: poolSize },
    })) as unknown as MikroORM;
    try {
      await orm.em.fork().getConnection().execute('select 1');
    } catch (error) {
      await orm.close(true).catch(() => {});
      const message = error instanceof Error ? error.message : String(error);
      throw new StoreUnavailableError(
        `Cannot connect to ${describeTarget(target)}: ${message}. Check the URL (LOCKWATCH_DATABASE_URL or --url) and that the server is running.`,
        { cause: error },
      );
    }
    return orm;
  } catch (error) {
    if (error instanceof StoreUnavailableError || error instanceof SqlDriverMissingError)
      throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StoreUnavailableError(`Cannot open ${describeTarget(target)}: ${message}`, {
      cause: error,
    });
  }
}

/**
 * The application's `driverOptions` with LockWatch's `defaults` under them
 * (the connection timeout, the URL's settings): merged into a plain object
 * (its own keys win, undefined ones do not count), wrapped around a function
 * that returns one; anything else (a Kysely instance) is the application's
 * choice and passes as it is.
 */
function underDriverOptions(given: unknown, defaults: Record<string, unknown>): unknown {
  const merge = (options: unknown): unknown => {
    if (options === undefined) return { ...defaults };
    if (typeof options !== 'object' || options === null) return options;
    const prototype = Object.getPrototypeOf(options);
    if (prototype !== Object.prototype && prototype !== null) return options;
    const own = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    return { ...defaults, ...own };
  };
  if (typeof given === 'function' && given.constructor.name !== 'AsyncFunction') {
    return () => merge((given as () => unknown)());
  }
  return merge(given);
}

/**
 * A PostgreSQL URL as node-postgres itself reads it (`pg-connection-string`,
 * which pg depends on): host, port, user, password and the query settings
 * {@link parseDatabaseUrl} lets through, sslmode as an `ssl` object.
 * It is found through `@mikro-orm/postgresql` and `pg`, so LockWatch needs
 * it as a dependency of its own in no install layout (pnpm's included).
 */
async function postgresUrlOptions(url: string): Promise<Record<string, unknown>> {
  const { createRequire } = await import('node:module');
  const driver = createRequire(import.meta.url).resolve('@mikro-orm/postgresql/package.json');
  const pg = createRequire(driver).resolve('pg');
  const { parseIntoClientConfig } = createRequire(pg)('pg-connection-string') as {
    parseIntoClientConfig(url: string): Record<string, unknown>;
  };
  // The database stays MikroORM's to pass: its own tooling (ensureDatabase, createDatabase)
  // connects to another database of the server with these same options.
  const { database: _database, ...settings } = parseIntoClientConfig(url);
  return settings;
}

/** Loads a MikroORM driver package; a missing one is an error that says what to install. */
async function importDriver<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: unknown })?.code === 'ERR_MODULE_NOT_FOUND') {
      throw new SqlDriverMissingError(
        `${name} is not installed: install it (npm install ${name}, the same version as @mikro-orm/core) to use this database URL.`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * The schema of the `lockwatch_migrations` an unqualified name reaches now,
 * else `current_schema()`; undefined when neither exists (no schema of the
 * search_path exists).
 */
async function migrationsSchemaOf(
  pool: PostgresNative,
  queryTimeoutMs: number,
): Promise<string | undefined> {
  const { rows } = await pool.query<{ schema: string | null }>({
    text: `select coalesce((select n.nspname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass($1)), current_schema()) as schema`,
    values: [migrationsTable],
    query_timeout: queryTimeoutMs,
  });
  return rows[0]?.schema ?? undefined;
}

/**
 * A MikroORM migrator for LockWatch's own migrations, whatever the
 * instance's own `migrations` settings: the settings are swapped in just for
 * the constructor, which captures them, so an application's migrations and
 * LockWatch's live side by side (in `lockwatch_migrations`).
 */
function lockwatchMigrator(
  orm: MikroORM,
  engine: SqlEngine,
  queryTimeoutMs: number,
  Migrator: new (em: never) => MikroMigrator,
  schema: string | undefined,
): MikroMigrator {
  const config = orm.config;
  const previous = config.get('migrations');
  const list = migrationsOf(engine);
  config.set('migrations', {
    tableName: migrationsTable,
    ...(schema === undefined ? {} : { schema }),
    migrationsList:
      engine === 'postgresql' ? list.map((entry) => underLockTimeout(entry, queryTimeoutMs)) : list,
    snapshot: false,
    silent: true,
    transactional: true,
    allOrNothing: true,
    emit: 'ts',
  });
  try {
    return new Migrator(orm.em.fork() as never);
  } finally {
    config.set('migrations', previous);
  }
}

/**
 * A PostgreSQL migration whose transaction gives up a lock wait after
 * `lockTimeoutMs` (`SET LOCAL lock_timeout`): an application's long
 * transaction on one of LockWatch's tables would otherwise hold `migrate`
 * (and every process opening the database with `migrate: 'auto'`) for as
 * long as it runs. The lock timeout counts as a lost race: the step is tried
 * again for a while, then fails naming the lock timeout.
 */
function underLockTimeout(entry: MigrationEntry, lockTimeoutMs: number): MigrationEntry {
  const Base = entry.class;
  // The migration's own up() and down() (declared abstract on Migration, so not through super).
  const { up, down } = Base.prototype as Migration;
  const statement = `set local lock_timeout = ${Math.trunc(lockTimeoutMs)}`;
  class Bounded extends Base {
    override up(): void | Promise<void> {
      this.addSql(statement);
      return up.call(this);
    }
    override down(): void | Promise<void> {
      this.addSql(statement);
      return down.call(this);
    }
  }
  return { name: entry.name, class: Bounded };
}

/** The table names, for messages and tests. */
export const tables = {
  audit: AuditLogEntry.meta.tableName,
  window: WindowStateEntry.meta.tableName,
} as const;
