// A child process for the SQL cross-process test: opens the database URL in
// argv[2], says `ready`, then for each `round` message fires `count` checks at
// once on one subject and reports how many were admitted.
import { openSqlDatabase } from '../../../../src/adapters/sql/database.ts';
import { createSqlWindowStore } from '../../../../src/adapters/sql/window-store.ts';
import { definePolicy, type PolicyOptions } from '../../../../src/domain/ratelimit/policy.ts';

interface Round {
  readonly type: 'round';
  readonly subject: string;
  readonly policy: PolicyOptions;
  readonly count: number;
}

const db = await openSqlDatabase({ url: process.argv[2], migrate: 'check', poolSize: 8 });
const store = createSqlWindowStore(db);
const send = (message: unknown) => process.send?.(message);

await store.peek('warm-up', [definePolicy({ name: 'warm-up', limit: 1, window: 1000 })], 0);
send({ type: 'ready' });

process.on('message', async (message: Round | { type: 'close' }) => {
  if (message.type === 'close') {
    await store.close();
    await db.close();
    process.disconnect();
    return;
  }
  const policy = definePolicy(message.policy);
  const outcomes = await Promise.allSettled(
    Array.from({ length: message.count }, () => store.check(message.subject, [policy], 1)),
  );
  const admitted = outcomes.filter((o) => o.status === 'fulfilled' && o.value.allowed).length;
  const failures = outcomes.filter((o) => o.status === 'rejected');
  if (failures.length > 0) console.error((failures[0] as PromiseRejectedResult).reason);
  send({ type: 'result', admitted, failed: failures.length });
});
