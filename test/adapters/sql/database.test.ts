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
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import { auditRecord } from '../../contracts/audit/index.ts';
import { createTempDatabase, postgresService } from '../../support/postgres.ts';
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

const pg = postgresAvailable();
describe.runIf(pg.available)(`PostgreSQL database${pg.note}`, () => {
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
