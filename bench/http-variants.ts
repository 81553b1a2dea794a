/**
 * Side-by-side HTTP runs of server variants that bench/http.ts does not
 * list: each variant is one bench/http-server.ts process with its own
 * environment (LW_AUDIT, LW_BURST, LW_HEADERS, NODE_OPTIONS, …), loaded in
 * interleaved rounds by autocannon. Reports median req/s, the ratio to the
 * first variant, and server CPU µs per request (all its threads, counted
 * after the warm-up).
 *
 * Run: node bench/http-variants.ts 'bare=fastify:bare:memory' \
 *        'lw=fastify:lockwatch:memory' 'semi64=fastify:lockwatch:redis|NODE_OPTIONS=--max-semi-space-size=64' \
 *        [--rounds 3] [--duration 4]
 * A variant is `label=<framework>:<bare|lockwatch|peer>:<memory|redis>` then `|NAME=value` pairs.
 * LW_AUDIT is `memory` unless a variant sets it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '4' },
  },
});
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const variants = positionals.map((spec) => {
  // Not split('=', 2): that drops everything after the second '=', the variant's settings with it.
  const at = spec.indexOf('=');
  const label = at < 0 ? '' : spec.slice(0, at);
  const [server, ...pairs] = spec.slice(at + 1).split('|');
  if (
    label === '' ||
    server?.split(':').length !== 3 ||
    pairs.some((pair) => !pair.includes('='))
  ) {
    throw new Error(`bad variant '${spec}': label=<framework>:<variant>:<store>[|NAME=value…]`);
  }
  const env: Record<string, string> = { LW_AUDIT: 'memory' };
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { label, args: server.split(':'), env };
});
if (variants.length === 0) throw new Error('give at least one variant; see the comment at the top');

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');

/** Seconds of CPU the Redis server has used so far. */
async function redisCpu(): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)![1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

const work = mkdtempSync(join(tmpdir(), 'lockwatch-variants-'));
const server = new URL('./http-server.ts', import.meta.url).pathname;

interface Cpu {
  readonly user: number;
  readonly system: number;
  readonly requests: number;
}

/** Runs one variant: start, warm up, measure, stop. */
async function measure(
  variant: (typeof variants)[number],
): Promise<{ rate: number; cpu: number; redisCpu: number }> {
  const child = spawn(
    process.execPath,
    [server, ...variant.args, join(work, `${variant.label}.db`)],
    { env: { ...process.env, ...variant.env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const cpuReport = async (signal: NodeJS.Signals): Promise<Cpu> => {
    const from = output.length;
    child.kill(signal);
    for (let i = 0; i < 500; i++) {
      const match = /cpu (\{.*\})\n/.exec(output.slice(from));
      if (match) return JSON.parse(match[1]!) as Cpu;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${variant.label}: no CPU report`);
  };
  while (!/port (\d+)/.test(output)) {
    if (child.exitCode !== null) throw new Error(`${variant.label} exited with ${child.exitCode}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const url = `http://127.0.0.1:${/port (\d+)/.exec(output)![1]}/hello`;
  await autocannon({ url, connections: 64, duration: 2 }); // warm-up: JIT, connections
  const redisBefore = await redisCpu();
  const before = await cpuReport('SIGUSR2');
  const result = await autocannon({ url, connections: 64, duration });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${variant.label}: errors`);
  const exited = once(child, 'exit');
  const after = await cpuReport('SIGTERM');
  const redisAfter = await redisCpu();
  await exited;
  const requests = after.requests - before.requests;
  const cpu = (after.user + after.system - before.user - before.system) / requests;
  return {
    rate: result.requests.total / duration,
    cpu,
    redisCpu: ((redisAfter - redisBefore) * 1e6) / requests,
  };
}

const samples = new Map(
  variants.map((v) => [
    v.label,
    { rate: [] as number[], cpu: [] as number[], redisCpu: [] as number[] },
  ]),
);
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) {
      const { rate, cpu, redisCpu } = await measure(variant);
      const sample = samples.get(variant.label)!;
      sample.rate.push(rate);
      sample.cpu.push(cpu);
      sample.redisCpu.push(redisCpu);
      process.stderr.write(
        `round ${round + 1}/${rounds} ${variant.label}: ${Math.round(rate)} req/s\n`,
      );
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  redis.disconnect();
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const first = median(samples.get(variants[0]!.label)!.rate);
console.log(
  `| variant | req/s | ratio to ${variants[0]!.label} | CPU µs/request | Redis CPU µs/request |`,
);
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const { label } of variants) {
  const s = samples.get(label)!;
  console.log(
    `| ${label} | ${Math.round(median(s.rate)).toLocaleString('en-US')} | ${(median(s.rate) / first).toFixed(2)} | ${median(s.cpu).toFixed(1)} | ${median(s.redisCpu).toFixed(1)} |`,
  );
}
