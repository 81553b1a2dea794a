import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockWatchFromEnv, readLockWatchEnv } from '../../src/compose/env.ts';
import { InvalidOptionError } from '../../src/domain/config/errors.ts';
import { redisServices } from '../support/redis.ts';

const dir = mkdtempSync(join(tmpdir(), 'lockwatch-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
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
        /got "localhost:6379"; expected a URL \(redis:, rediss:\)/,
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
        /got "ftp:\/\/x\/y"; expected a URL \(http:, https:\)/,
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
});

describe('lockWatchFromEnv loading', () => {
  it('loads no client library unless a variable names its store', async () => {
    const { execFile } = await import('node:child_process');
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
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', probe],
        { env: { ...process.env, NODE_OPTIONS: '' } },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    const { before, after } = JSON.parse(output) as { before: string[]; after: string[] };
    expect(before).toEqual([]);
    expect(after.some((s) => s.startsWith('@mikro-orm'))).toBe(true);
    expect(after.some((s) => s === 'ioredis' || s === 'undici')).toBe(false);
  });
});
