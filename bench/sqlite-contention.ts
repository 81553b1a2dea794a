/**
 * Event-loop stalls of processes that share one SQLite file: each process
 * checks limits on the SQL window store as fast as it can (16 checks in
 * flight, four subjects) for a few seconds and reports its check count and
 * its event-loop delay (p50, p99, max, from monitorEventLoopDelay). With one
 * process this is the store's own pace; with several, the waits for each
 * other's write lock show in the delay: SQLite's busy handler would sleep
 * inside the synchronous call, LockWatch's own connection waits
 * asynchronously instead (docs/audit.md).
 *
 * Run: node bench/sqlite-contention.ts [--processes 3] [--seconds 4]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    processes: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    child: { type: 'string' },
  },
});

interface Report {
  readonly checks: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** One process: opens the file, waits for the go, checks for `seconds`, reports. */
async function child(file: string, seconds: number): Promise<void> {
  const { createSqlWindowStore, openSqlDatabase } = await import('../src/adapters/sql/index.ts');
  const { definePolicy } = await import('../src/domain/ratelimit/policy.ts');
  const db = await openSqlDatabase({ url: `sqlite:${file}` });
  const store = createSqlWindowStore(db);
  const policies = [definePolicy({ name: 'bench', limit: 1_000_000_000, window: '60s' })];
  await new Promise((resolve) => {
    process.once('message', resolve);
    process.send?.('ready');
  });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const until = Date.now() + seconds * 1000;
  let checks = 0;
  let errors = 0;
  while (Date.now() < until) {
    const batch: Promise<void>[] = [];
    for (let i = 0; i < 16; i++) {
      batch.push(
        store.check(`subject-${i % 4}`, policies, 1).then(
          () => {
            checks++;
          },
          () => {
            errors++;
          },
        ),
      );
    }
    await Promise.all(batch);
    await new Promise((resolve) => setImmediate(resolve));
  }
  delay.disable();
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  const report: Report = {
    checks,
    errors,
    p50: ms(delay.percentile(50)),
    p99: ms(delay.percentile(99)),
    max: ms(delay.max),
  };
  process.send?.(report);
  await db.close();
  process.disconnect?.();
}

if (values.child !== undefined) {
  await child(values.child, Number(values.seconds));
} else {
  const processes = Number(values.processes);
  const dir = mkdtempSync(join(tmpdir(), 'lockwatch-contention-'));
  const file = join(dir, 'contention.db');
  try {
    const self = new URL(import.meta.url).pathname;
    const children = Array.from({ length: processes }, () =>
      fork(self, ['--child', file, '--seconds', values.seconds], { execArgv: [] }),
    );
    const nextMessage = (c: (typeof children)[number]) =>
      new Promise<unknown>((resolve, reject) => {
        c.once('message', resolve);
        c.once('exit', (code) => reject(new Error(`a process exited (${code})`)));
      });
    // Every process has opened (and migrated) the file before any starts checking.
    for (const c of children) await nextMessage(c);
    const reports = children.map(nextMessage);
    for (const c of children) c.send('go');
    const results = (await Promise.all(reports)) as Report[];
    console.log(`| process | checks | errors | loop delay p50 ms | p99 ms | max ms |`);
    console.log(`| ---: | ---: | ---: | ---: | ---: | ---: |`);
    results.forEach((r, i) => {
      console.log(
        `| ${i + 1} | ${r.checks.toLocaleString('en')} | ${r.errors} | ${r.p50} | ${r.p99} | ${r.max} |`,
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
