// A child process for the cross-process test: connects with the options in
// argv[2], says `ready`, then for each `round` message fires `count` checks at
// once on one subject and reports how many were admitted.
import { createRedisWindowStore } from '../../../../src/adapters/redis/window-store.ts';
import { definePolicy, type PolicyOptions } from '../../../../src/domain/ratelimit/policy.ts';

interface Round {
  readonly type: 'round';
  readonly subject: string;
  readonly policy: PolicyOptions;
  readonly count: number;
}

const options = JSON.parse(process.argv[2] ?? '{}');
const store = createRedisWindowStore(options);
const send = (message: unknown) => process.send?.(message);

await store.peek('warm-up', [definePolicy({ name: 'warm-up', limit: 1, window: 1000 })], 0);
send({ type: 'ready' });

process.on('message', async (message: Round | { type: 'close' }) => {
  if (message.type === 'close') {
    await store.close();
    process.disconnect();
    return;
  }
  const policy = definePolicy(message.policy);
  const outcomes = await Promise.allSettled(
    Array.from({ length: message.count }, () => store.check(message.subject, [policy], 1)),
  );
  const admitted = outcomes.filter((o) => o.status === 'fulfilled' && o.value.allowed).length;
  const failed = outcomes.filter((o) => o.status === 'rejected').length;
  send({ type: 'result', admitted, failed });
});
