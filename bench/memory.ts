/**
 * Memory `check` throughput against rate-limiter-flexible's
 * RateLimiterMemory.consume, side by side in one run.
 * Run: node bench/memory.ts   (or npm run bench)
 */
import { RateLimiterMemory, RateLimiterUnion } from 'rate-limiter-flexible';
import { createMemoryWindowStore } from '../src/adapters/memory/window-store.ts';
import { definePolicy } from '../src/domain/ratelimit/policy.ts';
import { type Comparison, compare, toMarkdown } from './lib/compare.ts';

// Limits high enough that nothing is refused: both libraries do their normal
// counting path, and rate-limiter-flexible's rejection-by-throw is not measured.
const perMinute = definePolicy({ name: 'per-minute', limit: 10_000_000, window: '1m' });
const perHour = definePolicy({
  name: 'per-hour',
  limit: 10_000_000,
  window: '1h',
  algorithm: 'fixed-window',
});
const perDay = definePolicy({
  name: 'per-day',
  limit: 10_000_000,
  window: '1d',
  algorithm: 'sliding-window',
});

/** Runs the memory comparisons for `keys` distinct clients (1 = one hot key). */
export async function benchMemory(keys: number): Promise<Comparison[]> {
  const store = createMemoryWindowStore({ maxKeys: 200_000 });
  const one = [perMinute];
  const three = [perMinute, perHour, perDay];
  const rlf = new RateLimiterMemory({ points: 1_000_000_000, duration: 60 });
  const rlfThree = new RateLimiterUnion(
    new RateLimiterMemory({ keyPrefix: 'm', points: 1_000_000_000, duration: 60 }),
    new RateLimiterMemory({ keyPrefix: 'h', points: 1_000_000_000, duration: 3600 }),
    new RateLimiterMemory({ keyPrefix: 'd', points: 1_000_000_000, duration: 86_400 }),
  );
  const subjects = Array.from({ length: keys }, (_, i) => `ip:10.0.${i >> 8}.${i & 255}`);
  const subject = (i: number) => subjects[i % keys]!;
  const label = keys === 1 ? 'one hot key' : `${keys.toLocaleString('en-US')} keys`;
  const single = await compare(
    `Memory, 1 policy, ${label}`,
    [
      {
        name: 'rate-limiter-flexible RateLimiterMemory.consume',
        run: (i) => rlf.consume(subject(i)),
      },
      { name: 'LockWatch memory check (gcra)', run: (i) => store.check(subject(i), one, 1) },
    ],
    { baseline: 'rate-limiter-flexible RateLimiterMemory.consume' },
  );
  const triple = await compare(
    `Memory, 3 policies, ${label}`,
    [
      {
        name: 'rate-limiter-flexible RateLimiterUnion of 3',
        run: (i) => rlfThree.consume(subject(i)),
      },
      {
        name: 'LockWatch memory check (3 policies)',
        run: (i) => store.check(subject(i), three, 1),
      },
    ],
    { baseline: 'rate-limiter-flexible RateLimiterUnion of 3' },
  );
  await store.close();
  return [single, triple];
}

/** Every check from a subject never seen before (a spoofed-key flood), 1 policy. */
export async function benchFreshKeys(): Promise<Comparison> {
  const store = createMemoryWindowStore({ maxKeys: 100_000 });
  const one = [perMinute];
  const rlf = new RateLimiterMemory({ points: 10_000_000, duration: 60 });
  const comparison = await compare(
    'Memory, 1 policy, a new key on every check (flood)',
    [
      {
        name: 'rate-limiter-flexible RateLimiterMemory.consume',
        run: (i) => rlf.consume(`fresh:rlf:${i}`),
      },
      { name: 'LockWatch memory check (gcra)', run: (i) => store.check(`fresh:lw:${i}`, one, 1) },
    ],
    { baseline: 'rate-limiter-flexible RateLimiterMemory.consume', rounds: 5, roundMs: 300 },
  );
  await store.close();
  return comparison;
}

/** All memory comparisons, in report order. */
export async function benchAllMemory(): Promise<Comparison[]> {
  return [...(await benchMemory(1)), ...(await benchMemory(10_000)), await benchFreshKeys()];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const comparison of await benchAllMemory()) console.log(`${toMarkdown(comparison)}\n`);
  process.exit(0);
}
