/**
 * A production composition: Fastify on a Redis Cluster (rate limits, bursts,
 * bans, alert dedup and sessions, shared by every app server) and PostgreSQL
 * (the audit log), signed webhook alerts, keys from a JWKS file, behind one
 * reverse proxy. Every setting is explicit here; `lockWatchFromEnv()` reads
 * the same from the environment (docs/configuration.md).
 *
 * Before the first start: `npx lockwatch migrate up` with LOCKWATCH_DATABASE_URL set.
 * Run: REDIS_CLUSTER_NODES=10.0.0.1:6379,10.0.0.2:6379 LOCKWATCH_DATABASE_URL=postgres://... \
 *      LOCKWATCH_JWKS_FILE=/run/secrets/jwks.json LOCKWATCH_WEBHOOK_URLS=https://hooks.example/lockwatch \
 *      LOCKWATCH_WEBHOOK_SECRET=whsec_... node examples/production.ts
 */
import Fastify from 'fastify';
import { createRedisTokenStore, createRedisWindowStore } from '../src/adapters/redis/index.ts';
import {
  createSqlAuditReader,
  createSqlAuditSink,
  openSqlDatabase,
} from '../src/adapters/sql/index.ts';
import { createWebhookAlertSink } from '../src/adapters/webhook/index.ts';
import { fastifyLockWatch } from '../src/http/fastify.ts';
import { createLockWatch, readLockWatchEnv } from '../src/index.ts';

const env = readLockWatchEnv(); // validated: an error names the bad variable
const nodes = (process.env.REDIS_CLUSTER_NODES ?? '127.0.0.1:7000').split(',');
const windowStore = createRedisWindowStore({ nodes });
const tokenStore = createRedisTokenStore({ nodes });
const database = await openSqlDatabase({ url: env.databaseUrl, migrate: 'check' });

const lw = await createLockWatch({
  stores: {
    window: windowStore,
    tokens: tokenStore,
    audit: createSqlAuditSink(database),
    auditReader: createSqlAuditReader(database),
    alerts:
      env.webhookUrls.length === 0
        ? undefined
        : createWebhookAlertSink({
            endpoints: env.webhookUrls.map((url) => ({ url, secret: env.webhookSecret! })),
          }),
  },
  rateLimit: {
    policies: [
      { name: 'per-second', limit: 20, window: '1s' },
      { name: 'per-day', limit: 50_000, window: '1d', algorithm: 'sliding-window' },
    ],
  },
  anomaly: {
    burst: { limit: env.burstThreshold, window: env.burstWindowMs },
    bans: { initial: '1m', multiplier: 10, max: '1h' },
  },
  alerts: { dedup: env.alertDedupMs },
  tokens: {
    issuer: 'https://auth.example.com',
    audience: 'https://api.example.com',
    keys: env.keys ?? [],
    accessTokenTtl: env.accessTtlMs,
    refreshTokenTtl: env.refreshTtlMs,
    cookie: { path: '/auth/refresh' },
  },
  failure: {
    rateLimit: { policy: env.onStoreFailure, timeoutMs: 50 },
    tokens: { policy: 'closed', timeoutMs: 100 },
  },
  http: { trustProxy: env.trustProxy === false ? 1 : env.trustProxy, skip: { paths: ['/health'] } },
});

const app = Fastify({ logger: true });
await app.register(fastifyLockWatch, { pipeline: lw.pipeline });
app.get('/health', async () => ({ status: 'ok' }));
app.get(
  '/orders',
  { config: { lockwatch: { guard: lw.requireJwt({ scopes: 'orders:read' }) } } },
  async (request) => ({
    user: request.lockwatch?.principal?.userId,
    orders: [],
  }),
);

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '0.0.0.0' });

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    if (stopping) return;
    stopping = true;
    await app.close(); // stop taking requests, finish those in flight
    await lw.close(); // flush the audit log, drain alerts
    await Promise.all([windowStore.close(), tokenStore.close(), database.close()]);
  });
}
