import { describe } from 'vitest';
import { windowStoreContract } from '../../contracts/window-store/index.ts';
import { clientTimeStore, redisTargets } from './harness.ts';

const { targets, missing } = redisTargets();

describe.runIf(targets.length > 0)(
  `Redis WindowStore contract${missing ? ` (${missing})` : ''}`,
  () => {
    for (const target of targets) {
      windowStoreContract(`${target.name}, client time`, async (clock) => ({
        store: clientTimeStore(target, clock),
      }));
    }
  },
);
