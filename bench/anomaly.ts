/**
 * What the anomaly layer costs on the request path, as ratios to a bare
 * rate-limit check on the same store, measured side by side in one run:
 * the burst policy in the same call, lists, the ban lookup (a second call,
 * in parallel), and a banned flood answered from the local cache. Memory
 * store always; Redis too when it answers at LOCKWATCH_BENCH_REDIS_URL
 * (default redis://127.0.0.1:6379).
 * Run: node bench/anomaly.ts   (or npm run bench)
 */
import { createMemoryAlertSink } from '../src/adapters/memory/alert-sink.ts';
import { createMemoryWindowStore } from '../src/adapters/memory/window-store.ts';
import { createRedisWindowStore } from '../src/adapters/redis/window-store.ts';
import { createAlertDispatcher, createAnomalyMonitor } from '../src/anomaly.ts';
import { definePolicy } from '../src/domain/ratelimit/policy.ts';
import type { WindowStore } from '../src/ports/window-store.ts';
import { createRateLimiter } from '../src/rate-limiter.ts';
import { type Candidate, compare, toMarkdown } from './lib/compare.ts';

const keys = 200_000;
const ips = Array.from(
  { length: keys },
  (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
);
const lists = {
  allow: Array.from({ length: 50 }, (_, i) => `172.16.${i}.0/24`),
  deny: Array.from({ length: 50 }, (_, i) => `2001:db8:${i.toString(16)}::/48`),
};

function candidates(store: WindowStore, concurrency: number): Candidate[] {
  const rate = { name: 'per-minute', limit: 10_000_000, window: '1m' };
  const bare = createRateLimiter({ store, policies: [rate] });
  const alerts = createAlertDispatcher({ sink: createMemoryAlertSink(), store });
  // The seed's burst (50 in 10 s, exact sliding log); with 200,000 clients each
  // sends a few requests per window, so the normal path is measured, not alerting.
  const burst = { limit: 50, window: '10s' };
  const plain = createAnomalyMonitor({ store, alerts, burst });
  const listed = createAnomalyMonitor({ store, alerts, burst, lists });
  const banning = createAnomalyMonitor({ store, alerts, burst, lists, bans: {} });
  const withBurst = createRateLimiter({ store, policies: [rate, ...plain.policies] });
  const approximate = createAnomalyMonitor({
    store,
    alerts,
    burst: { ...burst, algorithm: 'sliding-window' },
  });
  const withApproximateBurst = createRateLimiter({
    store,
    policies: [rate, ...approximate.policies],
  });
  const context = (i: number) => {
    const ip = ips[i % keys]!;
    return { subject: `ip:${ip}`, ip, endpoint: '/api', method: 'GET' };
  };
  return [
    { name: 'limiter.check', run: (i) => bare.check(`ip:${ips[i % keys]}`), concurrency },
    {
      name: 'limiter.check + burst policy',
      run: (i) => withBurst.check(`ip:${ips[i % keys]}`),
      concurrency,
    },
    {
      name: 'limiter.check + burst policy (sliding-window)',
      run: (i) => withApproximateBurst.check(`ip:${ips[i % keys]}`),
      concurrency,
    },
    { name: 'monitor.check (burst)', run: (i) => plain.check(withBurst, context(i)), concurrency },
    {
      name: 'monitor.check (burst, 100 CIDRs)',
      run: (i) => listed.check(withBurst, context(i)),
      concurrency,
    },
    {
      name: 'monitor.check (burst, lists, bans)',
      run: (i) => banning.check(withBurst, context(i)),
      concurrency,
    },
  ];
}

async function bannedFlood(store: WindowStore, concurrency: number): Promise<Candidate> {
  const rate = { name: 'per-minute', limit: 10_000_000, window: '1m' };
  const monitor = createAnomalyMonitor({ store, bans: {} });
  const limiter = createRateLimiter({ store, policies: [rate, ...monitor.policies] });
  for (const ip of ips.slice(0, 100)) await monitor.bans!.ban(`ip:${ip}`, '1h');
  return {
    name: 'monitor.check, banned flood (local cache)',
    run: (i) => {
      const ip = ips[i % 100]!;
      return monitor.check(limiter, { subject: `ip:${ip}`, ip });
    },
    concurrency,
  };
}

const memory = createMemoryWindowStore({ maxKeys: 400_000 });
console.log(
  toMarkdown(
    await compare(
      'Anomaly layer on the memory store (200,000 clients)',
      [...candidates(memory, 1), await bannedFlood(memory, 1)],
      { baseline: 'limiter.check' },
    ),
  ),
);
await memory.close();

const url = process.env.LOCKWATCH_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = createRedisWindowStore({ url, prefix: `lwbench:anomaly:${process.pid}` });
try {
  await redis.check('ip:probe', [definePolicy({ name: 'probe', limit: 1, window: '1s' })], 0);
  console.log('');
  console.log(
    toMarkdown(
      await compare(
        'Anomaly layer on Redis (200,000 clients, 16 in flight)',
        [...candidates(redis, 16), await bannedFlood(redis, 16)],
        { baseline: 'limiter.check', rounds: 5, roundMs: 500 },
      ),
    ),
  );
} catch (error) {
  console.log(`\nRedis at ${url} not measured: ${(error as Error).message}`);
} finally {
  await redis.close();
}
