import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createSqlWindowStore } from '../../../src/adapters/sql/window-store.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import {
  type CheckWorker,
  crossProcessRounds,
  startCheckWorker,
  stopCheckWorkers,
  workers,
} from '../../support/cross-process.ts';
import {
  postgresAvailable,
  postgresTarget,
  type SqlTargetFixture,
  sqliteTarget,
  useDatabase,
} from './harness.ts';

/**
 * Four processes fire 200 checks each at the same moment against one subject
 * with limit 100 on one database: the locked transaction per check must
 * admit exactly 100 for gcra (burst 100), fixed-window and sliding-log, and
 * at most 100 for the sliding-window estimate. On SQLite the four processes
 * share one file (WAL, busy timeout); on PostgreSQL they use database time.
 */

const workerPath = fileURLToPath(new URL('./workers/check-worker.ts', import.meta.url));

function crossProcess(target: SqlTargetFixture) {
  const holder = useDatabase(target);
  const pool: CheckWorker[] = [];
  beforeAll(async () => {
    for (let i = 0; i < workers; i++) pool.push(startCheckWorker(workerPath, target.url()));
    await Promise.all(pool.map(async (w) => expect((await w.next()).type).toBe('ready')));
  });
  afterAll(() => stopCheckWorkers(pool));
  crossProcessRounds(pool, async (subject, policy, exact) => {
    // The state survives the processes: a new handle sees the subject exhausted.
    const store = createSqlWindowStore(holder.db);
    const after = await store.peek(subject, [definePolicy(policy)], 1);
    if (exact) expect(after).toMatchObject({ allowed: false, remaining: 0 });
  });
}

describe('SQL WindowStore across processes: SQLite file', () => crossProcess(sqliteTarget()));

const pg = postgresAvailable();
describe.runIf(pg.available)(`SQL WindowStore across processes: PostgreSQL${pg.note}`, () =>
  crossProcess(postgresTarget()),
);
