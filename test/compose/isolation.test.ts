/**
 * Audit and alerts never sit on the request path: a composed LockWatch
 * whose audit database (PostgreSQL behind a TCP proxy that stops answering)
 * and webhook receiver (accepts, never answers) both hang serves requests as
 * fast as one whose database and receiver are healthy. Both set-ups are
 * measured alternately in one process; the test asserts on the ratio of
 * medians, never on absolute times (shared machine).
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryWindowStore } from '../../src/adapters/memory/window-store.ts';
import { createSqlAuditSink } from '../../src/adapters/sql/audit-sink.ts';
import { openSqlDatabase, type SqlDatabase } from '../../src/adapters/sql/database.ts';
import { generateWebhookSecret } from '../../src/adapters/webhook/signature.ts';
import { createWebhookAlertSink } from '../../src/adapters/webhook/sink.ts';
import { createLockWatch } from '../../src/compose/lockwatch.ts';
import { nodeLockWatch } from '../../src/http/node.ts';
import { postgresAvailable } from '../adapters/sql/harness.ts';
import { startReceiver } from '../adapters/webhook/receiver.ts';
import { createTempDatabase, postgresService, type TempDatabase } from '../support/postgres.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const pg = postgresAvailable();
describe.runIf(pg.available)(`request latency with audit and alerts hung${pg.note}`, () => {
  let temp: TempDatabase;
  let direct: SqlDatabase;

  beforeAll(async () => {
    temp = await createTempDatabase(postgresService().url!);
    direct = await openSqlDatabase({ url: temp.url, migrate: 'off' });
    await direct.migrateUp();
  });

  afterAll(async () => {
    await direct?.close();
    await temp?.drop();
  });

  it('a hanging audit database and a hanging webhook receiver leave request latency unchanged', async () => {
    const requests = 400;
    const measure = async (hung: boolean) => {
      const target = new URL(temp.url);
      const proxy: TcpProxy = await startTcpProxy({
        host: target.hostname,
        port: Number(target.port || 5432),
      });
      const proxied = new URL(temp.url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      const database = await openSqlDatabase({
        url: proxied.href,
        poolSize: 2,
        mikroOrm: { driverOptions: { connectionTimeoutMillis: 60_000 } },
      });
      const receiver = await startReceiver(() => (hung ? 'hang' : { status: 204 }));
      const sink = createWebhookAlertSink({
        endpoints: [{ url: receiver.url, secret: generateWebhookSecret() }],
        timeoutMs: 60_000,
        drainTimeoutMs: 0,
      });
      // From now on the database accepts connections and answers nothing (open ones included).
      if (hung) proxy.mode = 'hang';
      const lw = await createLockWatch({
        stores: {
          window: createMemoryWindowStore(),
          audit: createSqlAuditSink(database),
          alerts: sink,
        },
        rateLimit: { limit: 1_000_000, window: '60s' },
        // Every client bursts after its 3rd request: an alert per client, to the webhook.
        anomaly: { burst: { limit: 3, window: '10s' } },
        audit: { batchSize: 20, flushInterval: '10ms', writeTimeout: '60s', closeTimeout: 0 },
        http: { trustProxy: 1 },
      });
      const server = createServer(
        nodeLockWatch(lw.pipeline, (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        }),
      );
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/hello`;
      const agent = new Agent({ connections: 8 });
      const started = performance.now();
      let next = 0;
      const worker = async () => {
        while (next < requests) {
          const i = next++;
          const response = await request(url, {
            dispatcher: agent,
            headers: { 'x-forwarded-for': `198.51.100.${i % 40}` },
          });
          await response.body.text();
          expect(response.statusCode).toBe(200);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      const elapsed = performance.now() - started;
      if (hung) {
        // It did hang: nothing written, alerts sent to a receiver that never answered.
        expect(lw.audit!.stats.written).toBe(0);
        expect(receiver.requests.length).toBeGreaterThan(0);
      } else {
        await lw.audit!.flush();
        expect(lw.audit!.stats.written).toBe(requests);
        expect(lw.alerts!.counts.sent).toBe(40);
      }
      await agent.close();
      server.closeAllConnections();
      server.close();
      proxy.mode = 'cut';
      await lw.close();
      await database.close();
      await proxy.close();
      await receiver.close();
      return elapsed;
    };
    const hung: number[] = [];
    const healthy: number[] = [];
    await measure(false); // warm-up: JIT, connections
    for (let round = 0; round < 3; round++) {
      const order = round % 2 === 0 ? [true, false] : [false, true];
      for (const isHung of order) (isHung ? hung : healthy).push(await measure(isHung));
    }
    const ratio = median(hung) / median(healthy);
    console.log(
      `isolation: ${requests} requests, median ${median(healthy).toFixed(0)} ms healthy, ${median(hung).toFixed(0)} ms with audit database and webhook hung: ratio ${ratio.toFixed(2)}`,
    );
    expect(ratio).toBeLessThan(1.5);
  }, 120_000);
});
