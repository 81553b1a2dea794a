/**
 * Redis server CPU per check, on one subject checked over and over (the
 * shape of bench/http.ts, where one client floods one IP): LockWatch's
 * per-IP limit alone, with the burst detector as a sliding log (the
 * default) and as a sliding window, and the script @fastify/rate-limit runs
 * (INCR, PTTL). On a 2-core machine the Redis server shares the cores with
 * the app and the load generator, so its CPU per request counts as much as
 * the app's. Figures from INFO's used_cpu_user + used_cpu_sys before and
 * after each run, so nothing else should use this Redis meanwhile.
 *
 * Run: node bench/redis-server-cpu.ts [--checks 20000] [--rounds 3]   (REDIS_URL, default redis://127.0.0.1:6379)
 */
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createRedisWindowStore } from '../src/adapters/redis/window-store.ts';
import { definePolicy } from '../src/domain/ratelimit/policy.ts';
import type { Policy } from '../src/domain/ratelimit/types.ts';

const { values } = parseArgs({
  options: {
    checks: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '3' },
  },
});
const checks = Number(values.checks);
const rounds = Number(values.rounds);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `lwbench-cpu:${process.pid}`;
const inFlight = 64;

const redis = new Redis(url);
const store = createRedisWindowStore({ url, prefix });

/** Seconds of CPU the Redis server has used so far. */
async function serverCpu(): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)![1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** Server CPU µs per call of `call`, with 64 calls in flight. */
async function measure(call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 500; i++) await call(); // the state reaches its steady shape (a full burst log)
  const before = await serverCpu();
  let pending: Promise<unknown>[] = [];
  for (let i = 0; i < checks; i++) {
    pending.push(call());
    if (pending.length === inFlight) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  return (((await serverCpu()) - before) * 1e6) / checks;
}

// High enough that the limit never refuses: every check charges it.
const limit = definePolicy({ name: 'ip', limit: 1_000_000_000, window: '60s' });
const burst = (algorithm: 'sliding-log' | 'sliding-window'): Policy =>
  definePolicy({ name: 'burst', limit: 50, window: '10s', algorithm, mode: 'observe' });
const peerLua = `local current = redis.call('INCR', KEYS[1])
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  return {current, tonumber(ARGV[1])}
end
return {current, redis.call('PTTL', KEYS[1])}`;
const peerSha = (await redis.script('LOAD', peerLua)) as string;

const lists = {
  alone: Object.freeze([limit]),
  log: Object.freeze([limit, burst('sliding-log')]),
  window: Object.freeze([limit, burst('sliding-window')]),
};

const candidates: [string, () => Promise<unknown>][] = [
  ['LockWatch: the limit alone (gcra)', () => store.check('203.0.113.1', lists.alone, 1)],
  [
    'LockWatch: limit + burst detector, sliding log (default)',
    () => store.check('203.0.113.2', lists.log, 1),
  ],
  [
    'LockWatch: limit + burst detector, sliding window',
    () => store.check('203.0.113.3', lists.window, 1),
  ],
  [
    "@fastify/rate-limit's script (INCR, PTTL)",
    () => redis.evalsha(peerSha, 1, `${prefix}:peer`, '60000'),
  ],
];

const samples = new Map<string, number[]>(candidates.map(([name]) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, call] of candidates) samples.get(name)!.push(await measure(call));
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
console.log(
  `### Redis server CPU per check, one subject, ${inFlight} in flight, ${checks} checks × ${rounds} rounds (median)\n`,
);
console.log('| candidate | server CPU µs per check |');
console.log('| --- | ---: |');
for (const [name] of candidates)
  console.log(`| ${name} | ${median(samples.get(name)!).toFixed(1)} |`);

for (const subject of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
  await store.reset(subject, lists.log);
}
await redis.del(`${prefix}:peer`);
await store.close();
redis.disconnect();
