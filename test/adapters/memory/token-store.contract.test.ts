import { withTokenStoreTimeouts } from '../../../src/adapters/failure/token-store.ts';
import { createMemoryTokenStore } from '../../../src/adapters/memory/token-store.ts';
import { tokenStoreContract } from '../../contracts/token-store/index.ts';

tokenStoreContract('memory', async () => ({ store: createMemoryTokenStore() }));
tokenStoreContract('memory under timeouts and a breaker', async (clock) => ({
  store: withTokenStoreTimeouts(createMemoryTokenStore(), { clock, timeoutMs: 50 }),
}));
