import { describe } from 'vitest';
import { badArgumentsContract } from './bad-arguments.ts';
import { fixedWindowContract } from './fixed-window.ts';
import { gcraContract } from './gcra.ts';
import type { WindowStoreFactory } from './harness.ts';
import { lifecycleContract } from './lifecycle.ts';
import { multiPolicyContract } from './multi-policy.ts';
import { slidingLogContract } from './sliding-log.ts';
import { slidingWindowContract } from './sliding-window.ts';
import { synchronousContract } from './synchronous.ts';

export type { WindowStoreFactory, WindowStoreHarness } from './harness.ts';
export { uniqueSubject } from './harness.ts';

/**
 * The WindowStore contract: every adapter (memory, Redis, Redis Cluster, SQL,
 * and every wrapper) runs this one suite. `create` is called once per test
 * with a fresh manual clock that the store must read its time from.
 */
export function windowStoreContract(name: string, create: WindowStoreFactory): void {
  describe(`WindowStore contract: ${name}`, () => {
    gcraContract(create);
    fixedWindowContract(create);
    slidingWindowContract(create);
    slidingLogContract(create);
    multiPolicyContract(create);
    lifecycleContract(create);
    badArgumentsContract(create);
    synchronousContract(create);
  });
}
