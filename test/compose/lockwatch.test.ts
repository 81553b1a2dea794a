import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { createManualClock } from '../../src/adapters/clock/manual.ts';
import { createRedisTokenStore } from '../../src/adapters/redis/token-store.ts';
import { createLockWatch, type LockWatchOptions } from '../../src/compose/lockwatch.ts';
import { memoryStores } from '../../src/compose/stores.ts';
import { InvalidOptionError } from '../../src/domain/config/errors.ts';
import { generateSigningKey } from '../../src/domain/tokens/keys.ts';
import { nodeLockWatch } from '../../src/http/node.ts';
import { createHttpPipeline } from '../../src/http/pipeline.ts';
import type { HttpPipeline } from '../../src/http/types.ts';
import { createSwitchableStore } from '../support/switchable-store.ts';

const key = generateSigningKey('ES256');
async function tokens() {
  const { kid, alg, privateKey } = await key;
  return { issuer: 'https://auth.test', audience: 'api', keys: [{ kid, alg, privateKey }] };
}

/** A node:http server on the pipeline; returns a GET helper. */
async function serve(pipeline: HttpPipeline) {
  const server = createServer(
    nodeLockWatch(pipeline, (_req, res, context) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ degraded: context.decision?.degraded ?? null }));
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return async (path: string, headers: Record<string, string> = {}) => {
    const response = await request(base + path, { headers });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, json: JSON.parse(text) };
  };
}

describe('createLockWatch', () => {
  it('runs on its own memory stores with the seed defaults and closes idempotently', async () => {
    const lw = await createLockWatch();
    expect(lw.limiter!.policies.map((p) => [p.name, p.limit, p.windowMs, p.mode])).toEqual([
      ['api', 100, 60_000, 'enforce'],
      ['burst', 50, 10_000, 'observe'],
    ]);
    expect(lw.sessions).toBeUndefined();
    expect(lw.audit).toBeDefined();
    const get = await serve(lw.pipeline);
    const reply = await get('/');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-ratelimit-limit']).toBe('100');
    await Promise.all([lw.close(), lw.close()]);
    await lw.close();
  });

  it('drains on close: queued audit records are written and queued alerts sent', async () => {
    const clock = createManualClock();
    const stores = memoryStores({ clock });
    const lw = await createLockWatch({
      stores,
      clock,
      anomaly: { burst: { limit: 1, window: '10s' } },
      audit: { flushInterval: '1m' },
    });
    const get = await serve(lw.pipeline);
    for (let i = 0; i < 3; i++) expect((await get('/')).status).toBe(200);
    await vi.waitFor(() => expect(lw.audit!.stats.offered).toBe(3));
    expect(stores.audit.records).toHaveLength(0); // still queued: the interval is a minute
    await lw.close();
    expect(stores.audit.records).toHaveLength(3);
    expect(stores.alerts.alerts.map((a) => a.type)).toEqual(['burst']);
    await stores.close();
  });

  it("wraps a networked store in the rate-limit failure policy, 'open' by default", async () => {
    const clock = createManualClock();
    const window = createSwitchableStore(clock, 'fail');
    const open = await createLockWatch({ stores: { window }, clock, audit: false });
    onTestFinished(() => open.close());
    const reply = await (await serve(open.pipeline))('/');
    expect(reply.status).toBe(200);
    expect(reply.json.degraded).toBe(true);

    const closed = await createLockWatch({
      stores: { window },
      clock,
      audit: false,
      failure: { rateLimit: { policy: 'closed' } },
    });
    onTestFinished(() => closed.close());
    const refused = await (await serve(closed.pipeline))('/');
    expect(refused.status).toBe(503);
    expect(refused.json.error).toBe('service_unavailable');
  });

  it("fails token checks 'closed' by default when the token store is down: 503, never a pass", async () => {
    const clock = createManualClock();
    const stores = memoryStores({ clock });
    // A real Redis client to a port nothing listens on: every call fails.
    const down = createRedisTokenStore({ url: 'redis://127.0.0.1:9/0' });
    const lw = await createLockWatch({
      stores: { window: stores.window, tokens: down },
      clock,
      tokens: await tokens(),
      failure: { tokens: { timeoutMs: 200 } },
    });
    onTestFinished(async () => {
      await lw.close();
      await down.close();
      await stores.close();
    });
    // A token signed with the same key by a manager whose store is up.
    const issuer = await createLockWatch({
      stores: { window: stores.window },
      clock,
      tokens: await tokens(),
    });
    onTestFinished(() => issuer.close());
    const pair = await issuer.sessions!.issue('alice');
    const get = await serve(
      createHttpPipeline({
        ...lw.httpOptions,
        hooks: { ...lw.httpOptions.hooks, guard: lw.requireJwt() },
      }),
    );
    const reply = await get('/me', { authorization: `Bearer ${pair.accessToken}` });
    expect(reply.status).toBe(503);
    expect(reply.json.error).toBe('token_store_unavailable');
    expect(reply.headers['retry-after']).toBe('1');
    expect(reply.headers['www-authenticate']).toBeUndefined();
  });

  it('limits logins per account and per IP, refunds successes, reports failures', async () => {
    const clock = createManualClock();
    const stores = memoryStores({ clock });
    const lw = await createLockWatch({
      stores,
      clock,
      login: { perAccount: { limit: 3, window: '5m' }, perIp: { limit: 5, window: '60s' } },
      anomaly: { authFailures: { perUser: { limit: 2, window: '15m' } } },
    });
    onTestFinished(async () => {
      await lw.close();
      await stores.close();
    });
    // Successful logins give their charge back: any number of them pass.
    for (let i = 0; i < 10; i++) {
      const attempt = await lw.login.attempt({ ip: '203.0.113.1', account: 'Alice' });
      expect(attempt.allowed).toBe(true);
      await attempt.succeeded();
    }
    for (let i = 0; i < 3; i++) {
      const attempt = await lw.login.attempt({ ip: `203.0.113.${10 + i}`, account: ' alice ' });
      expect(attempt.allowed).toBe(true);
      await attempt.failed();
    }
    const refused = await lw.login.attempt({ ip: '203.0.113.99', account: 'ALICE' });
    expect(refused.allowed).toBe(false);
    expect(refused.reply!.status).toBe(429);
    expect(Number(refused.reply!.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(refused.reply!.body)).toMatchObject({ error: 'rate_limit_exceeded' });
    // Another account from that IP is not affected; the IP's own budget was refunded.
    expect((await lw.login.attempt({ ip: '203.0.113.99', account: 'bob' })).allowed).toBe(true);
    await vi.waitFor(() =>
      expect(stores.alerts.alerts.map((a) => a.type)).toContain('auth_failures_user'),
    );
    // Per IP: 5 attempts in flight or failed from one address, whatever the accounts.
    for (let i = 0; i < 5; i++) {
      expect((await lw.login.attempt({ ip: '198.51.100.7', account: `u${i}` })).allowed).toBe(true);
    }
    expect((await lw.login.attempt({ ip: '198.51.100.7', account: 'u9' })).allowed).toBe(false);
    clock.advance(60_000);
    expect((await lw.login.attempt({ ip: '198.51.100.7', account: 'u9' })).allowed).toBe(true);
  });

  it('validates options at creation and names the bad one', async () => {
    const cases: [LockWatchOptions, string][] = [
      [{ rateLimit: { limit: 0 } }, 'rateLimit.limit'],
      [{ rateLimit: { window: '10 parsecs' } }, 'rateLimit.window'],
      [{ rateLimit: { key: 'ssn' as never } }, 'rateLimit.key'],
      [{ failure: { rateLimit: { policy: 'maybe' as never } } }, 'failure.rateLimit.policy'],
      [{ anomaly: { burst: { limit: -1 } } }, 'burst.limit'],
      [{ login: { perAccount: { limit: 1, window: 'soon' } } }, 'login.perAccount.window'],
      [{ audit: { batchSize: 0 } }, 'batchSize'],
      [{ http: { errorFormat: 'xml' as never } }, 'errorFormat'],
      [{ tokens: { issuer: 'x', audience: 'y', keys: [] } }, 'keys'],
      [{ stores: {} as never }, 'stores'],
    ];
    for (const [options, option] of cases) {
      const error = await createLockWatch(options).then(
        async (lw) => {
          await lw.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error, option).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option, option).toBe(option);
    }
    const lw = await createLockWatch();
    expect(() => lw.requireJwt()).toThrow(/Invalid option tokens/);
    await lw.close();
  });
});
