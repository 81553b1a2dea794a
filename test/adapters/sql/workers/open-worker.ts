/**
 * Opens the database at argv[2] (migrating it, as every process of an
 * application does at start) once the parent says go, then reports and exits.
 * Everything it needs is loaded before it says ready, so the processes race
 * on the database, not on loading modules.
 */
import '@mikro-orm/sqlite';
import '@mikro-orm/migrations';
import { openSqlDatabase } from '../../../../src/adapters/sql/database.ts';

process.once('message', async () => {
  try {
    const db = await openSqlDatabase({ url: process.argv[2] });
    await db.close();
    process.send?.({ type: 'opened' });
  } catch (error) {
    process.send?.({
      type: 'failed',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
  process.disconnect?.();
});
process.send?.({ type: 'ready' });
