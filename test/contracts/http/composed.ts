/** A LockWatch composed on memory stores and a manual clock, for the guard and audit contracts. */
import { onTestFinished } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/adapters/clock/manual.ts';
import {
  createLockWatch,
  type LockWatch,
  type LockWatchOptions,
} from '../../../src/compose/lockwatch.ts';
import { type MemoryStores, memoryStores } from '../../../src/compose/stores.ts';
import { type GeneratedKey, generateSigningKey } from '../../../src/domain/tokens/keys.ts';

let key: Promise<GeneratedKey> | undefined;

/** A composed LockWatch, its clock and its stores. */
export interface Composed {
  readonly lw: LockWatch;
  readonly clock: ManualClock;
  readonly stores: MemoryStores;
}

/**
 * LockWatch on memory stores and a manual clock: the seed's limits scaled
 * down (3 per 60 s, burst above 2 in 10 s), tokens with one ES256 key,
 * auth-failure alerts above 2 per IP. Closed when the test ends.
 */
export async function composed(options: Partial<LockWatchOptions> = {}): Promise<Composed> {
  const clock = createManualClock();
  const stores = memoryStores({ clock });
  key ??= generateSigningKey('ES256');
  const { kid, alg, privateKey } = await key;
  const lw = await createLockWatch({
    stores,
    clock,
    rateLimit: { limit: 3, window: '60s' },
    anomaly: {
      burst: { limit: 2, window: '10s' },
      authFailures: { perIp: { limit: 2, window: '60s' } },
    },
    tokens: { issuer: 'https://auth.test', audience: 'api', keys: [{ kid, alg, privateKey }] },
    ...options,
  });
  onTestFinished(async () => {
    await lw.close();
    await stores.close();
  });
  return { lw, clock, stores };
}
