import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlAuditReader } from '../../../src/adapters/sql/audit-reader.ts';
import { createSqlAuditSink } from '../../../src/adapters/sql/audit-sink.ts';
import { postgresColumnType } from '../../../src/adapters/sql/column-types.ts';
import { type MigrateOnOpen, openSqlDatabase } from '../../../src/adapters/sql/database.ts';
import { SqlSchemaMismatchError } from '../../../src/adapters/sql/errors.ts';
import { shapeProblems } from '../../../src/adapters/sql/schema-check.ts';
import { inspectTables } from '../../../src/adapters/sql/schema-inspect.ts';
import { expectedTables } from '../../../src/adapters/sql/schema-shape.ts';
import { auditRecord } from '../../contracts/audit/index.ts';
import { adminQuery, createTempDatabase, postgresService } from '../../support/postgres.ts';
import { cli } from './cli-runner.ts';
import { postgresAvailable } from './harness.ts';

/** A database of one test's own. */
interface Fresh {
  readonly url: string;
  /** Runs statements over a connection of their own (not LockWatch's, which would check the shapes). */
  sql(statement: string): Promise<unknown[]>;
  drop(): Promise<void>;
}

/** One engine the tests run on. */
interface Engine {
  readonly name: string;
  fresh(): Promise<Fresh>;
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lockwatch-shape-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
const sqlite: Engine = {
  name: 'SQLite',
  async fresh() {
    const file = join(dir, `shape-${++files}.db`);
    return {
      url: `sqlite:${file}`,
      async sql(statement) {
        const orm = await MikroORM.init({
          dbName: file,
          entities: [],
          discovery: { warnWhenNoEntities: false },
        });
        try {
          return await orm.em.getConnection().execute(statement);
        } finally {
          await orm.close(true);
        }
      },
      async drop() {},
    };
  },
};

const postgres: Engine = {
  name: 'PostgreSQL',
  async fresh() {
    const temp = await createTempDatabase(postgresService().url!, 'lw_shape');
    return { url: temp.url, sql: (statement) => adminQuery(temp.url, statement), drop: temp.drop };
  },
};

/** Runs `test` on a new database, dropped after. */
async function withFresh(engine: Engine, test: (db: Fresh) => Promise<void>): Promise<void> {
  const db = await engine.fresh();
  try {
    await test(db);
  } finally {
    await db.drop();
  }
}

/** The error of opening `url` with `migrate`, or undefined when it opened. */
async function openError(url: string, migrate: MigrateOnOpen): Promise<unknown> {
  const started = performance.now();
  try {
    const db = await openSqlDatabase({ url, migrate });
    await db.close();
    return undefined;
  } catch (error) {
    // Refused at once, not retried for 10 s as a lost migration race.
    expect(performance.now() - started).toBeLessThan(3000);
    return error;
  }
}

/** Expects opening `url` in every mode to fail with a SqlSchemaMismatchError about `table` saying `problem`. */
async function expectRefused(url: string, table: string, problem: RegExp): Promise<void> {
  for (const migrate of ['auto', 'check', 'off'] as const) {
    const error = await openError(url, migrate);
    expect(error, migrate).toBeInstanceOf(SqlSchemaMismatchError);
    expect((error as SqlSchemaMismatchError).code, migrate).toBe('sql_schema_mismatch');
    const message = (error as Error).message;
    expect(message, migrate).toContain(`table ${table}: `);
    expect(message, migrate).toMatch(problem);
    expect(message, migrate).toMatch(/Expected \(as LockWatch's migrations create it\): .*Found: /);
    expect(message, migrate).toContain('Rename or drop each table above');
  }
}

/** Tables of LockWatch's names as another program might have made them, and what the check says. */
const strangers: readonly { table: string; create: string; row: string; problem: RegExp }[] = [
  {
    // LockWatch's columns exactly, but no primary key: its `on conflict (key)` upsert would fail
    // on the first request, and the `open` failure policy would admit every request.
    table: 'lockwatch_window_state',
    create: 'create table lockwatch_window_state (key text, states text, expires_at bigint)',
    row: "insert into lockwatch_window_state (key, states, expires_at) values ('k', '{}', 1)",
    problem: /primary key is missing, not \(key\)/,
  },
  {
    table: 'lockwatch_audit_log',
    create:
      'create table lockwatch_audit_log (id integer primary key, message text not null, created_at bigint not null)',
    row: "insert into lockwatch_audit_log (id, message, created_at) values (1, 'm', 1)",
    problem:
      /column ip is missing.*extra column message is not null without a default.*Found: id integer/i,
  },
  {
    table: 'lockwatch_sessions',
    create:
      'create table lockwatch_sessions (id text primary key, user_id text not null, token text, expires_at bigint not null)',
    row: "insert into lockwatch_sessions (id, user_id, expires_at) values ('s', 'u', 1)",
    problem: /column family_hash is missing.*primary key is \(id\), not \(user_id, id\)/,
  },
  {
    table: 'lockwatch_token_marks',
    create:
      'create table lockwatch_token_marks (user_id text not null, kind text not null, id text not null, expires_at bigint not null, primary key (id))',
    row: "insert into lockwatch_token_marks (user_id, kind, id, expires_at) values ('u', 'deny', 'j', 1)",
    problem: /primary key is \(id\), not \(user_id, kind, id\)/,
  },
  {
    table: 'lockwatch_user_cutoffs',
    create:
      'create table lockwatch_user_cutoffs (user_id text primary key, cutoff_at text not null, expires_at text not null)',
    row: "insert into lockwatch_user_cutoffs (user_id, cutoff_at, expires_at) values ('u', 'x', 'y')",
    problem: /column cutoff_at is text, not bigint; column expires_at is text, not bigint/i,
  },
];

function run(engine: Engine) {
  it.each(strangers)(
    "refuses a $table that was there before LockWatch's migrations, in every migrate mode, and leaves it as it was",
    async ({ table, create, row, problem }) => {
      await withFresh(engine, async (db) => {
        await db.sql(create);
        await db.sql(row);
        const before = await db.sql(`select * from ${table}`);
        await expectRefused(db.url, table, problem);
        expect(await db.sql(`select * from ${table}`)).toEqual(before);
        // No migration ran over it.
        const made = await db.sql(
          engine === sqlite
            ? "select name from sqlite_master where name like 'lockwatch%' and type = 'table'"
            : "select tablename as name from pg_tables where tablename like 'lockwatch%'",
        );
        expect(made).toEqual([{ name: table }]);
      });
    },
  );

  it('a database LockWatch migrated reopens in every mode; once one of its tables is swapped for another, it does not', async () => {
    await withFresh(engine, async (db) => {
      const first = await openSqlDatabase({ url: db.url, migrate: 'auto' });
      await createSqlAuditSink(first).write([auditRecord(1)]);
      await first.close();
      for (const migrate of ['auto', 'check', 'off'] as const) {
        const again = await openSqlDatabase({ url: db.url, migrate });
        expect((await createSqlAuditReader(again).query({})).records, migrate).toHaveLength(1);
        await again.close();
      }
      // As an earlier LockWatch, with no check, would have recorded its migration over it.
      await db.sql('drop table lockwatch_window_state');
      await db.sql('create table lockwatch_window_state (key text primary key, hits integer)');
      await expectRefused(
        db.url,
        'lockwatch_window_state',
        /column states is missing; column expires_at is missing/,
      );
    });
  });

  it('tolerates extra columns that are nullable or have a default, not one that is neither, nor not null where LockWatch stores null', async () => {
    await withFresh(engine, async (db) => {
      const first = await openSqlDatabase({ url: db.url, migrate: 'auto' });
      await first.close();
      await db.sql('alter table lockwatch_audit_log add column tenant text');
      await db.sql("alter table lockwatch_audit_log add column region text not null default 'eu'");
      const tolerant = await openSqlDatabase({ url: db.url, migrate: 'check' });
      await createSqlAuditSink(tolerant).write([auditRecord(2)]);
      await tolerant.close();

      if (engine === sqlite) {
        // SQLite cannot add a not-null column without a default: the table is made anew.
        await db.sql('drop table lockwatch_user_cutoffs');
        await db.sql(
          'create table lockwatch_user_cutoffs (user_id text not null primary key, cutoff_at bigint not null, expires_at bigint not null, note text not null)',
        );
      } else {
        await db.sql('alter table lockwatch_user_cutoffs add column note text not null');
      }
      await expectRefused(
        db.url,
        'lockwatch_user_cutoffs',
        /extra column note is not null without a default/,
      );
    });
  });

  it("refuses a not-null column where LockWatch stores null (a session's data)", async () => {
    await withFresh(engine, async (db) => {
      await db.sql(
        "create table lockwatch_sessions (user_id text not null, id text not null, family_hash text not null, refresh_hash text not null, previous_hash text null, rotated_at bigint null, generation integer not null, created_at bigint not null, last_used_at bigint not null, expires_at bigint not null, ip text null, user_agent text null, last_ip text null, data text not null default '', reused_at bigint null, primary key (user_id, id))",
      );
      await expectRefused(
        db.url,
        'lockwatch_sessions',
        /column data is not null, but LockWatch stores null in it/,
      );
    });
  });

  it("migrating down refuses to drop a table of LockWatch's name that is not LockWatch's", async () => {
    await withFresh(engine, async (db) => {
      const lockwatch = await openSqlDatabase({ url: db.url, migrate: 'auto' });
      try {
        await db.sql('drop table lockwatch_audit_log');
        await db.sql('create table lockwatch_audit_log (id text primary key, body text)');
        await db.sql("insert into lockwatch_audit_log (id, body) values ('a', 'theirs')");
        const error = await lockwatch.migrateDown({ all: true }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SqlSchemaMismatchError);
        expect((error as Error).message).toContain('table lockwatch_audit_log: ');
        expect(await db.sql('select body from lockwatch_audit_log')).toEqual([{ body: 'theirs' }]);
      } finally {
        await lockwatch.close();
      }
    });
  });

  it('lockwatch migrate status lists the migrations, then reports a table of another shape; migrate up refuses it', async () => {
    await withFresh(engine, async (db) => {
      await db.sql(strangers[0]!.create);
      const status = await cli(['migrate', 'status', '--url', db.url]);
      expect(status.code).toBe(1);
      expect(status.stdout).toMatch(/pending {2}Migration\d+_init\n/);
      expect(status.stderr).toContain('table lockwatch_window_state: primary key is missing');
      const up = await cli(['migrate', 'up', '--url', db.url]);
      expect(up.code).toBe(1);
      expect(up.stderr).toContain('table lockwatch_window_state: ');
      // A database without such a table: the list, and nothing on stderr.
      await db.sql('drop table lockwatch_window_state');
      const clean = await cli(['migrate', 'status', '--url', db.url]);
      expect(clean).toMatchObject({ code: 0, stderr: '' });
      expect(clean.stdout).toMatch(/\d+ pending\n$/);
    });
  });

  it("the expected shapes are what LockWatch's migrations create, column by column", async () => {
    await withFresh(engine, async (db) => {
      const lockwatch = await openSqlDatabase({ url: db.url, migrate: 'auto' });
      try {
        const found = await inspectTables(
          lockwatch.native,
          expectedTables.map((t) => t.name),
          5000,
          false,
        );
        for (const expected of expectedTables) {
          const table = found.get(expected.name);
          expect(table, expected.name).toBeDefined();
          expect(shapeProblems(lockwatch.engine, expected, table!), expected.name).toEqual([]);
          const columns = table!.columns.map((c) => ({
            name: c.name,
            type: lockwatch.engine === 'sqlite' ? c.type.toLowerCase() : postgresColumnType(c.type),
            nullable: !c.notNull,
          }));
          expect(columns, expected.name).toEqual(
            expected.columns.map((c) => ({
              name: c.name,
              type:
                lockwatch.engine === 'sqlite' ? c.sqlite : postgresColumnType(c[lockwatch.engine]),
              nullable: c.nullable,
            })),
          );
          const key = table!.columns
            .filter((c) => c.primaryKeyPosition > 0)
            .sort((a, b) => a.primaryKeyPosition - b.primaryKeyPosition)
            .map((c) => c.name);
          expect(key, expected.name).toEqual(expected.primaryKey);
        }
      } finally {
        await lockwatch.close();
      }
    });
  });
}

describe('SQLite: tables of LockWatch names with another shape', () => {
  run(sqlite);

  it("refuses such a table on an application's own MikroORM too, and leaves its connection open", async () => {
    await withFresh(sqlite, async (db) => {
      await db.sql('create table lockwatch_window_state (id integer primary key, hits integer)');
      const orm = await MikroORM.init({
        dbName: db.url.slice('sqlite:'.length),
        entities: [],
        discovery: { warnWhenNoEntities: false },
      });
      try {
        const error = await openSqlDatabase({ orm }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SqlSchemaMismatchError);
        expect((error as Error).message).toContain('table lockwatch_window_state: ');
        expect((error as Error).message).toContain("(application's MikroORM)");
        expect(await orm.isConnected()).toBe(true);
      } finally {
        await orm.close(true);
      }
    });
  });
});

const pg = postgresAvailable();
describe.runIf(pg.available)(
  `PostgreSQL: tables of LockWatch names with another shape${pg.note}`,
  () => {
    run(postgres);

    it('refuses a narrower type than LockWatch keeps in a column (int4 epoch ms, varchar(32) keys)', async () => {
      await withFresh(postgres, async (db) => {
        await db.sql(
          'create table lockwatch_window_state (key varchar(32) primary key, states text not null, expires_at integer not null)',
        );
        await expectRefused(
          db.url,
          'lockwatch_window_state',
          /column key is character varying\(32\), not varchar\(64\); column expires_at is integer, not bigint/,
        );
      });
    });

    it("checks the schema LockWatch's migrations would create in, not another one on the search path", async () => {
      await withFresh(postgres, async (db) => {
        // A stranger in another schema: LockWatch creates its own table in public beside it.
        await db.sql('create schema other');
        await db.sql('create table other.lockwatch_window_state (id integer primary key)');
        const lockwatch = await openSqlDatabase({ url: db.url, migrate: 'auto' });
        await lockwatch.close();
        expect(
          await db.sql(
            "select schemaname from pg_tables where tablename = 'lockwatch_window_state' order by 1",
          ),
        ).toEqual([{ schemaname: 'other' }, { schemaname: 'public' }]);
      });
    });

    /** `url` with the connection's search_path set to `path` (a libpq `options` setting). */
    const withSearchPath = (url: string, path: string) =>
      `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${path}`)}`;

    it('finds its tables and its migrations in a current schema whose name has capitals, open after open', async () => {
      await withFresh(postgres, async (db) => {
        await db.sql('create schema "LockWatch"');
        const url = withSearchPath(db.url, '"LockWatch"');
        // The second auto is a restart: MikroORM looked for the migrations table in public.
        for (const migrate of ['auto', 'off', 'check', 'auto'] as const) {
          const lockwatch = await openSqlDatabase({ url, migrate });
          await lockwatch.close();
        }
        expect(
          await db.sql(
            "select count(*)::int as n from pg_tables where schemaname = 'LockWatch' and tablename like 'lockwatch_%'",
          ),
        ).toEqual([{ n: 6 }]);
        await db.sql('drop table "LockWatch".lockwatch_window_state');
        await db.sql('create table "LockWatch".lockwatch_window_state (id integer primary key)');
        await expectRefused(url, 'lockwatch_window_state', /column key is missing/);
      });
    });

    it('an install made while the connection resolved to public stays in use once another schema comes first', async () => {
      await withFresh(postgres, async (db) => {
        const installed = await openSqlDatabase({ url: db.url, migrate: 'auto' });
        await installed.close();
        await db.sql('create schema app');
        const url = withSearchPath(db.url, 'app,public');
        for (const migrate of ['check', 'auto'] as const) {
          const lockwatch = await openSqlDatabase({ url, migrate });
          expect((await lockwatch.migrationStatus()).pending, migrate).toEqual([]);
          await lockwatch.close();
        }
        // Nothing was created a second time in app: LockWatch's statements still reach public's tables.
        expect(await db.sql("select tablename from pg_tables where schemaname = 'app'")).toEqual(
          [],
        );
      });
    });

    it('without migrating, checks the table its names reach through search_path', async () => {
      await withFresh(postgres, async (db) => {
        // LockWatch's tables in public, but the window table is a stranger's; `app` comes first and is empty.
        const plain = await openSqlDatabase({ url: db.url, migrate: 'auto' });
        await plain.close();
        await db.sql('drop table public.lockwatch_window_state');
        await db.sql('create table public.lockwatch_window_state (key text, state text)');
        await db.sql('create schema app');
        const url = withSearchPath(db.url, 'app,public');
        for (const migrate of ['off', 'check'] as const) {
          const error = await openError(url, migrate);
          expect(error, migrate).toBeInstanceOf(SqlSchemaMismatchError);
          expect((error as Error).message, migrate).toContain('table lockwatch_window_state: ');
        }
      });
    });
  },
);
