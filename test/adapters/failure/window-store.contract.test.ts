import { withFailurePolicy } from '../../../src/adapters/failure/window-store.ts';
import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { windowStoreContract } from '../../contracts/window-store/index.ts';

for (const policy of ['open', 'closed', 'fallback'] as const) {
  windowStoreContract(`failure policy '${policy}' over memory`, async (clock) => ({
    store: withFailurePolicy(createMemoryWindowStore({ clock }), {
      policy,
      clock,
      ...(policy === 'fallback' ? { fallback: () => createMemoryWindowStore({ clock }) } : {}),
    }),
  }));
}
