/**
 * HTTP throughput with autocannon on loopback, side by side in one run:
 * bare Fastify, Fastify + LockWatch, Fastify + @fastify/rate-limit on memory
 * and on Redis; bare Express, Express + LockWatch, Express +
 * express-rate-limit (memory, and rate-limit-redis). LockWatch runs as
 * `createLockWatch` composes it: per-IP limit, the seed's burst detector in
 * the same store call, and the audit log — on the memory store's own sink
 * next to each peer, and in extra rows on SQLite and PostgreSQL. Each server is
 * its own process (one core for it, one for autocannon on this 2-core
 * machine), started afresh for each measurement (2 s of warm-up, then the
 * measured load); candidates run in interleaved rounds and the report gives
 * the median req/s, the ratio to the bare framework, and the server's CPU
 * per request over the measured loads. Extra Fastify rows send both header
 * formats on admitted responses (LockWatch's default, like
 * @fastify/rate-limit's, sends the three X-RateLimit-* fields there).
 *
 * Run: node bench/http.ts [--rounds 3] [--duration 5] [--connections 64] [--only name,...]
 *      node bench/http.ts --profile fastify-lockwatch-memory   (CPU profile into .prof/)
 * Redis at REDIS_URL (default redis://127.0.0.1:6379).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '64' },
    only: { type: 'string' },
    profile: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const connections = Number(values.connections);

type Framework = 'fastify' | 'express';
type Variant = 'bare' | 'lockwatch' | 'peer';
type Store = 'memory' | 'redis';

/** Where LockWatch's audit log goes: the memory store's own sink, or a durable one. */
type Audit = 'memory' | 'sqlite' | 'postgres';

interface Candidate {
  readonly name: string;
  readonly label: string;
  readonly framework: Framework;
  readonly variant: Variant;
  readonly store: Store;
  readonly audit?: Audit;
  /** `all`: both header formats (five fields) on admitted responses, not only the X-RateLimit-* three. */
  readonly headers?: 'all';
}

const peerName = { fastify: '@fastify/rate-limit', express: 'express-rate-limit' };
const candidates: Candidate[] = [];
for (const framework of ['fastify', 'express'] as const) {
  const title = framework === 'fastify' ? 'Fastify' : 'Express';
  candidates.push({
    name: `${framework}-bare`,
    label: `bare ${title}`,
    framework,
    variant: 'bare',
    store: 'memory',
  });
  for (const store of ['memory', 'redis'] as const) {
    candidates.push({
      name: `${framework}-lockwatch-${store}`,
      label: `${title} + LockWatch (${store}, audit in memory)`,
      framework,
      variant: 'lockwatch',
      store,
      audit: 'memory',
    });
    const peer =
      framework === 'express' && store === 'redis'
        ? 'express-rate-limit + rate-limit-redis'
        : `${peerName[framework]} (${store})`;
    candidates.push({
      name: `${framework}-peer-${store}`,
      label: `${title} + ${peer}`,
      framework,
      variant: 'peer',
      store,
    });
  }
}

// The same composition with the audit log on a durable sink: what the write itself costs.
candidates.push(
  {
    name: 'fastify-lockwatch-memory-sqlite',
    label: 'Fastify + LockWatch (memory, audit on SQLite)',
    framework: 'fastify',
    variant: 'lockwatch',
    store: 'memory',
    audit: 'sqlite',
  },
  {
    name: 'fastify-lockwatch-redis-postgres',
    label: 'Fastify + LockWatch (redis, audit on PostgreSQL)',
    framework: 'fastify',
    variant: 'lockwatch',
    store: 'redis',
    audit: 'postgres',
  },
  // LockWatch sends the three X-RateLimit-* fields on admitted responses by default, as
  // @fastify/rate-limit does; these rows also send the draft RateLimit-Policy and RateLimit there.
  {
    name: 'fastify-lockwatch-memory-all',
    label: 'Fastify + LockWatch (memory, audit in memory, both header formats)',
    framework: 'fastify',
    variant: 'lockwatch',
    store: 'memory',
    audit: 'memory',
    headers: 'all',
  },
  {
    name: 'fastify-lockwatch-redis-all',
    label: 'Fastify + LockWatch (redis, audit in memory, both header formats)',
    framework: 'fastify',
    variant: 'lockwatch',
    store: 'redis',
    audit: 'memory',
    headers: 'all',
  },
  {
    name: 'express-lockwatch-memory-sqlite',
    label: 'Express + LockWatch (memory, audit on SQLite)',
    framework: 'express',
    variant: 'lockwatch',
    store: 'memory',
    audit: 'sqlite',
  },
);

const work = mkdtempSync(join(tmpdir(), 'lockwatch-bench-http-'));
const server = new URL('./http-server.ts', import.meta.url).pathname;

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything the server printed so far. */
  readonly output: { text: string };
}

interface CpuReport {
  readonly user: number;
  readonly system: number;
  readonly requests: number;
}

/** The server's CPU time (all its threads) and requests served so far. */
async function cpuOf(running: Running): Promise<CpuReport> {
  const before = running.output.text.length;
  running.child.kill('SIGUSR2');
  for (let i = 0; i < 500; i++) {
    const match = /cpu (\{.*\})\n/.exec(running.output.text.slice(before));
    if (match) return JSON.parse(match[1]!) as CpuReport;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the server did not report its CPU time');
}

async function start(candidate: Candidate, flags: string[] = []): Promise<Running> {
  const child = spawn(
    process.execPath,
    [
      ...flags,
      server,
      candidate.framework,
      candidate.variant,
      candidate.store,
      join(work, `${candidate.name}.db`),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        ...(candidate.audit === undefined ? {} : { LW_AUDIT: candidate.audit }),
        ...(candidate.headers === undefined ? {} : { LW_HEADERS: candidate.headers }),
      },
    },
  );
  const output = { text: '' };
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output.text += chunk.toString();
      const match = /port (\d+)/.exec(output.text);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${candidate.name} exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/hello`, output };
}

async function stop(running: Running): Promise<void> {
  const exited = once(running.child, 'exit');
  running.child.kill('SIGTERM');
  await exited;
}

async function load(url: string, seconds: number): Promise<number> {
  const result = await autocannon({ url, connections, pipelining: 1, duration: seconds });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return result.requests.total / seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

if (values.profile !== undefined) {
  const candidate = candidates.find((c) => c.name === values.profile);
  if (candidate === undefined)
    throw new Error(
      `no candidate ${values.profile}; one of ${candidates.map((c) => c.name).join(', ')}`,
    );
  const running = await start(candidate, ['--cpu-prof', '--cpu-prof-dir', '.prof']);
  await load(running.url, 2);
  const rate = await load(running.url, duration);
  await stop(running);
  console.log(`${candidate.label}: ${Math.round(rate)} req/s; profile written to .prof/`);
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}

const only = values.only?.split(',');
const chosen =
  only === undefined ? candidates : candidates.filter((c) => only.some((o) => c.name.includes(o)));
const running = new Map<string, Running>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const run of running.values()) run.child.kill('SIGTERM');
    process.exit(1);
  });
}
const samples = new Map<string, number[]>(chosen.map((c) => [c.name, []]));
const cpuSpent = new Map<string, { cpu: number; requests: number }>(
  chosen.map((c) => [c.name, { cpu: 0, requests: 0 }]),
);
const cpuPerRequest = new Map<string, number>();
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? chosen : [...chosen].reverse();
    for (const candidate of order) {
      // A fresh process per measurement: fifteen servers kept alive for the whole run measured
      // their place in it (a LockWatch server doing more work ran 30% faster than its twin).
      const run = await start(candidate);
      running.set(candidate.name, run);
      try {
        await load(run.url, 2); // warm-up: JIT, connections, Redis scripts
        const before = await cpuOf(run);
        const rate = await load(run.url, duration);
        const after = await cpuOf(run);
        samples.get(candidate.name)!.push(rate);
        const spent = cpuSpent.get(candidate.name)!;
        spent.cpu += after.user + after.system - before.user - before.system;
        spent.requests += after.requests - before.requests;
        process.stderr.write(
          `round ${round + 1}/${rounds} ${candidate.label}: ${Math.round(rate)} req/s\n`,
        );
      } finally {
        running.delete(candidate.name);
        await stop(run);
      }
    }
  }
  for (const [name, spent] of cpuSpent) cpuPerRequest.set(name, spent.cpu / spent.requests);
} finally {
  for (const run of running.values()) await stop(run);
  rmSync(work, { recursive: true, force: true });
}

const rate = (name: string) => (samples.has(name) ? median(samples.get(name)!) : undefined);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(
  `### HTTP, autocannon ${connections} connections, ${rounds} rounds of ${duration} s: median req/s, and server CPU µs per request (all its threads)\n`,
);
const cpu = (name: string) => cpuPerRequest.get(name)?.toFixed(1) ?? '';
const verdicts: string[] = [];
for (const framework of ['fastify', 'express'] as const) {
  const bare = rate(`${framework}-bare`);
  if (bare === undefined) continue;
  const title = framework === 'fastify' ? 'Fastify' : 'Express';
  console.log(`| ${title} | req/s | ratio to bare | CPU µs/request |`);
  console.log('| --- | ---: | ---: | ---: |');
  const bareName = `${framework}-bare`;
  console.log(
    `| ${candidates.find((c) => c.name === bareName)!.label} | ${fmt(bare)} | 1.00 | ${cpu(bareName)} |`,
  );
  for (const store of ['memory', 'redis'] as const) {
    const ours = rate(`${framework}-lockwatch-${store}`);
    const peer = rate(`${framework}-peer-${store}`);
    for (const [name, value] of [
      [`${framework}-lockwatch-${store}`, ours],
      [`${framework}-peer-${store}`, peer],
    ] as const) {
      if (value === undefined) continue;
      console.log(
        `| ${candidates.find((c) => c.name === name)!.label} | ${fmt(value)} | ${(value / bare).toFixed(2)} | ${cpu(name)} |`,
      );
    }
    for (const durable of candidates) {
      if (durable.framework !== framework || durable.store !== store) continue;
      if (durable.variant !== 'lockwatch' || durable.name === `${framework}-lockwatch-${store}`)
        continue;
      const value = rate(durable.name);
      if (value === undefined) continue;
      console.log(
        `| ${durable.label} | ${fmt(value)} | ${(value / bare).toFixed(2)} | ${cpu(durable.name)} |`,
      );
    }
    if (ours !== undefined && peer !== undefined) {
      verdicts.push(
        `${framework} ${store}: LockWatch ${(ours / bare).toFixed(2)} of bare vs peer ${(peer / bare).toFixed(2)} → ${ours > peer ? 'ahead' : 'BEHIND'}${store === 'memory' ? `; target 0.90: ${ours / bare >= 0.9 ? 'met' : 'MISSED'}` : ''}`,
      );
      const legacy = rate(`${framework}-lockwatch-${store}-legacy`);
      if (legacy !== undefined) {
        verdicts.push(
          `${framework} ${store}, the peer's header set: LockWatch ${(legacy / bare).toFixed(2)} of bare vs peer ${(peer / bare).toFixed(2)} → ${legacy > peer ? 'ahead' : 'BEHIND'}`,
        );
      }
    }
  }
  console.log('');
}
for (const verdict of verdicts) console.log(`- ${verdict}`);
