/**
 * CPU per request of LockWatch's HTTP pipeline alone, without a framework
 * or sockets: `begin` + `finish` as `createLockWatch` composes them for
 * bench/http-server.ts (per-IP gcra limit of 10⁹ on the memory store, the
 * seed's burst detector, both header formats, the audit log on a SQLite
 * file, failure policy `closed`). 64 requests in flight at a time, like the
 * HTTP bench's connections; the audit log is flushed inside the measurement.
 * Less noisy than req/s on a shared machine, so a change shows in µs.
 *
 * Run: node bench/http-pipeline.ts [--requests 200000] [--rounds 5]
 *      LW_AUDIT=off|memory|discard, LW_BURST=off, LW_HEADERS=off|all as for bench/http-server.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as sql from '../src/adapters/sql/index.ts';
import {
  createLockWatch,
  createMemoryAlertSink,
  createMemoryAuditSink,
  createMemoryWindowStore,
} from '../src/index.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' },
  },
});
const requests = Number(values.requests);
const rounds = Number(values.rounds);
const inFlight = 64;

const dir = mkdtempSync(join(tmpdir(), 'lockwatch-pipeline-'));
const database = await sql.openSqlDatabase({ url: `sqlite:${join(dir, 'audit.db')}` });
const window = createMemoryWindowStore();
const audit =
  process.env.LW_AUDIT === 'off'
    ? undefined
    : process.env.LW_AUDIT === 'memory'
      ? createMemoryAuditSink()
      : process.env.LW_AUDIT === 'discard'
        ? { write: async () => {}, close: async () => {} }
        : sql.createSqlAuditSink(database);
const lw = await createLockWatch({
  stores: { window, audit, alerts: createMemoryAlertSink() },
  rateLimit: { limit: 1_000_000_000, window: '60s' },
  anomaly: process.env.LW_BURST === 'off' ? false : {},
  http:
    process.env.LW_HEADERS === 'off'
      ? { headers: false }
      : process.env.LW_HEADERS === 'all'
        ? { headers: { draft: true } }
        : {},
  failure: { rateLimit: { policy: 'closed', timeoutMs: 5000 } },
});
const { pipeline } = lw;
const headers = { host: '127.0.0.1', 'user-agent': 'bench', accept: '*/*' };

async function one(): Promise<void> {
  // admit, as the adapters call it: no promise when the pipeline answers at once.
  const admission = await pipeline.admit({
    method: 'GET',
    path: '/hello',
    remoteAddress: '127.0.0.1',
    headers,
    raw: undefined,
  });
  if (admission.reply !== undefined) throw new Error(`refused: ${admission.reply.status}`);
  pipeline.finish(admission.context, 200);
}

async function round(count: number): Promise<number> {
  const cpu = process.cpuUsage();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  await lw.audit?.flush();
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / count;
}

await round(Math.min(requests, 50_000)); // warm-up
const results: number[] = [];
for (let i = 0; i < rounds; i++) results.push(await round(requests));
results.sort((a, b) => a - b);
console.log(
  `pipeline begin + finish: median ${results[Math.floor(results.length / 2)]!.toFixed(2)} µs CPU/request ` +
    `(rounds: ${results.map((r) => r.toFixed(2)).join(', ')})`,
);
await lw.close();
await window.close();
await database.close();
rmSync(dir, { recursive: true, force: true });
