import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlWindowStore } from '../../../src/adapters/sql/window-store.ts';
import { definePolicy, type PolicyOptions } from '../../../src/domain/ratelimit/policy.ts';
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
const workers = 4;
const perWorker = 200;
const limit = 100;
const windowMs = 3_600_000;

const cases: { policy: PolicyOptions; exact: boolean }[] = [
  { policy: { name: 'xp-gcra', limit, window: windowMs, burst: limit }, exact: true },
  {
    policy: { name: 'xp-fixed', limit, window: 366 * 86_400_000, algorithm: 'fixed-window' },
    exact: true,
  },
  { policy: { name: 'xp-log', limit, window: windowMs, algorithm: 'sliding-log' }, exact: true },
  {
    policy: { name: 'xp-sliding', limit, window: windowMs, algorithm: 'sliding-window' },
    exact: false,
  },
];

interface Worker {
  readonly child: ChildProcess;
  next(): Promise<{ type: string; admitted?: number; failed?: number }>;
}

function startWorker(url: string): Worker {
  const child = fork(workerPath, [url], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queue: unknown[] = [];
  const waiting: ((message: unknown) => void)[] = [];
  child.on('message', (message) => {
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  return {
    child,
    next: () =>
      new Promise((resolve, reject) => {
        if (queue.length > 0) return resolve(queue.shift() as never);
        const onExit = (code: number | null) => reject(new Error(`worker exited with ${code}`));
        child.once('exit', onExit);
        waiting.push((message) => {
          child.off('exit', onExit);
          resolve(message as never);
        });
      }),
  };
}

function crossProcess(target: SqlTargetFixture) {
  const holder = useDatabase(target);
  const pool: Worker[] = [];
  beforeAll(async () => {
    for (let i = 0; i < workers; i++) pool.push(startWorker(target.url()));
    await Promise.all(pool.map(async (w) => expect((await w.next()).type).toBe('ready')));
  });
  afterAll(async () => {
    await Promise.all(
      pool.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null) return resolve();
            w.child.once('exit', () => resolve());
            w.child.send({ type: 'close' });
            setTimeout(() => w.child.kill(), 5000).unref();
          }),
      ),
    );
  });

  for (const { policy, exact } of cases) {
    it(`${policy.algorithm ?? 'gcra'}: ${workers} processes x ${perWorker} concurrent checks admit ${exact ? 'exactly' : 'at most'} ${limit}`, async () => {
      const subject = `one-subject-${Math.random().toString(36).slice(2)}`;
      const round = { type: 'round', subject, policy, count: perWorker };
      for (const w of pool) w.child.send(round);
      const results = await Promise.all(pool.map((w) => w.next()));
      const admitted = results.reduce((sum, r) => sum + (r.admitted ?? 0), 0);
      expect(results.map((r) => r.failed)).toEqual([0, 0, 0, 0]);
      if (exact) expect(admitted).toBe(limit);
      else {
        expect(admitted).toBeLessThanOrEqual(limit);
        expect(admitted).toBeGreaterThan(0);
      }
      // The state survives the processes: a new handle sees the subject exhausted.
      const store = createSqlWindowStore(holder.db);
      const after = await store.peek(subject, [definePolicy(policy)], 1);
      expect(after.remaining).toBe(exact ? 0 : after.remaining);
      if (exact) expect(after.allowed).toBe(false);
    });
  }
}

describe('SQL WindowStore across processes: SQLite file', () => crossProcess(sqliteTarget()));

const pg = postgresAvailable();
describe.runIf(pg.available)(`SQL WindowStore across processes: PostgreSQL${pg.note}`, () =>
  crossProcess(postgresTarget()),
);
