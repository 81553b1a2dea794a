// The child-process side of test/support/cross-process.ts: says `ready` once
// the store answers, then for each `round` message fires `count` checks at once
// on one subject and reports how many were admitted and how many failed.
import { definePolicy, type PolicyOptions } from '../../src/domain/ratelimit/policy.ts';
import type { WindowStore } from '../../src/ports/window-store.ts';

interface Round {
  readonly type: 'round';
  readonly subject: string;
  readonly policy: PolicyOptions;
  readonly count: number;
}

/** Serves rounds of checks on `store` until told to close; `close` releases what the worker opened. */
export async function serveChecks(store: WindowStore, close: () => Promise<void>): Promise<void> {
  const send = (message: unknown) => process.send?.(message);
  await store.peek('warm-up', [definePolicy({ name: 'warm-up', limit: 1, window: 1000 })], 0);
  send({ type: 'ready' });
  process.on('message', async (message: Round | { type: 'close' }) => {
    if (message.type === 'close') {
      await close();
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
}
