import { MikroORM } from '@mikro-orm/postgresql';
import { inject } from 'vitest';

/** What the global setup found for PostgreSQL tests. */
export interface PostgresService {
  /** URL of the server's `test` database, or null when there is none. */
  readonly url: string | null;
  /** Why it is missing (empty when it is there). */
  readonly missing: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresService: PostgresService;
  }
}

/** The PostgreSQL service of this test run (from test/setup/postgres.ts). */
export function postgresService(): PostgresService {
  return inject('postgresService') ?? { url: null, missing: 'no global setup ran' };
}

/** Runs one statement on `url` over a short-lived connection (MikroORM's driver, no entities). */
export async function adminQuery(url: string, sql: string): Promise<unknown[]> {
  const orm = await MikroORM.init({
    clientUrl: url,
    entities: [],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: 1 },
  });
  try {
    return await orm.em.getConnection().execute(sql);
  } finally {
    await orm.close(true);
  }
}

let counter = 0;

/** A fresh database on the test server, for one test file; `drop()` removes it. */
export interface TempDatabase {
  /** Its URL. */
  readonly url: string;
  /** Drops it (ending any connection still open to it). */
  drop(): Promise<void>;
}

/** Creates an empty database named after this process, for tests that must not see each other's rows. */
export async function createTempDatabase(baseUrl: string, label = 'lw'): Promise<TempDatabase> {
  counter += 1;
  const name = `${label}_${process.pid}_${Date.now().toString(36)}_${counter}`.toLowerCase();
  await adminQuery(baseUrl, `create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      await adminQuery(baseUrl, `drop database if exists ${name} with (force)`);
    },
  };
}
