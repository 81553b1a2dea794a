/**
 * One server of bench/http.ts, in its own process: `node bench/http-server.ts
 * <fastify|express> <bare|lockwatch|peer> <memory|redis> <sqlite file>`. Prints
 * `port <n>` once listening; exits on SIGTERM. LockWatch runs composed as an
 * application would use it: `createLockWatch` with the seed's burst detector
 * and the audit log on a SQLite file (batched off the request path).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';

const [framework, variant, storeKind, auditFile] = process.argv.slice(2) as [
  'fastify' | 'express',
  'bare' | 'lockwatch' | 'peer',
  'memory' | 'redis',
  string,
];
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `lwbench-http:${process.pid}`;
// High enough that nothing is refused: every limiter runs its counting path on every request.
const limit = 1_000_000_000;
const closers: (() => Promise<unknown>)[] = [];

async function composed() {
  const { createLockWatch, createMemoryWindowStore, createMemoryAlertSink } = await import(
    '../src/index.ts'
  );
  const sql = await import('../src/adapters/sql/index.ts');
  // LW_AUDIT=sqlite (default) or postgres writes the audit log to SQL (LOCKWATCH_TEST_POSTGRES_URL, or the local `test` database).
  const durable = !['off', 'memory', 'discard'].includes(process.env.LW_AUDIT ?? 'sqlite');
  const database = durable
    ? await sql.openSqlDatabase(
        process.env.LW_AUDIT === 'postgres'
          ? {
              url:
                process.env.LOCKWATCH_TEST_POSTGRES_URL ??
                'postgresql://postgres@127.0.0.1:5432/test',
              migrate: 'auto',
            }
          : { url: `sqlite:${auditFile}` },
      )
    : undefined;
  if (database !== undefined) closers.push(() => database.close());
  let window: import('../src/index.ts').WindowStore;
  if (storeKind === 'redis') {
    const { createRedisWindowStore } = await import('../src/adapters/redis/index.ts');
    // LW_REDIS_OPTIONS: ioredis options as JSON, merged over LockWatch's defaults (e.g. '{"enableAutoPipelining":false}').
    const redisOptions = process.env.LW_REDIS_OPTIONS
      ? JSON.parse(process.env.LW_REDIS_OPTIONS)
      : undefined;
    // LW_COALESCE=off: every check goes out at once (the store's `coalesce: false`).
    window = createRedisWindowStore({
      url: redisUrl,
      prefix,
      redisOptions,
      coalesce: process.env.LW_COALESCE !== 'off',
    });
  } else window = createMemoryWindowStore();
  // LW_AUDIT=off|memory|discard|sqlite|postgres and LW_BURST=off switch a part off or swap it, to measure what each costs.
  const { createMemoryAuditSink } = await import('../src/index.ts');
  const audit =
    process.env.LW_AUDIT === 'off'
      ? undefined
      : process.env.LW_AUDIT === 'memory'
        ? // LW_AUDIT_KEEP=<n>: how many records the memory sink holds (10,000 by default).
          createMemoryAuditSink({
            maxRecords:
              process.env.LW_AUDIT_KEEP === undefined
                ? undefined
                : Number(process.env.LW_AUDIT_KEEP),
          })
        : process.env.LW_AUDIT === 'discard'
          ? { write: async () => {}, close: async () => {} }
          : sql.createSqlAuditSink(database!);
  const lw = await createLockWatch({
    stores: { window, audit, alerts: createMemoryAlertSink() },
    rateLimit: { limit, window: '60s' },
    anomaly: process.env.LW_BURST === 'off' ? false : {},
    audit: process.env.LW_BATCH === undefined ? {} : { batchSize: Number(process.env.LW_BATCH) },
    // LW_HEADERS=off sends no rate-limit fields (to tell the client's parsing from the server's
    // work); LW_HEADERS=all both formats on admitted responses too (the default sends X-RateLimit-* only).
    http:
      process.env.LW_HEADERS === 'off'
        ? { headers: false }
        : process.env.LW_HEADERS === 'all'
          ? { headers: { draft: true } }
          : {},
    // A slow store on a loaded machine must show as errors (503), never as faster fail-open answers.
    failure: {
      rateLimit: { policy: 'closed', timeoutMs: 5000 },
      onEvent:
        process.env.LW_DEBUG === undefined
          ? undefined
          : (event) =>
              console.error(
                JSON.stringify(event, (_k, v) =>
                  v instanceof Error ? `${v.name}: ${v.message}` : v,
                ),
              ),
    },
    // The seed's burst detector (more than 50 in 10 s, exact sliding log) and the audit log: on.
  });
  closers.unshift(() => lw.close().then(() => window.close()));
  return lw;
}

let close: () => Promise<void>;
let port: number;
let requests = 0;
const count = () => {
  requests++;
};
if (framework === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  if (variant === 'lockwatch') {
    const { fastifyLockWatch } = await import('../src/http/fastify.ts');
    const lw = await composed();
    await app.register(fastifyLockWatch, { pipeline: lw.pipeline });
  } else if (variant === 'peer') {
    const { default: rateLimit } = await import('@fastify/rate-limit');
    if (storeKind === 'redis') {
      const redis = new Redis(redisUrl);
      closers.push(() => redis.quit());
      await app.register(rateLimit, {
        max: limit,
        timeWindow: 60_000,
        redis,
        nameSpace: `${prefix}:`,
      });
    } else await app.register(rateLimit, { max: limit, timeWindow: 60_000 });
  }
  // BARE_FIELDS=3 or 5 (bare variant): a hook that sets that many constant rate-limit fields, the
  // price of the fields alone, whoever computes them (three as @fastify/rate-limit, five as LockWatch).
  const bareFields = Number(process.env.BARE_FIELDS ?? 0);
  if (variant === 'bare' && bareFields > 0) {
    const fields = Object.entries({
      'x-ratelimit-limit': '1000000000',
      'x-ratelimit-remaining': '999999999',
      'x-ratelimit-reset': '1795977481',
      'ratelimit-policy': '"api";q=1000000000;w=60',
      ratelimit: '"api";r=999999999;t=1',
    }).slice(0, bareFields);
    app.addHook('onRequest', (_request, reply, done) => {
      for (const [name, value] of fields) reply.header(name, value);
      done();
    });
  }
  // BARE_HOOK=empty|finish (bare variant): an onRequest hook doing nothing, or only reporting the
  // response's end as LockWatch's adapter does: what the adapter costs before the pipeline works.
  if (variant === 'bare' && process.env.BARE_HOOK !== undefined) {
    const { finishWith } = await import('../src/http/response-end.ts');
    // A pipeline whose finish does nothing, and an empty context: only the tracking is measured.
    const ended = { finish: () => {} } as never;
    const context = {} as never;
    const report = process.env.BARE_HOOK === 'finish';
    app.addHook('onRequest', (_request, reply, done) => {
      if (report) finishWith(ended, reply.raw, context);
      done();
    });
  }
  app.get('/hello', async () => ({ hello: 'world' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  app.server.on('request', count);
  port = (app.server.address() as AddressInfo).port;
  close = () => app.close();
} else {
  const { default: express } = await import('express');
  const app = express();
  if (variant === 'lockwatch') {
    const { expressLockWatch } = await import('../src/http/express.ts');
    const lw = await composed();
    app.use(expressLockWatch(lw.pipeline));
  } else if (variant === 'peer') {
    const { rateLimit } = await import('express-rate-limit');
    if (storeKind === 'redis') {
      const { RedisStore } = await import('rate-limit-redis');
      const redis = new Redis(redisUrl);
      closers.push(() => redis.quit());
      app.use(
        rateLimit({
          limit,
          windowMs: 60_000,
          standardHeaders: 'draft-8',
          store: new RedisStore({
            prefix: `${prefix}:`,
            sendCommand: (command: string, ...args: string[]) =>
              redis.call(command, ...args) as Promise<number>,
          }),
        }),
      );
    } else app.use(rateLimit({ limit, windowMs: 60_000, standardHeaders: 'draft-8' }));
  }
  app.get('/hello', (_req, res) => {
    res.json({ hello: 'world' });
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.on('request', count);
  port = (server.address() as AddressInfo).port;
  close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}
process.stdout.write(`port ${port}\n`);
// CPU time per request is what a noisy shared machine cannot blur: report it on SIGUSR2 and at exit.
const report = () =>
  process.stdout.write(
    `cpu ${JSON.stringify({ ...process.cpuUsage(), requests, rss: process.memoryUsage().rss })}\n`,
  );
process.on('SIGUSR2', report);
process.once('SIGTERM', async () => {
  report();
  await close();
  for (const closer of closers) await closer();
  process.exit(0);
});
