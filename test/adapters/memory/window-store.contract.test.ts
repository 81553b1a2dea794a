import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { windowStoreContract } from '../../contracts/window-store/index.ts';

windowStoreContract('memory', async (clock) => ({ store: createMemoryWindowStore({ clock }) }));
windowStoreContract('memory, capped at 8 keys', async (clock) => ({
  store: createMemoryWindowStore({ clock, maxKeys: 8 }),
}));
