import { withFailurePolicy } from '../../../src/adapters/failure/window-store.ts';
import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { windowStoreModelContract } from '../../contracts/window-store/model.ts';

windowStoreModelContract('memory WindowStore', (clock) => createMemoryWindowStore({ clock }), {
  backwards: true,
  numRuns: 300,
});
windowStoreModelContract(
  'memory WindowStore under the open failure policy',
  (clock) => withFailurePolicy(createMemoryWindowStore({ clock }), { policy: 'open', clock }),
  { backwards: true, numRuns: 100 },
);
