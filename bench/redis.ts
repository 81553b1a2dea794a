/**
 * Redis `check` throughput at 64 checks in flight, side by side in one run:
 * a raw ioredis EVALSHA of a trivial one-key script (the ceiling: one round
 * trip doing almost nothing), LockWatch with 1 policy and with 3 policies +
 * a burst observe policy, and rate-limiter-flexible's RateLimiterRedis.
 * Then server commands per check, from INFO commandstats deltas.
 *
 * Run: node bench/redis.ts   (Redis at REDIS_URL, default redis://127.0.0.1:6379)
 */
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterUnion } from 'rate-limiter-flexible';
import { createRedisWindowStore } from '../src/adapters/redis/window-store.ts';
import { definePolicy } from '../src/domain/ratelimit/policy.ts';
import { type Candidate, compare, toMarkdown } from './lib/compare.ts';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const concurrency = 64;
const keys = 10_000;
const prefix = `lwbench:${process.pid}`;

// Limits high enough that nothing is refused: every library runs its normal counting path.
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
const burst = definePolicy({ name: 'burst', limit: 10_000_000, window: '10s', mode: 'observe' });

const client = new Redis(url);
const store = createRedisWindowStore({ client, prefix });
const one = [perMinute];
const four = [perMinute, perHour, perDay, burst];
const points = 1_000_000_000;
const rlf = new RateLimiterRedis({
  storeClient: client,
  keyPrefix: `${prefix}:rlf`,
  points,
  duration: 60,
});
const rlfFour = new RateLimiterUnion(
  new RateLimiterRedis({ storeClient: client, keyPrefix: `${prefix}:m`, points, duration: 60 }),
  new RateLimiterRedis({ storeClient: client, keyPrefix: `${prefix}:h`, points, duration: 3600 }),
  new RateLimiterRedis({ storeClient: client, keyPrefix: `${prefix}:d`, points, duration: 86_400 }),
  new RateLimiterRedis({ storeClient: client, keyPrefix: `${prefix}:b`, points, duration: 10 }),
);
const trivial = "return redis.call('INCR', KEYS[1])";
const trivialSha = String(await client.script('LOAD', trivial));

const subjects = Array.from({ length: keys }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
const subject = (i: number) => subjects[i % keys]!;

const ceiling = 'ioredis EVALSHA, trivial one-key script (ceiling)';
const candidates: Candidate[] = [
  {
    name: ceiling,
    run: (i) => client.evalsha(trivialSha, 1, `${prefix}:raw:${subject(i)}`),
    concurrency,
  },
  {
    name: 'LockWatch check, 1 policy (gcra)',
    run: (i) => store.check(subject(i), one, 1),
    concurrency,
  },
  {
    name: 'LockWatch check, 3 policies + burst observe',
    run: (i) => store.check(subject(i), four, 1),
    concurrency,
  },
  {
    name: 'rate-limiter-flexible RateLimiterRedis.consume',
    run: (i) => rlf.consume(subject(i)),
    concurrency,
  },
  {
    name: 'rate-limiter-flexible RateLimiterUnion of 4 RateLimiterRedis',
    run: (i) => rlfFour.consume(subject(i)),
    concurrency,
  },
];

const comparison = await compare(
  `Redis, ${concurrency} in flight, ${keys.toLocaleString('en-US')} keys`,
  candidates,
  {
    baseline: ceiling,
  },
);
console.log(`${toMarkdown(comparison)}\n`);

/** Server-side command calls per operation, from INFO commandstats before and after `count` operations. */
async function commandsPer(candidate: Candidate, count: number): Promise<string> {
  const read = async () => {
    const counts = new Map<string, number>();
    const info = String(await client.info('commandstats'));
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
      counts.set(m[1]!, Number(m[2]));
    return counts;
  };
  const before = await read();
  for (let i = 0; i < count; i += concurrency) {
    await Promise.all(Array.from({ length: concurrency }, (_, k) => candidate.run(i + k)));
  }
  const after = await read();
  const parts: string[] = [];
  for (const [name, calls] of after) {
    if (name === 'info') continue;
    const per = (calls - (before.get(name) ?? 0)) / count;
    if (per >= 0.01) parts.push(`${name} ${per.toFixed(2)}`);
  }
  return parts.join(', ');
}

console.log('| candidate | server commands per operation (INFO commandstats) |');
console.log('| --- | --- |');
for (const candidate of candidates) {
  console.log(`| ${candidate.name} | ${await commandsPer(candidate, 6400)} |`);
}

// Leave nothing behind on the server.
let cursor = '0';
do {
  const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
  cursor = next;
  if (found.length > 0) await client.del(...found);
} while (cursor !== '0');
await store.close();
await client.quit();
