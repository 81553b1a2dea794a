import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import {
  createRedisWindowStore,
  type RedisWindowStore,
} from '../../../src/adapters/redis/window-store.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import {
  type CheckWorker,
  crossProcessRounds,
  startCheckWorker,
  stopCheckWorkers,
  workers,
} from '../../support/cross-process.ts';
import { testPrefix } from '../../support/redis.ts';
import { redisTargets } from './harness.ts';

/**
 * Four processes fire 200 checks each at the same moment against one subject
 * with limit 100 (server time, hour-long window): the single script per check
 * must admit exactly 100 for gcra (burst 100), fixed-window and sliding-log,
 * and at most 100 for the sliding-window estimate.
 */

const workerPath = fileURLToPath(new URL('./workers/check-worker.ts', import.meta.url));
const { targets, missing } = redisTargets();

describe.runIf(targets.length > 0)(
  `Redis WindowStore across processes${missing ? ` (${missing})` : ''}`,
  () => {
    for (const target of targets) {
      describe(target.name, () => {
        const pool: CheckWorker[] = [];
        let cleaner: RedisWindowStore;
        beforeAll(async () => {
          const options = { ...target.connection, prefix: testPrefix('xp') };
          cleaner = createRedisWindowStore(options);
          for (let i = 0; i < workers; i++) {
            pool.push(startCheckWorker(workerPath, JSON.stringify(options)));
          }
          await Promise.all(pool.map(async (w) => expect((await w.next()).type).toBe('ready')));
        });
        afterAll(async () => {
          await cleaner.close();
          await stopCheckWorkers(pool);
        });
        crossProcessRounds(pool, (subject, policy) =>
          cleaner.reset(subject, [definePolicy(policy)]),
        );
      });
    }
  },
);
