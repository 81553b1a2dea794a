import { describe } from 'vitest';
import { cutoffContract } from './cutoff.ts';
import type { TokenStoreFactory } from './harness.ts';
import { lifecycleContract } from './lifecycle.ts';
import { revocationContract } from './revocation.ts';
import { rotationContract } from './rotation.ts';
import { sessionsContract } from './sessions.ts';

export type { TokenStoreFactory, TokenStoreHarness } from './harness.ts';
export { sessionAt, uniqueUser } from './harness.ts';

/**
 * The TokenStore contract: every adapter (memory, Redis, Redis Cluster,
 * SQLite, PostgreSQL, and wrappers) runs this one suite. Stores take time
 * from the calls; `create` gets the manual clock the tests use for them.
 */
export function tokenStoreContract(name: string, create: TokenStoreFactory): void {
  describe(`TokenStore contract: ${name}`, () => {
    sessionsContract(create);
    rotationContract(create);
    revocationContract(create);
    cutoffContract(create);
    lifecycleContract(create);
  });
}
