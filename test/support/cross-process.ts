import { type ChildProcess, fork } from 'node:child_process';
import { expect, it } from 'vitest';
import type { PolicyOptions } from '../../src/domain/ratelimit/policy.ts';

/** Processes per round, checks each fires at once, and the limit they share. */
export const workers = 4;
export const perWorker = 200;
export const limit = 100;
const windowMs = 3_600_000;

/** The four algorithms; `exact` ones must admit exactly `limit`, the estimate at most. */
export const crossProcessCases: readonly { policy: PolicyOptions; exact: boolean }[] = [
  { policy: { name: 'xp-gcra', limit, window: windowMs, burst: limit }, exact: true },
  // Fixed windows align to multiples of their length since the epoch: a year-long
  // one makes a round that straddles a boundary (and so admits twice) all but impossible.
  {
    policy: { name: 'xp-fixed', limit, window: 366 * 86_400_000, algorithm: 'fixed-window' },
    exact: true,
  },
  { policy: { name: 'xp-log', limit, window: windowMs, algorithm: 'sliding-log' }, exact: true },
  {
    policy: { name: 'xp-sliding', limit, window: windowMs, algorithm: 'sliding-window' },
    exact: false,
  },
];

/** A forked check worker and the next message it sends. */
export interface CheckWorker {
  readonly child: ChildProcess;
  next(): Promise<{ type: string; admitted?: number; failed?: number }>;
}

/** Forks `path` (a worker script) with `arg` as its one argument. */
export function startCheckWorker(path: string, arg: string): CheckWorker {
  const child = fork(path, [arg], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue: unknown[] = [];
  const waiting: ((message: unknown) => void)[] = [];
  child.on('message', (message) => {
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  return {
    child,
    next: () =>
      new Promise((resolve, reject) => {
        if (queue.length > 0) return resolve(queue.shift() as never);
        const onExit = (code: number | null) => reject(new Error(`worker exited with ${code}`));
        child.once('exit', onExit);
        waiting.push((message) => {
          child.off('exit', onExit);
          resolve(message as never);
        });
      }),
  };
}

/** Asks every worker to close, killing any that has not exited within 5 s. */
export async function stopCheckWorkers(pool: readonly CheckWorker[]): Promise<void> {
  await Promise.all(
    pool.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.child.exitCode !== null) return resolve();
          w.child.once('exit', () => resolve());
          w.child.send({ type: 'close' });
          setTimeout(() => w.child.kill(), 5000).unref();
        }),
    ),
  );
}

/**
 * Registers one test per algorithm: every worker fires `perWorker` checks at
 * once at one fresh subject; together they must admit exactly `limit` (or at
 * most, for the estimate). `after` runs with the subject and case, to clean up
 * or check what the store kept.
 */
export function crossProcessRounds(
  pool: readonly CheckWorker[],
  after: (subject: string, policy: PolicyOptions, exact: boolean) => Promise<void>,
): void {
  for (const { policy, exact } of crossProcessCases) {
    it(`${policy.algorithm ?? 'gcra'}: ${workers} processes x ${perWorker} concurrent checks admit ${exact ? 'exactly' : 'at most'} ${limit}`, async () => {
      const subject = `one-subject-${Math.random().toString(36).slice(2)}`;
      const round = { type: 'round', subject, policy, count: perWorker };
      for (const w of pool) w.child.send(round);
      const results = await Promise.all(pool.map((w) => w.next()));
      const admitted = results.reduce((sum, r) => sum + (r.admitted ?? 0), 0);
      expect(results.map((r) => r.failed)).toEqual([0, 0, 0, 0]);
      if (exact) expect(admitted).toBe(limit);
      else {
        expect(admitted).toBeLessThanOrEqual(limit);
        expect(admitted).toBeGreaterThan(0);
      }
      await after(subject, policy, exact);
    });
  }
}
