import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { createManualClock } from '../../src/adapters/clock/manual.ts';
import { createRedisTokenStore } from '../../src/adapters/redis/token-store.ts';
import { generateWebhookSecret } from '../../src/adapters/webhook/signature.ts';
import { createWebhookAlertSink } from '../../src/adapters/webhook/sink.ts';
import { createLockWatch, type LockWatchOptions } from '../../src/compose/lockwatch.ts';
import { memoryStores } from '../../src/compose/stores.ts';
import { createAlert } from '../../src/domain/alerts/alert.ts';
import { InvalidOptionError } from '../../src/domain/config/errors.ts';
import { generateSigningKey } from '../../src/domain/tokens/keys.ts';
import { nodeLockWatch } from '../../src/http/node.ts';
import { createHttpPipeline } from '../../src/http/pipeline.ts';
import type { HttpPipeline } from '../../src/http/types.ts';
import { startReceiver } from '../adapters/webhook/receiver.ts';
import { runModule } from '../support/run-module.ts';
import { createSwitchableAuditSink } from '../support/switchable-audit-sink.ts';
import { createSwitchableStore } from '../support/switchable-store.ts';

const key = generateSigningKey('ES256');
async function tokens() {
  const { kid, alg, privateKey } = await key;
  return { issuer: 'https://auth.test', audience: 'api', keys: [{ kid, alg, privateKey }] };
}

/** The InvalidOptionError createLockWatch rejects `options` with. */
async function rejection(options: LockWatchOptions): Promise<InvalidOptionError> {
  const error = await createLockWatch(options).then(
    async (lw) => {
      await lw.close();
      return new Error('accepted');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidOptionError);
  return error as InvalidOptionError;
}

const index = new URL('../../src/index.ts', import.meta.url).href;

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

  it("keeps the chosen rate-limit policy for a store that hangs: 'closed' never admits, on the limiter and the login limits", async () => {
    const clock = createManualClock();
    const window = createSwitchableStore(clock, 'hang');
    const lw = await createLockWatch({
      stores: { window },
      clock,
      audit: false,
      anomaly: false,
      failure: { rateLimit: { policy: 'closed', timeoutMs: 300 } },
    });
    onTestFinished(async () => {
      window.failHung();
      await lw.close();
    });
    // A second policy (the limiter's own `open` default, 100 ms) used to answer first and admit.
    const checks = Array.from({ length: 4 }, (_, i) => lw.limiter!.check(`ip:198.51.100.${i}`));
    const attempt = lw.login.attempt({ ip: '198.51.100.9', account: 'alice' });
    await vi.waitFor(() => expect(window.hanging).toBeGreaterThanOrEqual(5));
    clock.advance(300);
    for (const decision of await Promise.all(checks)) {
      expect(decision).toMatchObject({ allowed: false, reason: 'store_unavailable' });
    }
    expect((await attempt).allowed).toBe(false);
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

  /** A LockWatch on memory stores with login limits of 3 per account (5 min) and 5 per IP (60 s). */
  async function withLoginLimits(options: Partial<LockWatchOptions> = {}) {
    const clock = createManualClock();
    const stores = memoryStores({ clock });
    const lw = await createLockWatch({
      stores,
      clock,
      login: { perAccount: { limit: 3, window: '5m' }, perIp: { limit: 5, window: '60s' } },
      ...options,
    });
    onTestFinished(async () => {
      await lw.close();
      await stores.close();
    });
    return { clock, stores, lw };
  }

  it('limits logins per account and per IP, refunds successes, reports failures', async () => {
    const { clock, stores, lw } = await withLoginLimits({
      anomaly: { authFailures: { perUser: { limit: 2, window: '15m' } } },
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

  it("gives successful logins their charge back under 'fallback' while the store is down", async () => {
    const clock = createManualClock();
    const window = createSwitchableStore(clock, 'fail');
    const lw = await createLockWatch({
      stores: { window },
      clock,
      audit: false,
      anomaly: false,
      login: { perAccount: { limit: 3, window: '5m' } },
      failure: { rateLimit: { policy: 'fallback' } },
    });
    onTestFinished(() => lw.close());
    for (let i = 0; i < 5; i++) {
      const attempt = await lw.login.attempt({ ip: '203.0.113.1', account: 'alice' });
      expect(attempt.allowed, `login ${i + 1}`).toBe(true);
      await attempt.succeeded();
    }
  });

  it('counts login attempts per IPv6 /64 and per account however the name is spelt', async () => {
    const { lw } = await withLoginLimits();
    // One host holds a /64: its addresses share the per-IP budget.
    const fromV6 = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        lw.login.attempt({ ip: `2001:db8:1:2::${i + 1}`, account: `v6-${i}` }),
      ),
    );
    expect(fromV6.map((a) => a.allowed)).toEqual([true, true, true, true, true, false]);
    expect((await lw.login.attempt({ ip: '2001:db8:1:3::1', account: 'other' })).allowed).toBe(
      true,
    );
    // Full-width, invisible characters and decomposed accents are the same account.
    const spellings = ['alice', 'ａｌｉｃｅ', 'alice\u200b', 'al\u00adice'];
    for (const [i, account] of spellings.entries()) {
      const attempt = await lw.login.attempt({ ip: `203.0.113.${i + 1}`, account });
      expect(attempt.allowed, JSON.stringify(account)).toBe(i < 3);
      await attempt.failed();
    }
    const first = await lw.login.attempt({ ip: '203.0.113.50', account: 'J\u00f6rg' });
    await first.failed();
    await (await lw.login.attempt({ ip: '203.0.113.51', account: 'jo\u0308rg' })).failed();
    await (await lw.login.attempt({ ip: '203.0.113.52', account: 'JÖRG' })).failed();
    expect((await lw.login.attempt({ ip: '203.0.113.53', account: 'jörg' })).allowed).toBe(false);
  });

  it('logs alerts to the console by default, as documented, instead of keeping them unseen', async () => {
    const { code, stdout, stderr } = await runModule(`
      const { createLockWatch } = await import(${JSON.stringify(index)});
      const lw = await createLockWatch({ anomaly: { burst: { limit: 1, window: '10s' } } });
      for (let i = 0; i < 3; i++) {
        const decision = await lw.limiter.check('ip:203.0.113.9');
        lw.monitor.inspect(decision, { subject: 'ip:203.0.113.9', ip: '203.0.113.9', endpoint: '/x', method: 'GET' });
      }
      await lw.close();
      process.stdout.write(JSON.stringify(lw.alerts.counts));
    `);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ raised: 2, sent: 1, suppressed: 1 });
    expect(stderr).toMatch(/^LockWatch alert burst ip:203\.0\.113\.9 \{.*"ip":"203\.0\.113\.9"/m);
  });

  it("memoryStores' capturing alert sink keeps only the newest alerts", async () => {
    const clock = createManualClock();
    const stores = memoryStores({ clock, maxAlerts: 8 });
    const alerts = Array.from({ length: 20 }, (_, i) =>
      createAlert({
        type: 'burst',
        subject: `ip:192.0.2.${i}`,
        ip: `192.0.2.${i}`,
        timestamp: clock.now(),
        requestCountInWindow: 51,
        windowMs: 10_000,
        endpoint: '/',
        method: 'GET',
        severity: 'warning',
      }),
    );
    for (const alert of alerts) await stores.alerts.send(alert);
    expect(stores.alerts.alerts.length).toBeLessThanOrEqual(8);
    expect(stores.alerts.alerts.length + stores.alerts.evicted).toBe(20);
    expect(stores.alerts.alerts.at(-1)!.id).toBe(alerts[19]!.id);
    expect(memoryStores().alerts.evicted).toBe(0);
    expect(() => memoryStores({ maxAlerts: 0 })).toThrow(/Invalid option maxAlerts/);
  });

  it('refuses a misspelt option anywhere, naming its full path and the option meant', async () => {
    const hook = () => undefined;
    const cases: [LockWatchOptions, string, RegExp?][] = [
      [
        { http: { rotues: [{ path: '/admin', guard: hook }] } } as never,
        'http.rotues',
        /did you mean http.routes\?/,
      ],
      [{ http: { trustproxy: 1 } } as never, 'http.trustproxy', /did you mean http.trustProxy\?/],
      [
        { http: { hooks: { onFinsh: hook } } } as never,
        'http.hooks.onFinsh',
        /did you mean http.hooks.onFinish\?/,
      ],
      [{ http: { routes: [{ path: '/admin', gaurd: hook }] } } as never, 'http.routes[0].gaurd'],
      [{ http: { skip: { path: ['/health'] } } } as never, 'http.skip.path'],
      [{ rateLimit: { limt: 5 } } as never, 'rateLimit.limt', /did you mean rateLimit.limit\?/],
      [
        { rateLimit: { policies: [{ name: 'p', limit: 1, windw: '1s' }] } } as never,
        'rateLimit.policies[0].windw',
      ],
      [{ ratelimit: { limit: 5 } } as never, 'ratelimit', /did you mean rateLimit\?/],
      [{ anomaly: { burst: { treshold: 5 } } } as never, 'anomaly.burst.treshold'],
      [{ anomaly: { bans: { intial: '1m' } } } as never, 'anomaly.bans.intial'],
      [{ anomaly: { authFailures: { perIP: false } } } as never, 'anomaly.authFailures.perIP'],
      [{ alerts: { dedupe: '1m' } } as never, 'alerts.dedupe', /did you mean alerts.dedup\?/],
      [{ audit: { retry: { intial: '1s' } } } as never, 'audit.retry.intial'],
      [
        { failure: { rateLimit: { breaker: { cooldown: 5 } } } } as never,
        'failure.rateLimit.breaker.cooldown',
      ],
      [{ login: { perIp: { limit: 5, window: '1m', burst: 2 } } } as never, 'login.perIp.burst'],
      [
        { tokens: { ...(await tokens()), cookie: { samesite: 'Lax' } } } as never,
        'tokens.cookie.samesite',
      ],
      [{ tokens: { ...(await tokens()), refreshTTL: '1d' } } as never, 'tokens.refreshTTL'],
    ];
    for (const [options, option, message] of cases) {
      const error = await rejection(options);
      expect(error.option, option).toBe(option);
      if (message !== undefined) expect(error.message, option).toMatch(message);
    }
    // A secret under a misspelt name is not shown.
    const secret = await rejection({
      tokens: { ...(await tokens()), secrett: 'hunter2-hunter2' },
    } as never);
    expect(secret.message).not.toContain('hunter2');
    // Spelt right, the guard is installed.
    const lw = await createLockWatch({
      http: {
        routes: [
          {
            path: '/admin',
            guard: () => ({
              allow: false,
              reply: { status: 401, headers: {}, body: '{"error":"unauthorized"}' },
            }),
          },
        ],
      },
    });
    onTestFinished(() => lw.close());
    const get = await serve(lw.pipeline);
    expect((await get('/admin')).status).toBe(401);
    expect((await get('/other')).status).toBe(200);
  });

  it('names each bad option by the path the user wrote', async () => {
    const fn = () => undefined;
    const cases: [LockWatchOptions, string][] = [
      [{ alerts: { dedup: 0 } }, 'alerts.dedup'],
      [{ alerts: { queueSize: 0 } }, 'alerts.queueSize'],
      [{ alerts: { onEvent: 'x' as never } }, 'alerts.onEvent'],
      [{ anomaly: { onEvent: 'x' as never } }, 'anomaly.onEvent'],
      [{ failure: { onEvent: 'x' as never } }, 'failure.onEvent'],
      [{ anomaly: { burst: { limit: 0 } } }, 'anomaly.burst.limit'],
      [{ anomaly: { bans: { multiplier: 0 } } }, 'anomaly.bans.multiplier'],
      [{ anomaly: { lists: { deny: ['10.0.0.1/8'] } } }, 'anomaly.lists.deny[0]'],
      [{ rateLimit: { cost: -1 } }, 'rateLimit.cost'],
      [{ rateLimit: { cost: 101 } }, 'rateLimit.cost'],
      [
        { rateLimit: { policies: [{ name: 'p', limit: 0, window: '1s' }] } },
        'rateLimit.policies[0].limit',
      ],
      [
        { rateLimit: { policies: [{ name: 'burst', limit: 5, window: '1s' }] } },
        'anomaly.burst.name',
      ],
      [{ http: { hooks: { onFinish: 'x' as never } } }, 'http.hooks.onFinish'],
      [{ http: { hooks: { beforeLimit: [fn, 'x' as never] } } }, 'http.hooks.beforeLimit[1]'],
      [{ http: { trustProxy: 'yes' as never } }, 'http.trustProxy'],
      [{ http: { trustProxy: ['10.0.0.0/8', 'proxy'] } }, 'http.trustProxy[1]'],
      [{ http: { ipHeader: 'x-real-ip' as never } }, 'http.ipHeader'],
      [{ http: { guard: 'x' as never } }, 'http.guard'],
      [{ http: { routes: 'x' as never } }, 'http.routes'],
      [{ http: { routes: [{ path: '/a', cost: 101 }] } }, 'http.routes[0].cost'],
      [{ http: { headers: { legacy: 'yes' as never } } }, 'http.headers.legacy'],
      [{ audit: { flushInterval: 0 } }, 'audit.flushInterval'],
      [
        { tokens: { ...(await tokens()), cookie: { sameSite: 'Loose' as never } } },
        'tokens.cookie.sameSite',
      ],
      [{ tokens: { ...(await tokens()), accessTokenTtl: '1s' } }, 'tokens.accessTokenTtl'],
      [
        { tokens: await tokens(), failure: { tokens: { policy: 'fallback' as never } } },
        'failure.tokens.policy',
      ],
      [{ stores: { ...memoryStores(), audit: 'x' as never } }, 'stores.audit'],
    ];
    for (const [options, option] of cases) {
      expect((await rejection(options)).option, option).toBe(option);
    }
  });

  it('refuses a trusted-proxy range that holds every address, as it refuses true', async () => {
    for (const [trustProxy, option] of [
      [['0.0.0.0/0', '::/0'], 'http.trustProxy[0]'],
      [['10.0.0.0/8', '::/0'], 'http.trustProxy[1]'],
      [['::ffff:0:0/96'], 'http.trustProxy[0]'],
    ] as const) {
      const error = await rejection({ http: { trustProxy } });
      expect(error.option).toBe(option);
      expect(error.message).toMatch(
        /your own proxies \(such as 10\.0\.0\.0\/8\), or a hop count such as 1/,
      );
    }
    const lw = await createLockWatch({ http: { trustProxy: ['10.0.0.0/8', 'fd00::/8'] } });
    await lw.close();
  });

  it('requires rateLimit.policies to be a non-empty array, alone', async () => {
    const policy = { name: 'p', limit: 5, window: '1s' };
    const cases: [LockWatchOptions, string, RegExp][] = [
      [{ rateLimit: { policies: [] } }, 'rateLimit.policies', /a non-empty array of policies/],
      [{ rateLimit: { policies: 'x' as never } }, 'rateLimit.policies', /a non-empty array/],
      [
        { rateLimit: { policies: [policy], limit: 7 } },
        'rateLimit.limit',
        /no limit beside rateLimit.policies/,
      ],
      [{ rateLimit: { policies: [policy], window: '1m' } }, 'rateLimit.window', /no window beside/],
      [
        { rateLimit: { policies: [policy], algorithm: 'gcra' } },
        'rateLimit.algorithm',
        /no algorithm beside/,
      ],
      [{ rateLimit: { policies: [policy], burst: 3 } }, 'rateLimit.burst', /no burst beside/],
    ];
    for (const [options, option, message] of cases) {
      const error = await rejection(options);
      expect(error.option, option).toBe(option);
      expect(error.message, option).toMatch(message);
    }
    const lw = await createLockWatch({ rateLimit: { policies: [policy] }, anomaly: false });
    expect(lw.limiter!.policies.map((p) => p.name)).toEqual(['p']);
    await lw.close();
  });

  it('a refresh lifetime above 30 days lengthens the session; one above an explicit session age is refused', async () => {
    const clock = createManualClock(Date.UTC(2025, 0, 1));
    const lw = await createLockWatch({
      clock,
      tokens: { ...(await tokens()), refreshTokenTtl: '90d' },
    });
    onTestFinished(() => lw.close());
    const pair = await lw.sessions!.issue('alice');
    expect(pair.refreshExpiresAt - clock.now()).toBe(90 * 86_400_000);
    clock.advance(60 * 86_400_000);
    await expect(lw.sessions!.refresh(pair.refreshToken)).resolves.toMatchObject({
      accessToken: expect.stringMatching(/^eyJ/),
    });
    const error = await rejection({
      tokens: { ...(await tokens()), refreshTokenTtl: '90d', sessionMaxAge: '30d' },
    });
    expect(error.option).toBe('tokens.refreshTokenTtl');
    expect(error.message).toMatch(/at most tokens.sessionMaxAge \(2592000000 ms\)/);
  });

  it('close() keeps the process alive until it settles, even when only clock timers are left', async () => {
    // An alert sink whose close waits on the system clock, as the webhook drain does: the clock's
    // timers are unref'd, so without close() holding the process, it would exit mid-close.
    const { code, stdout, stderr } = await runModule(`
      const { createLockWatch, memoryStores, systemClock } = await import(${JSON.stringify(index)});
      const stores = memoryStores();
      const alerts = { async send() {}, close: () => new Promise((resolve) => systemClock.schedule(300, resolve)) };
      const lw = await createLockWatch({ stores: { ...stores, alerts } });
      let closed = false;
      process.on('exit', () => { if (!closed) process.stdout.write('EXITED-EARLY'); });
      await lw.close();
      closed = true;
      await stores.close();
      process.stdout.write('closed');
    `);
    expect(stdout, stderr).toBe('closed');
    expect(code, stderr).toBe(0);
  });

  it('close() flushes the audit log and drains alerts together: one bound, not the sum of two', async () => {
    const clock = createManualClock();
    const receiver = await startReceiver(() => 'hang');
    onTestFinished(() => receiver.close());
    const audit = createSwitchableAuditSink('hang');
    const sink = createWebhookAlertSink({
      endpoints: [{ url: receiver.url, secret: generateWebhookSecret() }],
      clock,
      timeoutMs: 60_000,
      drainTimeoutMs: 10_000,
    });
    const lw = await createLockWatch({
      clock,
      stores: { window: memoryStores({ clock }).window, audit, alerts: sink },
      anomaly: { burst: { limit: 1, window: '10s' } },
      audit: { closeTimeout: '10s' },
    });
    const get = await serve(lw.pipeline);
    for (let i = 0; i < 3; i++) expect((await get('/')).status).toBe(200);
    await receiver.until(1); // the alert is in flight, its receiver silent
    let settled = false;
    const closed = lw.close().then(() => {
      settled = true;
    });
    // Let close() reach both waits (the audit write hangs, the delivery hangs) before the clock moves.
    await vi.waitFor(() => expect(audit.hanging).toBeGreaterThan(0));
    expect(sink.endpoints[0]!.counts.pending).toBe(1);
    clock.advance(10_000);
    await vi.waitFor(() => expect(settled).toBe(true), { timeout: 5000 });
    await closed;
    expect(lw.audit!.stats.droppedTotal).toBeGreaterThan(0);
    expect(sink.endpoints[0]!.counts).toMatchObject({ failed: 1, pending: 0 });
  });

  it('validates options at creation and names the bad one', async () => {
    const cases: [LockWatchOptions, string][] = [
      [{ rateLimit: { limit: 0 } }, 'rateLimit.limit'],
      [{ rateLimit: { window: '10 parsecs' } }, 'rateLimit.window'],
      [{ rateLimit: { key: 'ssn' as never } }, 'rateLimit.key'],
      [{ failure: { rateLimit: { policy: 'maybe' as never } } }, 'failure.rateLimit.policy'],
      [{ anomaly: { burst: { limit: -1 } } }, 'anomaly.burst.limit'],
      [{ login: { perAccount: { limit: 1, window: 'soon' } } }, 'login.perAccount.window'],
      [{ audit: { batchSize: 0 } }, 'audit.batchSize'],
      [{ http: { errorFormat: 'xml' as never } }, 'http.errorFormat'],
      [{ tokens: { issuer: 'x', audience: 'y', keys: [] } }, 'tokens.keys'],
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
