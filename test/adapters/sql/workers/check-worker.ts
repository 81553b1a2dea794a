// A child process for the SQL cross-process test: opens the database URL in
// argv[2] and serves rounds of checks (test/support/check-worker.ts).
import { openSqlDatabase } from '../../../../src/adapters/sql/database.ts';
import { createSqlWindowStore } from '../../../../src/adapters/sql/window-store.ts';
import { serveChecks } from '../../../support/check-worker.ts';

const db = await openSqlDatabase({ url: process.argv[2], migrate: 'check', poolSize: 8 });
const store = createSqlWindowStore(db);
await serveChecks(store, async () => {
  await store.close();
  await db.close();
});
