import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisWindowStore,
  type RedisWindowStore,
} from '../../../src/adapters/redis/window-store.ts';
import { definePolicy, type PolicyOptions } from '../../../src/domain/ratelimit/policy.ts';
import { testPrefix } from '../../support/redis.ts';
import { redisTargets } from './harness.ts';

/**
 * Four processes fire 200 checks each at the same moment against one subject
 * with limit 100 (server time, hour-long window): the single script per check
 * must admit exactly 100 for gcra (burst 100), fixed-window and sliding-log,
 * and at most 100 for the sliding-window estimate.
 */

const workerPath = fileURLToPath(new URL('./workers/check-worker.ts', import.meta.url));
const workers = 4;
const perWorker = 200;
const limit = 100;
const windowMs = 3_600_000;

const cases: { policy: PolicyOptions; exact: boolean }[] = [
  { policy: { name: 'xp-gcra', limit, window: windowMs, burst: limit }, exact: true },
  // Fixed windows align to multiples of their length since the epoch: a year-long
  // one makes a round that straddles a boundary (and so admits twice) all but impossible.
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

function startWorker(options: unknown): Worker {
  const child = fork(workerPath, [JSON.stringify(options)], {
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

const { targets, missing } = redisTargets();

describe.runIf(targets.length > 0)(
  `Redis WindowStore across processes${missing ? ` (${missing})` : ''}`,
  () => {
    for (const target of targets) {
      describe(target.name, () => {
        const pool: Worker[] = [];
        let cleaner: RedisWindowStore;
        beforeAll(async () => {
          const options = { ...target.connection, prefix: testPrefix('xp') };
          cleaner = createRedisWindowStore(options);
          for (let i = 0; i < workers; i++) pool.push(startWorker(options));
          await Promise.all(pool.map(async (w) => expect((await w.next()).type).toBe('ready')));
        });
        afterAll(async () => {
          await cleaner.close();
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
            await cleaner.reset(subject, [definePolicy(policy)]);
            const admitted = results.reduce((sum, r) => sum + (r.admitted ?? 0), 0);
            expect(results.map((r) => r.failed)).toEqual([0, 0, 0, 0]);
            if (exact) expect(admitted).toBe(limit);
            else {
              expect(admitted).toBeLessThanOrEqual(limit);
              expect(admitted).toBeGreaterThan(0);
            }
          });
        }
      });
    }
  },
);
