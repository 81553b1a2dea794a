/**
 * Instructions per request of one HTTP server's main thread, counted by
 * valgrind's callgrind: unlike req/s or CPU time, the count does not move
 * with what else the machine is doing, so small changes of the request path
 * show. The server (bench/http-server.ts) runs under callgrind; after a
 * warm-up (JIT) the counters are zeroed, a fixed number of requests is sent
 * with autocannon, and the counts are dumped. Only the main thread is
 * reported: V8's helper threads (concurrent compilation, marking) vary from
 * run to run under valgrind. Kernel time (the socket writes) is not counted.
 *
 * Run: node bench/http-instructions.ts fastify:lockwatch:memory [LW_AUDIT=memory ...]
 *      node bench/http-instructions.ts fastify:bare:memory --warmup 10000 --requests 3000
 * Needs `valgrind` and `callgrind_control` on the PATH; a run takes minutes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    warmup: { type: 'string', default: '10000' },
    requests: { type: 'string', default: '3000' },
  },
});
const [server, ...envPairs] = positionals;
if (server === undefined || server.split(':').length !== 3) {
  throw new Error(
    'usage: node bench/http-instructions.ts <fastify|express>:<bare|lockwatch|peer>:<memory|redis> [NAME=value ...]',
  );
}
const requests = Number(values.requests);
const env: NodeJS.ProcessEnv = { ...process.env };
for (const pair of envPairs) {
  const at = pair.indexOf('=');
  env[pair.slice(0, at)] = pair.slice(at + 1);
}

const work = mkdtempSync(join(tmpdir(), 'lockwatch-instructions-'));
const child = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    '--cache-sim=no',
    '--branch-sim=no',
    '--separate-threads=yes',
    `--callgrind-out-file=${join(work, 'cg.%p')}`,
    process.execPath,
    new URL('./http-server.ts', import.meta.url).pathname,
    ...server.split(':'),
    join(work, 'audit.db'),
  ],
  { stdio: ['ignore', 'pipe', 'ignore'], env },
);
try {
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /port (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}/hello`;
  await autocannon({ url, connections: 8, amount: Number(values.warmup) });
  execFileSync('callgrind_control', ['--zero', String(child.pid)], { stdio: 'ignore' });
  const measured = await autocannon({ url, connections: 8, amount: requests });
  execFileSync('callgrind_control', ['--dump', String(child.pid)], { stdio: 'ignore' });
  if (measured.non2xx > 0 || measured.errors > 0) {
    throw new Error(`${measured.non2xx} non-2xx answers, ${measured.errors} errors`);
  }
  // The dump holds one file per thread: `cg.<pid>.1-01` is the main thread.
  const main = readdirSync(work).find((name) => /^cg\.\d+\.1-01$/.test(name));
  if (main === undefined) throw new Error('callgrind wrote no dump of the main thread');
  const summary = /^summary: (\d+)/m.exec(readFileSync(join(work, main), 'utf8'));
  if (summary === null) throw new Error('no summary line in the callgrind dump');
  const perRequest = Number(summary[1]) / measured.requests.total;
  console.log(
    `${[server, ...envPairs].join(' ')}: ${(perRequest / 1000).toFixed(1)} k instructions per request (main thread, ${measured.requests.total} requests after ${values.warmup} of warm-up)`,
  );
} finally {
  child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
