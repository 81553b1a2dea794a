import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineEntity, p } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM } from '@mikro-orm/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlAuditReader } from '../../../src/adapters/sql/audit-reader.ts';
import { createSqlAuditSink } from '../../../src/adapters/sql/audit-sink.ts';
import { parseDatabaseUrl } from '../../../src/adapters/sql/config.ts';
import { openSqlDatabase } from '../../../src/adapters/sql/database.ts';
import { lockwatchEntities } from '../../../src/adapters/sql/entities.ts';
import { SqlSchemaError } from '../../../src/adapters/sql/errors.ts';
import { migrationsOf } from '../../../src/adapters/sql/migrations/index.ts';
import type { SqliteNative } from '../../../src/adapters/sql/native.ts';
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import { StoreUnavailableError } from '../../../src/domain/failure/errors.ts';
import { auditRecord } from '../../contracts/audit/index.ts';
import {
  adminQuery,
  createTempDatabase,
  postgresService,
  type TempDatabase,
} from '../../support/postgres.ts';
import { postgresAvailable } from './harness.ts';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lockwatch-db-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('database URLs', () => {
  it('parses SQLite paths (relative, absolute, memory) and PostgreSQL URLs', () => {
    expect(parseDatabaseUrl('sqlite:data/a.db', 'url', '/srv')).toEqual({
      engine: 'sqlite',
      file: '/srv/data/a.db',
    });
    expect(parseDatabaseUrl('sqlite:///var/lib/a.db')).toEqual({
      engine: 'sqlite',
      file: '/var/lib/a.db',
    });
    expect(parseDatabaseUrl('sqlite::memory:')).toEqual({ engine: 'sqlite', file: ':memory:' });
    expect(parseDatabaseUrl('postgres://u:p@db:5432/app')).toEqual({
      engine: 'postgresql',
      url: 'postgresql://u:p@db:5432/app',
    });
  });

  it('refuses an unparsable URL or an unknown scheme at start-up, showing the accepted forms', async () => {
    for (const url of [
      '',
      'lockwatch.db',
      'mysql://root@db/app',
      'postgres://',
      'postgres://bad host/db',
      'sqlite:',
    ]) {
      const error = await openSqlDatabase({ url }).catch((e: unknown) => e);
      expect(error, url).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).toContain("'sqlite:<file path>'");
    }
    // A password holding `@`, `/` or `#` is never shown, whole or in part.
    for (const url of ['postgres://app:pa@ss/w#rd@bad host/db', 'mysql://app:s3@cr/et@db/app']) {
      const message = String(await openSqlDatabase({ url }).catch((e: unknown) => e));
      expect(message).toContain('app:***@');
      for (const part of ['pa@ss', 'w#rd', 's3@cr', 'et@db']) expect(message).not.toContain(part);
    }
    await expect(
      openSqlDatabase({ url: 'sqlite::memory:', migrate: 'never' as never }),
    ).rejects.toThrow(/Invalid option migrate/);
    for (const queryTimeoutMs of [0, -1, 600_001, 1.5, '5s' as never]) {
      await expect(openSqlDatabase({ url: 'sqlite::memory:', queryTimeoutMs })).rejects.toThrow(
        expect.objectContaining({ option: 'queryTimeoutMs' }),
      );
    }
  });

  it('refuses a PostgreSQL URL setting node-postgres would ignore, naming it, and keeps the ones it honours', () => {
    for (const setting of [
      'connect_timeout=5',
      'target_session_attrs=read-write',
      'schema=audit',
    ]) {
      const error = (() => {
        try {
          return parseDatabaseUrl(`postgres://app:s3cret@db/app?sslmode=require&${setting}`);
        } catch (e) {
          return e;
        }
      })();
      expect(error, setting).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe('url');
      expect((error as Error).message).toContain(`no '${setting.split('=')[0]}' setting`);
      expect((error as Error).message).not.toContain('s3cret');
    }
    // libpq's try-TLS-then-plain modes have no node-postgres equivalent: refused, saying what to pick.
    for (const mode of ['prefer', 'allow']) {
      expect(() => parseDatabaseUrl(`postgres://app@db/app?sslmode=${mode}`), mode).toThrow(
        /sslmode=require or verify-full \(TLS\), or sslmode=disable/,
      );
    }
    expect(parseDatabaseUrl('postgres://app@db/app?sslmode=disable').engine).toBe('postgresql');
    const url =
      'postgres://app@localhost/app?host=/run/postgresql&sslmode=verify-full&application_name=api&options=-c%20search_path%3Daudit';
    expect(parseDatabaseUrl(url)).toEqual({
      engine: 'postgresql',
      url: url.replace(/^postgres:/, 'postgresql:'),
    });
  });
});

describe('SQLite database', () => {
  it('sets WAL and synchronous NORMAL when it opens; its writes wait busyTimeoutMs, not SQLite', async () => {
    const db = await openSqlDatabase({
      url: `sqlite:${join(dir, 'pragmas.db')}`,
      busyTimeoutMs: 1234,
    });
    if (db.native.kind !== 'sqlite') throw new Error('expected SQLite');
    expect(db.native.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.native.db.pragma('synchronous', { simple: true })).toBe(1);
    // SQLite's busy handler sleeps inside the call: LockWatch's writes wait asynchronously instead.
    expect(db.native.db.pragma('busy_timeout', { simple: true })).toBe(0);
    expect(db.busyTimeoutMs).toBe(1234);
    await db.close();
  });

  it('an audit write gives up at once while another handle holds the write lock, never blocking the event loop', async () => {
    const file = join(dir, 'locked.db');
    // An application's connection with a minute of busy timeout: were the audit write to wait it
    // out, the synchronous driver would freeze the process past the test's timeout.
    const orm = await MikroORM.init({
      dbName: file,
      entities: [...lockwatchEntities],
      metadataCache: { enabled: false },
    });
    const app = await openSqlDatabase({ orm, busyTimeoutMs: 60_000, migrate: 'auto' });
    const other = await openSqlDatabase({ url: `sqlite:${file}` });
    if (app.native.kind !== 'sqlite' || other.native.kind !== 'sqlite') throw new Error('SQLite');
    other.native.db.exec('BEGIN IMMEDIATE');
    const sink = createSqlAuditSink(app);
    await expect(sink.write([auditRecord(1)])).rejects.toThrow();
    expect(app.native.db.pragma('busy_timeout', { simple: true })).toBe(60_000);
    other.native.db.exec('COMMIT');
    await sink.write([auditRecord(1)]);
    const page = await createSqlAuditReader(app).query({});
    expect(page.records).toHaveLength(1);
    await other.close();
    await orm.close(true);
  });

  it('lets a reader query while another handle holds the write lock', async () => {
    const url = `sqlite:${join(dir, 'shared.db')}`;
    const writer = await openSqlDatabase({ url });
    const reader = await openSqlDatabase({ url });
    await createSqlAuditSink(writer).write([auditRecord(1)]);
    if (writer.native.kind !== 'sqlite') throw new Error('expected SQLite');
    writer.native.db.exec('begin immediate');
    try {
      const started = performance.now();
      const page = await createSqlAuditReader(reader).query({});
      expect(page.records).toHaveLength(1);
      expect(performance.now() - started).toBeLessThan(500);
    } finally {
      writer.native.db.exec('rollback');
    }
    await reader.close();
    await writer.close();
  });

  it('migrates itself by default; with migrate off, a missing table is a clear error naming the fix', async () => {
    const url = `sqlite:${join(dir, 'fresh.db')}`;
    const bare = await openSqlDatabase({ url, migrate: 'off' });
    const write = await createSqlAuditSink(bare)
      .write([auditRecord(1)])
      .catch((e: unknown) => e);
    expect(write).toBeInstanceOf(SqlSchemaError);
    expect((write as Error).message).toContain('npx lockwatch migrate up');
    await bare.close();
    const checked = await openSqlDatabase({ url, migrate: 'check' }).catch((e: unknown) => e);
    expect(checked).toBeInstanceOf(SqlSchemaError);
    expect((checked as Error).message).toMatch(
      /\d+ migration\(s\) pending.*npx lockwatch migrate up/,
    );
    const auto = await openSqlDatabase({ url });
    expect(await auto.migrationStatus()).toMatchObject({ pending: [] });
    await auto.close();
  });

  it("runs on the application's own MikroORM instance, beside its entities and migrations, and leaves it open", async () => {
    const Note = defineEntity({
      name: 'Note',
      properties: { id: p.integer().primary(), text: p.text() },
    });
    const orm = await MikroORM.init({
      dbName: join(dir, 'app.db'),
      entities: [Note],
      extensions: [Migrator],
      migrations: { tableName: 'app_migrations', migrationsList: [] },
    });
    await orm.schema.create();
    const db = await openSqlDatabase({ orm });
    expect(db.engine).toBe('sqlite');
    await createSqlAuditSink(db).write([auditRecord(2)]);
    expect((await createSqlAuditReader(db).query({})).records).toHaveLength(1);
    await db.close();
    expect(await orm.isConnected()).toBe(true);
    const tables = await orm.em
      .fork()
      .getConnection()
      .execute<{ name: string }[]>(
        "select name from sqlite_master where type = 'table' and name like '%migrations' order by name",
      );
    expect(tables.map((t) => t.name)).toEqual(['lockwatch_migrations']);
    expect(orm.config.get('migrations').tableName).toBe('app_migrations');
    await orm.close();
  });
});

describe('SQLite database: what LockWatch leaves to the application', () => {
  it("leaves the journal mode and synchronous setting of an application's connection as they were", async () => {
    const orm = await MikroORM.init({
      dbName: join(dir, 'adopted-pragmas.db'),
      entities: [...lockwatchEntities],
      metadataCache: { enabled: false },
    });
    const app = await (
      orm.em.getConnection() as unknown as { getNativeClient(): Promise<SqliteNative> }
    ).getNativeClient();
    app.pragma('journal_mode = DELETE');
    app.pragma('synchronous = FULL');
    const db = await openSqlDatabase({ orm, busyTimeoutMs: 1234 });
    expect(app.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(app.pragma('synchronous', { simple: true })).toBe(2);
    // The busy timeout is still set: LockWatch's writes wait as the application's do.
    expect(app.pragma('busy_timeout', { simple: true })).toBe(1234);
    await createSqlAuditSink(db).write([auditRecord(1)]);
    expect((await createSqlAuditReader(db).query({})).records).toHaveLength(1);
    await db.close();
    await orm.close();
  });

  it('a file in a folder that does not exist fails naming the path', async () => {
    const file = join(dir, 'no-such-folder', 'lockwatch.db');
    const error = await openSqlDatabase({ url: `sqlite:${file}` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain(`Cannot open SQLite ${file}`);
    expect((error as Error).message).toMatch(/directory does not exist/);
  });

  it("migrates a database whose tables the application's own schema tooling created from lockwatchEntities", async () => {
    const file = join(dir, 'app-schema.db');
    const Note = defineEntity({
      name: 'Note',
      properties: { id: p.integer().primary(), text: p.text() },
    });
    const orm = await MikroORM.init({
      dbName: file,
      entities: [Note, ...lockwatchEntities],
      extensions: [Migrator],
      metadataCache: { enabled: false },
      // As docs/audit.md says: LockWatch's migration table is not the application's to drop.
      schemaGenerator: { skipTables: ['lockwatch_migrations'] },
    });
    await orm.schema.update();
    const started = performance.now();
    const db = await openSqlDatabase({ orm });
    // Not after the 10 s of retries an "already exists" error used to take.
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await db.migrationStatus()).toEqual({
      executed: migrationsOf('sqlite').map((m) => m.name),
      pending: [],
    });
    await createSqlAuditSink(db).write([auditRecord(4)]);
    expect((await createSqlAuditReader(db).query({})).records).toHaveLength(1);
    expect(await orm.schema.getUpdateSchemaSQL()).toBe('');
    await db.close();
    await orm.close();
  });

  it("an application that does not list LockWatch's entities keeps its schema diff off LockWatch's tables with skipTables", async () => {
    const file = join(dir, 'app-unlisted.db');
    const lockwatch = await openSqlDatabase({ url: `sqlite:${file}` });
    await lockwatch.close();
    const Note = defineEntity({
      name: 'Note',
      properties: { id: p.integer().primary(), text: p.text() },
    });
    const orm = await MikroORM.init({
      dbName: file,
      entities: [Note],
      metadataCache: { enabled: false },
      schemaGenerator: { skipTables: [/^lockwatch_/] },
    });
    expect(await orm.schema.getUpdateSchemaSQL()).not.toMatch(/lockwatch/);
    await orm.close();
  });

  it('names migrations by the name each declares, not by its class name (which minifiers rename)', () => {
    for (const engine of ['sqlite', 'postgresql'] as const) {
      const declared = migrationsOf(engine).map((m) => m.name);
      expect(declared.every((name) => /^Migration\d{14}_\w+$/.test(name))).toBe(true);
      const classes = migrationsOf(engine).map((m) => m.class);
      // What a minifier does to them.
      for (const [i, migration] of classes.entries()) {
        Object.defineProperty(migration, 'name', { value: `m${i}`, configurable: true });
      }
      try {
        expect(migrationsOf(engine).map((m) => m.name)).toEqual(declared);
      } finally {
        for (const [i, migration] of classes.entries()) {
          Object.defineProperty(migration, 'name', { value: declared[i], configurable: true });
        }
      }
    }
  });
});

const pg = postgresAvailable();
if (pg.available) {
  describe('PostgreSQL database: URL settings, missing databases, schema tooling, lock waits', () => {
    let temp: TempDatabase;
    beforeAll(async () => {
      temp = await createTempDatabase(postgresService().url!);
      const db = await openSqlDatabase({ url: temp.url, migrate: 'auto' });
      await db.close();
    });
    afterAll(async () => {
      await temp?.drop();
    });

    const withQuery = (query: string): string => {
      const url = new URL(temp.url);
      url.search = query;
      return url.href;
    };

    it("passes the URL's query settings to the driver (application_name, options); the application's driverOptions win", async () => {
      const db = await openSqlDatabase({
        url: withQuery('application_name=lw-url&options=-c%20statement_timeout%3D4321'),
      });
      try {
        if (db.native.kind !== 'postgresql') throw new Error('PostgreSQL expected');
        const { rows } = await db.native.pool.query<{ name: string; timeout: string }>(
          "select current_setting('application_name') as name, current_setting('statement_timeout') as timeout",
        );
        expect(rows[0]).toEqual({ name: 'lw-url', timeout: '4321ms' });
      } finally {
        await db.close();
      }
      const tuned = await openSqlDatabase({
        url: withQuery('application_name=from-url'),
        mikroOrm: { driverOptions: { application_name: 'from-code' } },
      });
      try {
        if (tuned.native.kind !== 'postgresql') throw new Error('PostgreSQL expected');
        const { rows } = await tuned.native.pool.query<{ name: string }>(
          "select current_setting('application_name') as name",
        );
        expect(rows[0]).toEqual({ name: 'from-code' });
      } finally {
        await tuned.close();
      }
    });

    it('honours sslmode=require: no unencrypted connection to a server without TLS', async () => {
      const [row] = (await adminQuery(temp.url, 'show ssl')) as { ssl: string }[];
      const error = await openSqlDatabase({ url: withQuery('sslmode=require') }).then(
        async (db) => {
          // A server with TLS: the connection must be encrypted.
          if (db.native.kind !== 'postgresql') throw new Error('PostgreSQL expected');
          const { rows } = await db.native.pool.query<{ ssl: boolean }>(
            'select ssl from pg_stat_ssl where pid = pg_backend_pid()',
          );
          await db.close();
          return rows[0]?.ssl;
        },
        (e: unknown) => e,
      );
      if (row?.ssl === 'off') {
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect((error as Error).message).toMatch(/does not support SSL/);
      } else {
        expect(error === true || error instanceof StoreUnavailableError).toBe(true);
      }
    });

    it('a database name that does not exist fails naming it, and is not created', async () => {
      const name = `${new URL(temp.url).pathname.slice(1)}_typo`;
      const url = new URL(temp.url);
      url.pathname = `/${name}`;
      url.password = 's3cret';
      try {
        const error = await openSqlDatabase({ url: url.href, migrate: 'off' }).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect((error as Error).message).toContain(`database "${name}" does not exist`);
        expect((error as Error).message).toMatch(/^Cannot connect to PostgreSQL postgresql:\/\//);
        expect((error as Error).message).not.toContain('s3cret');
        const found = await adminQuery(
          temp.url,
          `select 1 from pg_database where datname = '${name}'`,
        );
        expect(found).toEqual([]);
      } finally {
        await adminQuery(postgresService().url!, `drop database if exists ${name} with (force)`);
      }
    });

    it("migrates a database whose tables the application's own schema tooling created from lockwatchEntities", async () => {
      const fresh = await createTempDatabase(postgresService().url!);
      const { MikroORM: PostgresORM } = await import('@mikro-orm/postgresql');
      const orm = await PostgresORM.init({
        clientUrl: fresh.url,
        entities: [...lockwatchEntities],
        extensions: [Migrator],
        metadataCache: { enabled: false },
        schemaGenerator: { skipTables: ['lockwatch_migrations'] },
      });
      try {
        await orm.schema.update();
        const started = performance.now();
        const db = await openSqlDatabase({ orm: orm as never, migrate: 'auto' });
        expect(performance.now() - started).toBeLessThan(2000);
        expect((await db.migrationStatus()).pending).toEqual([]);
        await createSqlAuditSink(db).write([auditRecord(5)]);
        expect((await createSqlAuditReader(db).query({})).records).toHaveLength(1);
        expect(await orm.schema.getUpdateSchemaSQL()).toBe('');
        await db.close();
      } finally {
        await orm.close(true);
        await fresh.drop();
      }
    });

    it("a migration behind another session's lock on a LockWatch table gives up within the race window, not never", async () => {
      const queryTimeoutMs = 300;
      const db = await openSqlDatabase({ url: temp.url, queryTimeoutMs });
      const holder = await openSqlDatabase({ url: temp.url });
      if (holder.native.kind !== 'postgresql') throw new Error('PostgreSQL expected');
      const locker = await holder.native.pool.connect();
      try {
        await locker.query('begin');
        await locker.query('lock table lockwatch_sessions in access share mode');
        const started = performance.now();
        // Reverting the last migration drops lockwatch_sessions: it needs the lock the other holds.
        const error = await db.migrateDown().catch((e: unknown) => e);
        const elapsed = performance.now() - started;
        let cause: unknown = error;
        while ((cause as { code?: unknown })?.code !== '55P03' && cause !== undefined) {
          cause = (cause as { cause?: unknown }).cause;
        }
        expect(cause, String(error)).toMatchObject({ code: '55P03' });
        // Retried as a lost race for 10 s (the longer of that and queryTimeoutMs), then given up.
        expect(elapsed).toBeLessThan(10_000 + queryTimeoutMs + 2000);
      } finally {
        await locker.query('rollback');
        locker.release();
        await holder.close();
      }
      expect((await db.migrationStatus()).pending).toEqual([]);
      await db.close();
    }, 30_000);
  });
}

if (pg.available)
  describe('PostgreSQL database', () => {
    it('migrates an empty database up, down and up again, with status on each step', async () => {
      const temp = await createTempDatabase(postgresService().url!);
      try {
        const db = await openSqlDatabase({ url: temp.url, migrate: 'off' });
        const count = migrationsOf('postgresql').length;
        expect((await db.migrationStatus()).pending).toHaveLength(count);
        await expect(db.assertMigrated()).rejects.toBeInstanceOf(SqlSchemaError);
        expect(await db.migrateUp()).toHaveLength(count);
        expect(await db.migrationStatus()).toMatchObject({ pending: [] });
        await createSqlAuditSink(db).write([auditRecord(3)]);
        expect(await db.migrateDown({ all: true })).toHaveLength(count);
        expect((await db.migrationStatus()).executed).toEqual([]);
        const gone = await createSqlAuditReader(db)
          .query({})
          .catch((e: unknown) => e);
        expect(gone).toBeInstanceOf(SqlSchemaError);
        expect(await db.migrateUp()).toHaveLength(count);
        expect((await createSqlAuditReader(db).query({})).records).toEqual([]);
        await db.close();
        // The default on PostgreSQL is to check, not to migrate.
        await expect(openSqlDatabase({ url: temp.url })).resolves.toMatchObject({
          engine: 'postgresql',
        });
      } finally {
        await temp.drop();
      }
    });

    it('fails at start-up when the server cannot be reached, naming it without the password', async () => {
      const error = await openSqlDatabase({ url: 'postgres://app:s3cret@127.0.0.1:1/audit' }).catch(
        (e: unknown) => e,
      );
      expect((error as Error).message).toMatch(
        /^Cannot connect to PostgreSQL postgresql:\/\/app:\*\*\*@127\.0\.0\.1:1\/audit/,
      );
      expect((error as { code: string }).code).toBe('store_unavailable');
    });
  });
