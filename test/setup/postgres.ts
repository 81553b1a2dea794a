import type { TestProject } from 'vitest/node';
import { adminQuery } from '../support/postgres.ts';

/**
 * Test service for the SQL adapters: the machine's PostgreSQL
 * (127.0.0.1:5432, database `test`, or LOCKWATCH_TEST_POSTGRES_URL). With CI
 * set a missing server fails the run; elsewhere PostgreSQL tests are skipped
 * with the reason printed once here. Tests make databases of their own on it
 * (see test/support/postgres.ts).
 */
export default async function setup(project: TestProject): Promise<void> {
  const url =
    process.env.LOCKWATCH_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
  let missing = '';
  try {
    await adminQuery(url, 'select 1');
  } catch (error) {
    missing = `no PostgreSQL at ${url.replace(/:[^:@/]*@/, ':***@')} (${(error as Error).message})`;
  }
  if (missing !== '') {
    const message = `PostgreSQL test service missing: ${missing}. Install PostgreSQL (Debian: apt-get install postgresql), start it on 127.0.0.1:5432 with trust auth for user postgres and a database named test, or set LOCKWATCH_TEST_POSTGRES_URL.`;
    if (process.env.CI) throw new Error(message);
    console.warn(`${message} PostgreSQL tests are skipped in this run.`);
  }
  project.provide('postgresService', { url: missing === '' ? url : null, missing });
}
