import { describe } from 'vitest';
import { createRedisTokenStore } from '../../../src/adapters/redis/token-store.ts';
import { tokenStoreContract } from '../../contracts/token-store/index.ts';
import { testPrefix } from '../../support/redis.ts';
import { redisTargets } from './harness.ts';

const { targets, missing } = redisTargets();

describe.runIf(targets.length > 0)(
  `Redis TokenStore contract${missing ? ` (${missing})` : ''}`,
  () => {
    for (const target of targets) {
      tokenStoreContract(target.name, async () => ({
        store: createRedisTokenStore({ ...target.connection, prefix: testPrefix('tok') }),
      }));
    }
  },
);
