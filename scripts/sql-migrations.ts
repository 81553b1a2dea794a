// Generates the next LockWatch SQL migration for SQLite and PostgreSQL from
// the entities in src/adapters/sql/entities.ts (a developer tool; not shipped).
//
//   node scripts/sql-migrations.ts <name>
//
// For each engine it applies the committed migrations to an empty database
// (SQLite in a temporary file; PostgreSQL in a scratch database on
// LOCKWATCH_TEST_POSTGRES_URL or 127.0.0.1:5432), lets MikroORM's migrator
// diff the entities against that schema, and writes the TypeScript it emits to
// src/adapters/sql/migrations/<engine>/. Add the new class to that folder's
// index.ts; the build compiles it into dist with the rest.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM as PostgresORM } from '@mikro-orm/postgresql';
import { MikroORM as SqliteORM } from '@mikro-orm/sqlite';
import { lockwatchEntities } from '../src/adapters/sql/entities.ts';
import { migrationsOf } from '../src/adapters/sql/migrations/index.ts';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: node scripts/sql-migrations.ts <name in lower_snake_case>');
  process.exit(2);
}
const folder = (engine: string) =>
  fileURLToPath(new URL(`../src/adapters/sql/migrations/${engine}`, import.meta.url));
const common = (engine: 'sqlite' | 'postgresql') => ({
  entities: [...lockwatchEntities],
  extensions: [Migrator],
  migrations: {
    tableName: 'lockwatch_migrations',
    path: folder(engine),
    pathTs: folder(engine),
    emit: 'ts' as const,
    snapshot: false,
    migrationsList: migrationsOf(engine),
    fileName: (timestamp: string, label?: string) => `Migration${timestamp}_${label}`,
  },
});

const dir = mkdtempSync(join(tmpdir(), 'lockwatch-migrations-'));
const sqlite = await SqliteORM.init({ dbName: join(dir, 'scratch.db'), ...common('sqlite') });
await sqlite.migrator.up();
const s = await sqlite.migrator.create(folder('sqlite'), false, false, name);
console.log(s.fileName ? `sqlite: ${s.fileName}` : 'sqlite: no change');
await sqlite.close();
rmSync(dir, { recursive: true, force: true });

const base = new URL(
  process.env.LOCKWATCH_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test',
);
const scratch = `lockwatch_migrations_${process.pid}`;
const admin = await PostgresORM.init({ clientUrl: base.href, entities: [...lockwatchEntities] });
await admin.em.getConnection().execute(`create database ${scratch}`);
try {
  const target = new URL(base.href);
  target.pathname = `/${scratch}`;
  const pg = await PostgresORM.init({ clientUrl: target.href, ...common('postgresql') });
  await pg.migrator.up();
  const r = await pg.migrator.create(folder('postgresql'), false, false, name);
  console.log(r.fileName ? `postgresql: ${r.fileName}` : 'postgresql: no change');
  await pg.close();
} finally {
  await admin.em.getConnection().execute(`drop database if exists ${scratch}`);
  await admin.close();
}
