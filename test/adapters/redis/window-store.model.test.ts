import { describe } from 'vitest';
import { windowStoreModelContract } from '../../contracts/window-store/model.ts';
import { clientTimeStore, redisTargets } from './harness.ts';

const { targets, missing } = redisTargets();

describe.runIf(targets.length > 0)(`Redis WindowStore${missing ? ` (${missing})` : ''}`, () => {
  for (const target of targets) {
    // Client time from the manual clock, moving forward only: Redis expires
    // keys on its own clock, which never goes back.
    windowStoreModelContract(target.name, (clock) => clientTimeStore(target, clock));
  }
});
