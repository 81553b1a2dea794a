import { afterEach, beforeEach } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/adapters/clock/manual.ts';
import type { WindowStore } from '../../../src/ports/window-store.ts';
import type { WindowStoreFactory, WindowStoreHarness } from './harness.ts';

/** Per-test store and clock, created before each test and closed after it. */
export interface ContractContext {
  /** The store under test. */
  store: WindowStore;
  /** The clock the store reads. */
  clock: ManualClock;
}

/** Registers hooks that give every test of the calling describe block a fresh store. */
export function useStore(create: WindowStoreFactory): ContractContext {
  const context = {} as ContractContext;
  let harness: WindowStoreHarness | undefined;
  beforeEach(async () => {
    // Aligned to a whole day so fixed windows start where tests expect.
    context.clock = createManualClock(1_700_006_400_000);
    harness = await create(context.clock);
    context.store = harness.store;
  });
  afterEach(async () => {
    await harness?.store.close();
    await harness?.close?.();
    harness = undefined;
  });
  return context;
}
