// A child process for the cross-process test: connects with the options in
// argv[2] and serves rounds of checks (test/support/check-worker.ts).
import { createRedisWindowStore } from '../../../../src/adapters/redis/window-store.ts';
import { serveChecks } from '../../../support/check-worker.ts';

const store = createRedisWindowStore(JSON.parse(process.argv[2] ?? '{}'));
await serveChecks(store, () => store.close());
