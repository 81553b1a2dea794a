import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createManualClock } from '../../src/adapters/clock/manual.ts';
import { lockWatchFromEnv, readLockWatchEnv } from '../../src/compose/env.ts';
import { InvalidOptionError } from '../../src/domain/config/errors.ts';
import { startReceiver } from '../adapters/webhook/receiver.ts';
import { redisServices } from '../support/redis.ts';
import { runModule } from '../support/run-module.ts';

const dir = mkdtempSync(join(tmpdir(), 'lockwatch-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The InvalidOptionError lockWatchFromEnv rejects with. */
async function fromEnvFailure(
  options: Parameters<typeof lockWatchFromEnv>[0],
): Promise<InvalidOptionError> {
  const error = await lockWatchFromEnv(options).then(
    async (lw) => {
      await lw.close();
      return new Error(`accepted ${JSON.stringify(options)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidOptionError);
  return error as InvalidOptionError;
}

/** A TCP server that counts the connections it gets and answers none. */
async function countingServer(): Promise<{ url: string; readonly connections: number }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
  };
}

function failure(env: Record<string, string>): InvalidOptionError {
  try {
    readLockWatchEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('readLockWatchEnv', () => {
  it('gives the documented defaults for an empty environment', () => {
    expect(readLockWatchEnv({})).toEqual({
      redisUrl: undefined,
      databaseUrl: undefined,
      keys: undefined,
      keySource: undefined,
      rateLimit: 100,
      rateWindowMs: 60_000,
      burstThreshold: 50,
      burstWindowMs: 10_000,
      alertDedupMs: 60_000,
      webhookUrls: [],
      webhookSecret: undefined,
      onStoreFailure: 'open',
      trustProxy: false,
      accessTtlMs: 900_000,
      refreshTtlMs: 604_800_000,
    });
  });

  it('reads every variable', () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const env = readLockWatchEnv({
      REDIS_URL: 'redis://127.0.0.1:6379/0',
      LOCKWATCH_DATABASE_URL: 'postgres://app:pw@db:5432/app',
      JWT_SECRET: 'x'.repeat(40),
      LOCKWATCH_RATE_LIMIT: '250',
      LOCKWATCH_RATE_WINDOW: '1m',
      LOCKWATCH_BURST_THRESHOLD: '80',
      LOCKWATCH_BURST_WINDOW: '5s',
      LOCKWATCH_ALERT_DEDUP: '5m',
      LOCKWATCH_WEBHOOK_URLS: 'https://a.example/hook, http://127.0.0.1:9000/b',
      LOCKWATCH_WEBHOOK_SECRET: secret,
      LOCKWATCH_ON_STORE_FAILURE: 'fallback',
      LOCKWATCH_TRUST_PROXY: '10.0.0.0/8, fd00::/8',
      LOCKWATCH_ACCESS_TTL: '5m',
      LOCKWATCH_REFRESH_TTL: '30d',
    });
    expect(env).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379/0',
      databaseUrl: 'postgres://app:pw@db:5432/app',
      keySource: 'JWT_SECRET',
      rateLimit: 250,
      rateWindowMs: 60_000,
      burstThreshold: 80,
      burstWindowMs: 5000,
      alertDedupMs: 300_000,
      webhookUrls: ['https://a.example/hook', 'http://127.0.0.1:9000/b'],
      webhookSecret: secret,
      onStoreFailure: 'fallback',
      trustProxy: ['10.0.0.0/8', 'fd00::/8'],
      accessTtlMs: 300_000,
      refreshTtlMs: 30 * 86_400_000,
    });
    expect(env.keys).toEqual([{ kid: 'jwt-secret', alg: 'HS256', secret: 'x'.repeat(40) }]);
    expect(readLockWatchEnv({ LOCKWATCH_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(readLockWatchEnv({ LOCKWATCH_TRUST_PROXY: 'none' }).trustProxy).toBe(false);
  });

  it('names the variable, the value and what is accepted for each bad value', () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [
        { REDIS_URL: 'localhost:6379' },
        'REDIS_URL',
        /got "localhost:6379"; expected a URL \(redis:, rediss:; percent-encode/,
      ],
      [
        { LOCKWATCH_DATABASE_URL: 'mysql://u:secret@h/db' },
        'LOCKWATCH_DATABASE_URL',
        /got "mysql:\/\/u:\*\*\*@h\/db"; expected 'sqlite:<file path>'/,
      ],
      [
        { LOCKWATCH_RATE_LIMIT: 'lots' },
        'LOCKWATCH_RATE_LIMIT',
        /got "lots"; expected an integer from 1 to 1000000000/,
      ],
      [{ LOCKWATCH_RATE_LIMIT: '0' }, 'LOCKWATCH_RATE_LIMIT', /got "0"/],
      [
        { LOCKWATCH_RATE_WINDOW: '60' },
        'LOCKWATCH_RATE_WINDOW',
        /got "60"; expected a duration with its unit, such as '60s'/,
      ],
      [{ LOCKWATCH_RATE_WINDOW: 'a minute' }, 'LOCKWATCH_RATE_WINDOW', /expected a duration/],
      [
        { LOCKWATCH_BURST_THRESHOLD: '-5' },
        'LOCKWATCH_BURST_THRESHOLD',
        /got "-5"; expected an integer/,
      ],
      [{ LOCKWATCH_BURST_WINDOW: '10x' }, 'LOCKWATCH_BURST_WINDOW', /got "10x"/],
      [{ LOCKWATCH_ALERT_DEDUP: '10ms' }, 'LOCKWATCH_ALERT_DEDUP', /from 1000 ms/],
      [
        {
          LOCKWATCH_WEBHOOK_URLS: 'ftp://x/y',
          LOCKWATCH_WEBHOOK_SECRET: `whsec_${'A'.repeat(44)}`,
        },
        'LOCKWATCH_WEBHOOK_URLS',
        /got "ftp:\/\/x…"; expected a URL \(http:, https:/,
      ],
      [
        { LOCKWATCH_WEBHOOK_URLS: 'https://a.example/hook' },
        'LOCKWATCH_WEBHOOK_SECRET',
        /required with LOCKWATCH_WEBHOOK_URLS/,
      ],
      [{ LOCKWATCH_WEBHOOK_SECRET: 'hunter2' }, 'LOCKWATCH_WEBHOOK_SECRET', /got "\(hidden\)"/],
      [
        { LOCKWATCH_ON_STORE_FAILURE: 'allow' },
        'LOCKWATCH_ON_STORE_FAILURE',
        /got "allow"; expected one of 'open', 'closed', 'fallback'/,
      ],
      [
        { LOCKWATCH_TRUST_PROXY: '10.0.0.1/8' },
        'LOCKWATCH_TRUST_PROXY',
        /'10\.0\.0\.1\/8' is neither/,
      ],
      [{ LOCKWATCH_TRUST_PROXY: '99' }, 'LOCKWATCH_TRUST_PROXY', /a hop count from 0 to 32/],
      [
        { LOCKWATCH_ACCESS_TTL: '2d' },
        'LOCKWATCH_ACCESS_TTL',
        /got "2d"; expected a duration from 10000 ms to 86400000 ms/,
      ],
      [{ LOCKWATCH_REFRESH_TTL: '10s' }, 'LOCKWATCH_REFRESH_TTL', /got "10s"/],
      [
        { JWT_SECRET: 'short-secret' },
        'JWT_SECRET',
        /got "\(hidden, 12 bytes\)"; expected a secret of at least 32 bytes/,
      ],
      [
        { JWT_SECRET: 'x'.repeat(40), LOCKWATCH_JWKS_FILE: '/x' },
        'LOCKWATCH_JWKS_FILE',
        /only one of JWT_SECRET/,
      ],
      [
        { LOCKWATCH_JWT_PRIVATE_KEY_FILE: join(dir, 'missing.pem') },
        'LOCKWATCH_JWT_PRIVATE_KEY_FILE',
        /expected a readable file \(ENOENT\)/,
      ],
      [
        { LOCKWATCH_JWKS_FILE: file('bad.json', '{"keys":[{"kty":"EC"}]}') },
        'LOCKWATCH_JWKS_FILE keys[0]',
        /whose keys each have kid and alg/,
      ],
    ];
    for (const [env, variable, message] of cases) {
      const error = failure(env);
      expect(error.option, variable).toBe(variable);
      expect(error.message, variable).toMatch(
        new RegExp(`^Invalid option ${variable.replace(/[[\]]/g, '\\$&')}: `),
      );
      expect(error.message, variable).toMatch(message);
    }
    // A secret is never echoed.
    expect(failure({ JWT_SECRET: 'short-secret' }).message).not.toContain('short-secret');
  });

  it('refuses a trusted-proxy range that holds every address (any client would pick its IP)', () => {
    for (const value of ['0.0.0.0/0,::/0', '::/0', '10.0.0.0/8, 0.0.0.0/0', '::ffff:0:0/96']) {
      const error = failure({ LOCKWATCH_TRUST_PROXY: value });
      expect(error.option, value).toBe('LOCKWATCH_TRUST_PROXY');
      expect(error.message, value).toMatch(/holds every address, so any client could pick/);
      expect(error.message, value).toMatch(/a hop count \(such as 1/);
    }
    // A narrow range is still fine.
    expect(readLockWatchEnv({ LOCKWATCH_TRUST_PROXY: '10.0.0.0/8,::1' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '::1',
    ]);
  });

  it('never shows a password or a webhook token in an error, however the URL is written', () => {
    const cases: [Record<string, string>, string, string[]][] = [
      // A '/' in the password: no URL parser finds where it ends.
      [
        { REDIS_URL: 'redis://default:Ab3/xY9+kL@redis.internal:6379' },
        'redis://default:***@redis.internal:6379',
        ['Ab3', 'xY9'],
      ],
      [{ REDIS_URL: 'redis://:s3cr#et@127.0.0.1:6379' }, 'redis://***@127.0.0.1:6379', ['s3cr']],
      [{ LOCKWATCH_DATABASE_URL: 'mysql://u:s3c/ret@h/db' }, 'mysql://u:***@h/db', ['s3c', 'ret@']],
      [
        { LOCKWATCH_DATABASE_URL: 'mysql://u:p@ss@h/db?password=again' },
        'mysql://u:***@h/db…',
        ['ss@', 'again'],
      ],
      [
        {
          LOCKWATCH_WEBHOOK_URLS:
            'ftp://alerts:Sup3rSecret@hooks.example.com/services/T0/B0/XXXXSECRET',
          LOCKWATCH_WEBHOOK_SECRET: `whsec_${'A'.repeat(44)}`,
        },
        'ftp://alerts:***@hooks.example.com…',
        ['Sup3rSecret', 'XXXXSECRET'],
      ],
    ];
    for (const [env, shown, hidden] of cases) {
      const error = failure(env);
      expect(error.value, shown).toBe(shown);
      for (const secret of hidden) expect(error.message, shown).not.toContain(secret);
    }
    // More than 32 webhook URLs: the count, not the list.
    const urls = [
      'https://alerts:Sup3rSecret@hooks.example.com/in?token=T0KEN',
      ...Array.from({ length: 32 }, (_, i) => `https://h${i}.example.com/`),
    ].join(',');
    const many = failure({
      LOCKWATCH_WEBHOOK_URLS: urls,
      LOCKWATCH_WEBHOOK_SECRET: `whsec_${'A'.repeat(44)}`,
    });
    expect(many.option).toBe('LOCKWATCH_WEBHOOK_URLS');
    expect(many.value).toBe('(33 URLs)');
    expect(many.message).not.toMatch(/Sup3rSecret|T0KEN/);
  });

  it('refuses a rate limit and window that are each in range but together too large, naming the variable', () => {
    const error = failure({ LOCKWATCH_RATE_LIMIT: '10000000', LOCKWATCH_RATE_WINDOW: '7d' });
    expect(error.option).toBe('LOCKWATCH_RATE_WINDOW');
    expect(error.value).toBe('7d');
    expect(error.message).toMatch(
      /a window of at most 450359962 ms with LOCKWATCH_RATE_LIMIT=10000000/,
    );
    expect(
      readLockWatchEnv({ LOCKWATCH_RATE_LIMIT: '10000000', LOCKWATCH_RATE_WINDOW: '5d' }),
    ).toMatchObject({ rateLimit: 10_000_000, rateWindowMs: 432_000_000 });
    // The documented extremes that do fit: 10⁹ per 75 min, 142,000 per 366 days.
    readLockWatchEnv({ LOCKWATCH_RATE_LIMIT: '1000000000', LOCKWATCH_RATE_WINDOW: '75m' });
    readLockWatchEnv({ LOCKWATCH_RATE_LIMIT: '142000', LOCKWATCH_RATE_WINDOW: '366d' });
    const limit = failure({ LOCKWATCH_RATE_LIMIT: '1000000000', LOCKWATCH_RATE_WINDOW: '76m' });
    expect(limit.option).toBe('LOCKWATCH_RATE_WINDOW');
  });

  it('reads a PEM private key file (algorithm from the key) and a JWKS file', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = file('ec.pem', ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    const fromPem = readLockWatchEnv({ LOCKWATCH_JWT_PRIVATE_KEY_FILE: pem });
    expect(fromPem.keys![0]).toMatchObject({
      alg: 'ES256',
      kid: expect.stringMatching(/^[\w-]{16}$/),
    });
    // The same file gives the same kid on every server.
    expect(readLockWatchEnv({ LOCKWATCH_JWT_PRIVATE_KEY_FILE: pem }).keys![0]!.kid).toBe(
      fromPem.keys![0]!.kid,
    );
    const ed = generateKeyPairSync('ed25519');
    const edPem = file('ed.pem', ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    expect(readLockWatchEnv({ LOCKWATCH_JWT_PRIVATE_KEY_FILE: edPem }).keys![0]!.alg).toBe('EdDSA');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const weakPem = file(
      'weak.pem',
      weak.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    );
    expect(failure({ LOCKWATCH_JWT_PRIVATE_KEY_FILE: weakPem }).message).toMatch(
      /RSA of 2048 bits or more/,
    );

    const signing = { ...ec.privateKey.export({ format: 'jwk' }), kid: 'new', alg: 'ES256' };
    const old = {
      ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
      kid: 'old',
      alg: 'ES256',
    };
    const jwks = file('keys.json', JSON.stringify({ keys: [old, signing] }));
    const keys = readLockWatchEnv({ LOCKWATCH_JWKS_FILE: jwks }).keys!;
    expect(keys.map((k) => [k.kid, k.privateKey !== undefined])).toEqual([
      ['new', true],
      ['old', false],
    ]);
  });
});

describe('lockWatchFromEnv', () => {
  it('builds on memory stores and the environment, variables over options', async () => {
    const lw = await lockWatchFromEnv({
      env: { LOCKWATCH_RATE_LIMIT: '7', JWT_SECRET: 'k'.repeat(32), LOCKWATCH_ACCESS_TTL: '1m' },
      rateLimit: { limit: 1000, window: '1h' },
      tokens: { issuer: 'https://id.example', audience: 'shop' },
    });
    try {
      expect(lw.backends).toEqual({
        window: 'memory',
        tokens: 'memory',
        audit: 'memory',
        alerts: 'log',
      });
      const [api, burst] = lw.limiter!.policies;
      expect([api!.limit, api!.windowMs, burst!.limit]).toEqual([7, 3_600_000, 50]);
      const pair = await lw.sessions!.issue('alice');
      expect(pair.expiresIn).toBe(60);
      const verified = await lw.sessions!.verify(pair.accessToken);
      expect(verified.claims).toMatchObject({
        iss: 'https://id.example',
        aud: 'shop',
        sub: 'alice',
      });
    } finally {
      await lw.close();
    }
  });

  it('opens the stores the variables name: Redis, a SQLite audit file, webhooks', async () => {
    const redis = redisServices().url;
    const lw = await lockWatchFromEnv({
      env: {
        ...(redis === null ? {} : { REDIS_URL: redis }),
        LOCKWATCH_DATABASE_URL: `sqlite:${join(dir, 'nested', 'audit.db')}`,
        LOCKWATCH_WEBHOOK_URLS: 'http://127.0.0.1:9/hook',
        LOCKWATCH_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
      },
    });
    try {
      expect(lw.backends).toEqual({
        window: redis === null ? 'memory' : 'redis',
        tokens: redis === null ? 'memory' : 'redis',
        audit: 'sqlite',
        alerts: 'webhook',
      });
      expect((await lw.limiter!.check('ip:203.0.113.5')).allowed).toBe(true);
      lw.audit!.log({
        ip: '203.0.113.5',
        endpoint: '/x',
        method: 'GET',
        statusCode: 200,
        latencyMs: 1,
      });
      await lw.audit!.flush();
      const page = await lw.auditReader!.query({ ip: '203.0.113.5' });
      expect(page.records).toHaveLength(1);
    } finally {
      await lw.close();
    }
  });

  it('validates every variable before opening any connection', async () => {
    await expect(
      lockWatchFromEnv({
        env: { REDIS_URL: 'redis://127.0.0.1:6379', LOCKWATCH_RATE_WINDOW: 'soon' },
      }),
    ).rejects.toThrow(/^Invalid option LOCKWATCH_RATE_WINDOW: got "soon"/);
  });
  it('validates the options as well as the variables before opening any connection', async () => {
    const redis = await countingServer();
    const file = join(dir, 'never', 'audit.db');
    const cases: [Parameters<typeof lockWatchFromEnv>[0], string][] = [
      [{ rateLimit: { limit: 0 } }, 'rateLimit.limit'],
      [{ http: { rotues: [] } as never }, 'http.rotues'],
      [{ ratelimit: { limit: 5 } } as never, 'ratelimit'],
      [{ stores: {} } as never, 'stores'],
      [{ migrate: 'yes' as never }, 'migrate'],
      [{ tokens: { issuer: 'x', audience: 'y', keys: [] } }, 'tokens.keys'],
    ];
    for (const [options, option] of cases) {
      const error = await fromEnvFailure({
        ...options,
        env: { REDIS_URL: redis.url, LOCKWATCH_DATABASE_URL: `sqlite:${file}` },
      });
      expect(error.option, option).toBe(option);
    }
    expect(redis.connections).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  it('names the variable in an error about a value it set, even when code set the rest', async () => {
    const window = await fromEnvFailure({
      env: { LOCKWATCH_RATE_WINDOW: '7d' },
      rateLimit: { limit: 10_000_000 },
    });
    expect(window.option).toBe('LOCKWATCH_RATE_WINDOW');
    expect(window.value).toBe('7d');
    expect(window.message).toMatch(/below 2\^52 \(limit 10000000/);
    const refresh = await fromEnvFailure({
      env: { JWT_SECRET: 'k'.repeat(32), LOCKWATCH_REFRESH_TTL: '90d' },
      tokens: { sessionMaxAge: '30d' },
    });
    expect(refresh.option).toBe('LOCKWATCH_REFRESH_TTL');
    expect(refresh.message).toMatch(/at most tokens.sessionMaxAge/);
    // Without the variable, a short session is no contradiction: the refresh default follows it.
    const short = await lockWatchFromEnv({
      env: { JWT_SECRET: 'k'.repeat(32) },
      tokens: { sessionMaxAge: '1d' },
    });
    const pair = await short.sessions!.issue('u');
    expect(pair.refreshExpiresAt - Date.now()).toBeLessThanOrEqual(86_400_000);
    await short.close();
  });

  it('refuses LOCKWATCH_RATE_LIMIT or _WINDOW beside rateLimit.policies in code, and keeps the policies otherwise', async () => {
    const policies = [
      { name: 'per-second', limit: 10, window: '1s' },
      { name: 'per-day', limit: 1000, window: '1d' },
    ];
    for (const name of ['LOCKWATCH_RATE_LIMIT', 'LOCKWATCH_RATE_WINDOW']) {
      const error = await fromEnvFailure({
        env: { [name]: name === 'LOCKWATCH_RATE_LIMIT' ? '50' : '30s' },
        rateLimit: { policies },
      });
      expect(error.option).toBe(name);
      expect(error.message).toMatch(/rateLimit.policies/);
    }
    const lw = await lockWatchFromEnv({ env: {}, rateLimit: { policies } });
    try {
      expect(lw.limiter!.policies.map((p) => [p.name, p.limit, p.windowMs])).toEqual([
        ['per-second', 10, 1000],
        ['per-day', 1000, 86_400_000],
        ['burst', 50, 10_000],
      ]);
    } finally {
      await lw.close();
    }
  });

  it('close() settles, and closes the stores, with an alert queued for a receiver that never answers', async () => {
    const receiver = await startReceiver(() => 'hang');
    onTestFinished(() => receiver.close());
    const index = new URL('../../src/index.ts', import.meta.url).href;
    const database = join(dir, 'hung-webhook', 'audit.db');
    // Its own process: one whose last line is `await lw.close()` and that has nothing else to do.
    const source = `
      const { lockWatchFromEnv } = await import(${JSON.stringify(index)});
      const lw = await lockWatchFromEnv({ env: {
        LOCKWATCH_WEBHOOK_URLS: ${JSON.stringify(receiver.url)},
        LOCKWATCH_WEBHOOK_SECRET: 'whsec_${Buffer.alloc(32, 3).toString('base64')}',
        LOCKWATCH_BURST_THRESHOLD: '1',
        LOCKWATCH_DATABASE_URL: 'sqlite:${database}',
      } });
      for (let i = 0; i < 3; i++) {
        const decision = await lw.limiter.check('ip:203.0.113.9');
        lw.monitor.inspect(decision, { subject: 'ip:203.0.113.9', ip: '203.0.113.9', endpoint: '/x', method: 'GET' });
      }
      lw.audit.log({ ip: '203.0.113.9', endpoint: '/x', method: 'GET', statusCode: 200, latencyMs: 1 });
      let closed = false;
      process.on('exit', () => { if (!closed) process.stdout.write('EXITED-EARLY'); });
      await lw.close();
      closed = true;
      // The SQLite database was closed: its write-ahead log is folded back into the file.
      const { existsSync } = await import('node:fs');
      process.stdout.write(JSON.stringify({ alerts: lw.alerts.counts, audit: lw.audit.stats.written, wal: existsSync('${database}-wal') }));
    `;
    const { code, stdout, stderr } = await runModule(source, 60_000);
    expect(stdout, stderr).not.toContain('EXITED-EARLY');
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      alerts: { raised: 2, sent: 1, pending: 0 },
      audit: 1,
      wal: false,
    });
    expect(receiver.requests.length).toBeGreaterThan(0);
  }, 60_000);

  it('a refresh lifetime above 30 days lengthens the session to match instead of being cut to 30 days', async () => {
    const clock = createManualClock(Date.UTC(2025, 0, 1));
    const lw = await lockWatchFromEnv({
      clock,
      env: { JWT_SECRET: 'k'.repeat(32), LOCKWATCH_REFRESH_TTL: '90d' },
    });
    try {
      const sessions = lw.sessions!;
      const pair = await sessions.issue('alice');
      expect(pair.refreshExpiresAt - clock.now()).toBe(90 * 86_400_000);
      // Past the old 30-day cap, the refresh token still works.
      clock.advance(60 * 86_400_000);
      const next = await sessions.refresh(pair.refreshToken);
      expect(next.accessToken).toMatch(/^eyJ/);
    } finally {
      await lw.close();
    }
  });
});

describe('lockWatchFromEnv loading', () => {
  it('loads no client library unless a variable names its store', async () => {
    const index = new URL('../../src/index.ts', import.meta.url).href;
    const probe = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { seen.push(specifier); return next(specifier, context); } });
      const { lockWatchFromEnv } = await import(${JSON.stringify(index)});
      const lw = await lockWatchFromEnv({ env: { LOCKWATCH_RATE_LIMIT: '10' } });
      await lw.close();
      const before = seen.filter((s) => /^(ioredis|@mikro-orm|undici)(\\/|$)/.test(s));
      const withSql = await lockWatchFromEnv({ env: { LOCKWATCH_DATABASE_URL: 'sqlite::memory:' } });
      await withSql.close();
      const after = seen.filter((s) => /^(ioredis|@mikro-orm|undici)(\\/|$)/.test(s));
      process.stdout.write(JSON.stringify({ before, after }));
    `;
    const { code, stdout, stderr } = await runModule(probe);
    expect(code, stderr).toBe(0);
    const { before, after } = JSON.parse(stdout) as { before: string[]; after: string[] };
    expect(before).toEqual([]);
    expect(after.some((s) => s.startsWith('@mikro-orm'))).toBe(true);
    expect(after.some((s) => s === 'ioredis' || s === 'undici')).toBe(false);
  });
});
