import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openSqlDatabase, type SqlDatabase } from '../../../src/adapters/sql/database.ts';
import { createTempDatabase, postgresService } from '../../support/postgres.ts';

/** One database engine the SQL adapter tests run against. */
export interface SqlTargetFixture {
  /** Label for test names. */
  readonly name: string;
  /** URL of a database of this test file's own, migrated (valid inside tests and hooks). */
  readonly url: () => string;
  /** Opens another handle on the same database. */
  open(): Promise<SqlDatabase>;
}

/** A fresh SQLite file in a temporary folder for this test file. */
export function sqliteTarget(): SqlTargetFixture {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lockwatch-sql-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const url = () => `sqlite:${join(dir, 'test.db')}`;
  return {
    name: 'SQLite file',
    url,
    open: () => openSqlDatabase({ url: url(), migrate: 'auto' }),
  };
}

/** A fresh PostgreSQL database for this test file, migrated once, dropped after. */
export function postgresTarget(): SqlTargetFixture {
  let url = '';
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const base = postgresService().url;
    if (base === null) throw new Error('no PostgreSQL for this test run');
    const temp = await createTempDatabase(base);
    url = temp.url;
    drop = temp.drop;
    const db = await openSqlDatabase({ url, migrate: 'off' });
    await db.migrateUp();
    await db.close();
  });
  afterAll(async () => {
    await drop?.();
  });
  return {
    name: 'PostgreSQL',
    url: () => url,
    open: () => openSqlDatabase({ url, migrate: 'check', poolSize: 4 }),
  };
}

/** Whether PostgreSQL tests run, and the note for their titles when they do not. */
export function postgresAvailable(): { available: boolean; note: string } {
  const service = postgresService();
  return {
    available: service.url !== null,
    note: service.url === null ? ` (skipped: ${service.missing})` : '',
  };
}

/** One database handle shared by the tests of a describe block, opened before them and closed after. */
export function useDatabase(target: SqlTargetFixture): { readonly db: SqlDatabase } {
  const holder = {} as { db: SqlDatabase };
  beforeAll(async () => {
    holder.db = await target.open();
  });
  afterAll(async () => {
    await holder.db?.close();
  });
  return holder;
}
