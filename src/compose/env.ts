/**
 * Configuration from the environment: `readLockWatchEnv` validates every
 * variable at start-up (an error names the variable, the value and what is
 * accepted; secrets are never echoed), and `lockWatchFromEnv` builds a
 * LockWatch on the stores they name. The Redis, SQL and webhook adapters are
 * imported only when their variable is set, so `import 'lockwatch'` still
 * loads no client library.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseDatabaseUrl, type SqlTarget } from '../adapters/sql/config.ts';
import { durationOption } from '../domain/config/duration.ts';
import { InvalidOptionError, renameOptionError } from '../domain/config/errors.ts';
import { redactUrl } from '../domain/config/redact.ts';
import { knownKeysOption } from '../domain/config/validate.ts';
import type { FailureMode } from '../domain/failure/policy.ts';
import { parseCidr } from '../domain/net/ip.ts';
import type { TrustProxy } from '../domain/ratelimit/keys.ts';
import type { KeyOptions, TokenAlgorithm } from '../domain/tokens/keys.ts';
import type { AlertSink } from '../ports/alert-sink.ts';
import type { AuditReader, AuditSink } from '../ports/audit.ts';
import type { TokenStore } from '../ports/token-store.ts';
import type { WindowStore } from '../ports/window-store.ts';
import { createLockWatch, type LockWatch, type LockWatchOptions } from './lockwatch.ts';
import { lockWatchShape } from './options.ts';
import { memoryStores } from './stores.ts';

/** Every variable {@link readLockWatchEnv} reads, in documentation order. */
export const lockWatchEnvVariables = [
  'REDIS_URL',
  'LOCKWATCH_DATABASE_URL',
  'JWT_SECRET',
  'LOCKWATCH_JWT_PRIVATE_KEY_FILE',
  'LOCKWATCH_JWKS_FILE',
  'LOCKWATCH_RATE_LIMIT',
  'LOCKWATCH_RATE_WINDOW',
  'LOCKWATCH_BURST_THRESHOLD',
  'LOCKWATCH_BURST_WINDOW',
  'LOCKWATCH_ALERT_DEDUP',
  'LOCKWATCH_WEBHOOK_URLS',
  'LOCKWATCH_WEBHOOK_SECRET',
  'LOCKWATCH_ON_STORE_FAILURE',
  'LOCKWATCH_TRUST_PROXY',
  'LOCKWATCH_ACCESS_TTL',
  'LOCKWATCH_REFRESH_TTL',
] as const;

/** The name of one variable LockWatch reads. */
export type LockWatchEnvVariable = (typeof lockWatchEnvVariables)[number];

/** The validated environment; undefined fields were not set. */
export interface LockWatchEnv {
  /** `REDIS_URL`: rate limits, sessions, dedup on Redis. */
  readonly redisUrl: string | undefined;
  /** `LOCKWATCH_DATABASE_URL`: the audit log on SQLite or PostgreSQL. */
  readonly databaseUrl: string | undefined;
  /** Signing keys from `JWT_SECRET`, `LOCKWATCH_JWT_PRIVATE_KEY_FILE` or `LOCKWATCH_JWKS_FILE`. */
  readonly keys: readonly KeyOptions[] | undefined;
  /** The variable the keys came from. */
  readonly keySource: LockWatchEnvVariable | undefined;
  /** `LOCKWATCH_RATE_LIMIT`: requests per window; 100. */
  readonly rateLimit: number;
  /** `LOCKWATCH_RATE_WINDOW`, ms; 60,000. */
  readonly rateWindowMs: number;
  /** `LOCKWATCH_BURST_THRESHOLD`: more than this in the burst window is an anomaly; 50. */
  readonly burstThreshold: number;
  /** `LOCKWATCH_BURST_WINDOW`, ms; 10,000. */
  readonly burstWindowMs: number;
  /** `LOCKWATCH_ALERT_DEDUP`, ms; 60,000. */
  readonly alertDedupMs: number;
  /** `LOCKWATCH_WEBHOOK_URLS`, split at commas. */
  readonly webhookUrls: readonly string[];
  /** `LOCKWATCH_WEBHOOK_SECRET` (`whsec_…`). */
  readonly webhookSecret: string | undefined;
  /** `LOCKWATCH_ON_STORE_FAILURE`; `open`. */
  readonly onStoreFailure: FailureMode;
  /** `LOCKWATCH_TRUST_PROXY`: hop count or CIDR list; `false` (none). */
  readonly trustProxy: TrustProxy;
  /** `LOCKWATCH_ACCESS_TTL`, ms; 900,000 (15 min). */
  readonly accessTtlMs: number;
  /** `LOCKWATCH_REFRESH_TTL`, ms; 604,800,000 (7 days). */
  readonly refreshTtlMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function read(env: Env, name: LockWatchEnvVariable): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integerVar(env: Env, name: LockWatchEnvVariable, fallback: number, max: number): number {
  const text = read(env, name);
  if (text === undefined) return fallback;
  const value = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new InvalidOptionError(name, text, `an integer from 1 to ${max}`);
  }
  return value;
}

function durationVar(
  env: Env,
  name: LockWatchEnvVariable,
  fallback: number,
  min: number,
  max: number,
): number {
  const text = read(env, name);
  if (text === undefined) return fallback;
  // A bare number would be read as ms, which surprises for a window ("60" meant seconds).
  if (/^\d+$/.test(text)) {
    throw new InvalidOptionError(
      name,
      text,
      `a duration with its unit, such as '${Math.round(fallback / 1000)}s', '15m', '1h', '7d' or '500ms' (from ${min} ms to ${max} ms)`,
    );
  }
  return durationOption(name, text, min, max);
}

function urlVar(
  name: LockWatchEnvVariable,
  text: string,
  schemes: readonly string[],
  keep: 'path' | 'host',
): string {
  const accepted = `a URL (${schemes.join(', ')}; percent-encode any '/', '?', '#' or '@' in a password)`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidOptionError(name, redactUrl(text, keep), accepted);
  }
  if (!schemes.includes(url.protocol)) {
    throw new InvalidOptionError(name, redactUrl(text, keep), accepted);
  }
  return text;
}

// The largest product of limit (or burst) and window in ms a policy takes (see definePolicy).
const maxPolicyProduct = 2 ** 52;

function trustProxyVar(env: Env): TrustProxy {
  const name = 'LOCKWATCH_TRUST_PROXY';
  const text = read(env, name);
  if (text === undefined || text === 'none' || text === 'false') return false;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > 32) {
      throw new InvalidOptionError(
        name,
        text,
        'a hop count from 0 to 32, or a comma-separated CIDR list',
      );
    }
    return hops === 0 ? false : hops;
  }
  const entries = text.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    let prefix: number;
    try {
      prefix = parseCidr(entry, name).prefix;
    } catch {
      throw new InvalidOptionError(
        name,
        text,
        `a hop count (such as 1) or a comma-separated list of addresses and CIDRs such as 10.0.0.0/8,fd00::/8 ('${entry}' is neither)`,
      );
    }
    if (prefix === 0) {
      // Trusting every address trusts every hop: any client could pick its address (as with `true`).
      throw new InvalidOptionError(
        name,
        text,
        `a hop count (such as 1: one reverse proxy) or the addresses and CIDRs of your own proxies, such as 10.0.0.0/8,fd00::/8 ('${entry}' holds every address, so any client could pick its address with X-Forwarded-For)`,
      );
    }
  }
  return entries;
}

function failureVar(env: Env): FailureMode {
  const name = 'LOCKWATCH_ON_STORE_FAILURE';
  const text = read(env, name);
  if (text === undefined) return 'open';
  if (text !== 'open' && text !== 'closed' && text !== 'fallback') {
    throw new InvalidOptionError(name, text, "one of 'open', 'closed', 'fallback'");
  }
  return text;
}

/** A stable key id: base64url SHA-256 of the public key (SPKI), 16 characters. */
function kidOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64url')
    .slice(0, 16);
}

function readFileVar(name: LockWatchEnvVariable, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidOptionError(
      name,
      path,
      `a readable file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
    );
  }
}

function privateKeyFile(path: string): KeyOptions {
  const name = 'LOCKWATCH_JWT_PRIVATE_KEY_FILE';
  const pem = readFileVar(name, path);
  const accepted =
    'a PEM file holding a PKCS#8 private key: EC P-256 (ES256), Ed25519 (EdDSA) or RSA of 2048 bits or more (RS256)';
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new InvalidOptionError(name, path, accepted);
  }
  let alg: TokenAlgorithm | undefined;
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') alg = 'ES256';
  else if (key.asymmetricKeyType === 'ed25519') alg = 'EdDSA';
  else if (key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048) alg = 'RS256';
  if (alg === undefined) throw new InvalidOptionError(name, path, accepted);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  return { kid: kidOf(createPublicKey(key)), alg, privateKey: pkcs8 };
}

interface Jwk {
  readonly kty?: unknown;
  readonly kid?: unknown;
  readonly alg?: unknown;
  readonly d?: unknown;
  readonly k?: unknown;
  readonly [member: string]: unknown;
}

function jwksFile(path: string): KeyOptions[] {
  const name = 'LOCKWATCH_JWKS_FILE';
  const text = readFileVar(name, path);
  const accepted =
    'a JWKS file {"keys":[...]} whose keys each have kid and alg (ES256, EdDSA, RS256, PS256, HS256); keys with private parts sign, the first of them by default';
  let parsed: { keys?: unknown };
  try {
    parsed = JSON.parse(text) as { keys?: unknown };
  } catch {
    throw new InvalidOptionError(name, path, accepted);
  }
  if (!Array.isArray(parsed?.keys) || parsed.keys.length === 0) {
    throw new InvalidOptionError(name, path, accepted);
  }
  const algorithms = ['ES256', 'EdDSA', 'RS256', 'PS256', 'HS256'];
  const keys = (parsed.keys as Jwk[]).map((jwk, index): KeyOptions => {
    if (
      typeof jwk !== 'object' ||
      jwk === null ||
      typeof jwk.kid !== 'string' ||
      typeof jwk.alg !== 'string' ||
      !algorithms.includes(jwk.alg)
    ) {
      throw new InvalidOptionError(`${name} keys[${index}]`, path, accepted);
    }
    const alg = jwk.alg as TokenAlgorithm;
    if (alg === 'HS256') {
      if (jwk.kty !== 'oct' || typeof jwk.k !== 'string') {
        throw new InvalidOptionError(`${name} keys[${index}]`, path, 'an oct JWK with k for HS256');
      }
      return { kid: jwk.kid, alg, secret: Buffer.from(jwk.k, 'base64url') };
    }
    return jwk.d === undefined
      ? { kid: jwk.kid, alg, publicKey: jwk as never }
      : { kid: jwk.kid, alg, privateKey: jwk as never };
  });
  // Signing keys first: the first that can sign signs.
  return [
    ...keys.filter((k) => k.privateKey !== undefined || k.secret !== undefined),
    ...keys.filter((k) => k.privateKey === undefined && k.secret === undefined),
  ];
}

function keysFromEnv(env: Env): {
  keys: KeyOptions[] | undefined;
  source: LockWatchEnvVariable | undefined;
} {
  const secret = read(env, 'JWT_SECRET');
  const keyFile = read(env, 'LOCKWATCH_JWT_PRIVATE_KEY_FILE');
  const jwks = read(env, 'LOCKWATCH_JWKS_FILE');
  const given = [
    secret === undefined ? undefined : 'JWT_SECRET',
    keyFile === undefined ? undefined : 'LOCKWATCH_JWT_PRIVATE_KEY_FILE',
    jwks === undefined ? undefined : 'LOCKWATCH_JWKS_FILE',
  ].filter((v): v is LockWatchEnvVariable => v !== undefined);
  if (given.length > 1) {
    throw new InvalidOptionError(
      given[1]!,
      '(set)',
      `only one of JWT_SECRET, LOCKWATCH_JWT_PRIVATE_KEY_FILE and LOCKWATCH_JWKS_FILE (${given.join(' and ')} are both set)`,
    );
  }
  if (secret !== undefined) {
    const bytes = Buffer.byteLength(secret, 'utf8');
    if (bytes < 32) {
      throw new InvalidOptionError(
        'JWT_SECRET',
        `(hidden, ${bytes} bytes)`,
        'a secret of at least 32 bytes for HS256 (such as the output of `openssl rand -base64 48`)',
      );
    }
    return { keys: [{ kid: 'jwt-secret', alg: 'HS256', secret }], source: 'JWT_SECRET' };
  }
  if (keyFile !== undefined) {
    return { keys: [privateKeyFile(keyFile)], source: 'LOCKWATCH_JWT_PRIVATE_KEY_FILE' };
  }
  if (jwks !== undefined) return { keys: jwksFile(jwks), source: 'LOCKWATCH_JWKS_FILE' };
  return { keys: undefined, source: undefined };
}

/**
 * Reads and validates every LockWatch variable of `env` (see
 * docs/configuration.md). Throws an InvalidOptionError naming the first bad
 * variable, its value (secrets hidden, URL passwords masked) and what is
 * accepted. Key files are read here.
 */
export function readLockWatchEnv(env: Env = process.env): LockWatchEnv {
  if (typeof env !== 'object' || env === null) {
    throw new InvalidOptionError('env', env, 'an object of variables such as process.env');
  }
  const redis = read(env, 'REDIS_URL');
  const database = read(env, 'LOCKWATCH_DATABASE_URL');
  if (database !== undefined && !/^(sqlite3?|postgres(ql)?):/i.test(database)) {
    throw new InvalidOptionError(
      'LOCKWATCH_DATABASE_URL',
      redactUrl(database),
      "'sqlite:<file path>' (such as sqlite:./data/lockwatch.db), 'sqlite::memory:' or 'postgres://user:password@host:5432/database'",
    );
  }
  const urls = read(env, 'LOCKWATCH_WEBHOOK_URLS');
  const webhookUrls =
    urls === undefined
      ? []
      : urls
          .split(',')
          .map((url) => url.trim())
          .filter((url) => url !== '')
          .map((url) => urlVar('LOCKWATCH_WEBHOOK_URLS', url, ['http:', 'https:'], 'host'));
  if (webhookUrls.length > 32) {
    // The count, not the list: webhook URLs carry credentials and tokens.
    throw new InvalidOptionError(
      'LOCKWATCH_WEBHOOK_URLS',
      `(${webhookUrls.length} URLs)`,
      'at most 32 comma-separated URLs',
    );
  }
  const webhookSecret = read(env, 'LOCKWATCH_WEBHOOK_SECRET');
  if (webhookUrls.length > 0 && webhookSecret === undefined) {
    throw new InvalidOptionError(
      'LOCKWATCH_WEBHOOK_SECRET',
      undefined,
      "a Standard Webhooks secret 'whsec_<base64>' (required with LOCKWATCH_WEBHOOK_URLS; make one with generateWebhookSecret() from lockwatch/webhook)",
    );
  }
  if (webhookSecret !== undefined && !/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/.test(webhookSecret)) {
    throw new InvalidOptionError(
      'LOCKWATCH_WEBHOOK_SECRET',
      '(hidden)',
      "a Standard Webhooks secret 'whsec_<base64 of 24 to 64 random bytes>'",
    );
  }
  const { keys, source } = keysFromEnv(env);
  const rateLimit = integerVar(env, 'LOCKWATCH_RATE_LIMIT', 100, 1_000_000_000);
  const rateWindowMs = durationVar(env, 'LOCKWATCH_RATE_WINDOW', 60_000, 1, 366 * 86_400_000);
  if (rateLimit * rateWindowMs > maxPolicyProduct) {
    // Each is within its range, the pair is not: name the variable set last in the docs' sense.
    const windowSet = read(env, 'LOCKWATCH_RATE_WINDOW') !== undefined;
    const name = windowSet ? 'LOCKWATCH_RATE_WINDOW' : 'LOCKWATCH_RATE_LIMIT';
    throw new InvalidOptionError(
      name,
      read(env, name),
      windowSet
        ? `a window of at most ${Math.floor(maxPolicyProduct / rateLimit)} ms with LOCKWATCH_RATE_LIMIT=${rateLimit} (limit × window in ms must stay below 2^52, so that rate-limit arithmetic is exact), or a lower LOCKWATCH_RATE_LIMIT`
        : `at most ${Math.floor(maxPolicyProduct / rateWindowMs)} with a window of ${rateWindowMs} ms (limit × window in ms must stay below 2^52, so that rate-limit arithmetic is exact)`,
    );
  }
  return Object.freeze({
    redisUrl:
      redis === undefined ? undefined : urlVar('REDIS_URL', redis, ['redis:', 'rediss:'], 'path'),
    databaseUrl: database,
    keys,
    keySource: source,
    rateLimit,
    rateWindowMs,
    burstThreshold: integerVar(env, 'LOCKWATCH_BURST_THRESHOLD', 50, 1_000_000),
    burstWindowMs: durationVar(env, 'LOCKWATCH_BURST_WINDOW', 10_000, 1, 86_400_000),
    alertDedupMs: durationVar(env, 'LOCKWATCH_ALERT_DEDUP', 60_000, 1000, 86_400_000),
    webhookUrls: Object.freeze(webhookUrls),
    webhookSecret,
    onStoreFailure: failureVar(env),
    trustProxy: trustProxyVar(env),
    accessTtlMs: durationVar(env, 'LOCKWATCH_ACCESS_TTL', 900_000, 10_000, 86_400_000),
    refreshTtlMs: durationVar(env, 'LOCKWATCH_REFRESH_TTL', 604_800_000, 60_000, 366 * 86_400_000),
  });
}

/** Options of {@link lockWatchFromEnv}: defaults the environment overrides. */
export interface LockWatchFromEnvOptions extends Omit<LockWatchOptions, 'stores' | 'tokens'> {
  /** The variables; `process.env` by default. */
  readonly env?: Env | undefined;
  /** Token settings besides keys and lifetimes (issuer, audience, ...); `lockwatch` and `lockwatch-api` by default. */
  readonly tokens?: Partial<NonNullable<LockWatchOptions['tokens']>> | undefined;
  /** The audit database when `LOCKWATCH_DATABASE_URL` is not set; none (audit kept in memory) by default. */
  readonly defaultDatabaseUrl?: string | undefined;
  /** Migrations when the audit database is opened: `auto` (default on SQLite), `check` (default on PostgreSQL) or `off`. */
  readonly migrate?: 'auto' | 'check' | 'off' | undefined;
}

/** A LockWatch built from the environment, with what it read. */
export interface EnvLockWatch extends LockWatch {
  /** The validated variables. */
  readonly env: LockWatchEnv;
  /** Where each concern's state lives, for logs: such as `{ window: 'redis', audit: 'sqlite' }`. */
  readonly backends: Readonly<Record<'window' | 'tokens' | 'audit' | 'alerts', string>>;
}

const { stores: _stores, ...fromEnvKeys } = lockWatchShape;
const fromEnvShape = {
  ...fromEnvKeys,
  env: true,
  defaultDatabaseUrl: true,
  migrate: true,
} as const;

// The createLockWatch option each variable sets, to name the variable in an error about it.
const optionVariables: readonly (readonly [string, LockWatchEnvVariable])[] = [
  ['rateLimit.limit', 'LOCKWATCH_RATE_LIMIT'],
  ['rateLimit.window', 'LOCKWATCH_RATE_WINDOW'],
  ['anomaly.burst.limit', 'LOCKWATCH_BURST_THRESHOLD'],
  ['anomaly.burst.window', 'LOCKWATCH_BURST_WINDOW'],
  ['alerts.dedup', 'LOCKWATCH_ALERT_DEDUP'],
  ['failure.rateLimit.policy', 'LOCKWATCH_ON_STORE_FAILURE'],
  ['http.trustProxy', 'LOCKWATCH_TRUST_PROXY'],
  ['tokens.accessTokenTtl', 'LOCKWATCH_ACCESS_TTL'],
  ['tokens.refreshTokenTtl', 'LOCKWATCH_REFRESH_TTL'],
];

/**
 * Creates a LockWatch from the environment: Redis for rate limits, bursts,
 * dedup and sessions when `REDIS_URL` is set (memory otherwise), the audit
 * log on `LOCKWATCH_DATABASE_URL` (or `defaultDatabaseUrl`; memory
 * otherwise), webhooks from `LOCKWATCH_WEBHOOK_URLS`, tokens when a key
 * variable is set or `tokens.keys` is given. A variable that is set wins
 * over the same setting in `options`; `LOCKWATCH_RATE_LIMIT` and
 * `LOCKWATCH_RATE_WINDOW` are refused beside `rateLimit.policies`.
 * Everything, options and variables, is validated before any connection is
 * opened; an error about a value a variable set names the variable.
 */
export async function lockWatchFromEnv(
  options: LockWatchFromEnvOptions = {},
): Promise<EnvLockWatch> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError('options', options, 'an object');
  }
  knownKeysOption('', options, fromEnvShape);
  const { env: given, defaultDatabaseUrl, migrate, tokens, ...rest } = options;
  const variables = given ?? process.env;
  const env = readLockWatchEnv(variables);
  if (migrate !== undefined && !['auto', 'check', 'off'].includes(migrate)) {
    throw new InvalidOptionError('migrate', migrate, "one of 'auto', 'check', 'off'");
  }
  const databaseUrl = env.databaseUrl ?? defaultDatabaseUrl;
  const databaseOption =
    env.databaseUrl === undefined ? 'defaultDatabaseUrl' : 'LOCKWATCH_DATABASE_URL';
  let target: SqlTarget | undefined;
  if (databaseUrl !== undefined) {
    try {
      target = parseDatabaseUrl(databaseUrl, databaseOption);
    } catch (error) {
      throw error instanceof InvalidOptionError && typeof databaseUrl === 'string'
        ? renameOptionError(error, databaseOption, redactUrl(databaseUrl))
        : error;
    }
  }
  const composed = composeOptions(variables, env, rest, tokens);
  const fromVariables = <T>(build: () => Promise<T>): Promise<T> =>
    build().catch((error: unknown) => {
      throw error instanceof InvalidOptionError ? namingVariable(error, variables, env) : error;
    });
  // createLockWatch validates as it builds, so it runs once on throwaway memory stores first: a
  // mistake in the options must not open Redis or connect to (and migrate) a database first.
  await fromVariables(async () => (await createLockWatch(composed)).close());

  const closers: (() => Promise<unknown>)[] = [];
  // The stores are independent of one another: closed together, a shutdown waits for the
  // slowest one (a Redis that stopped answering waits out its QUIT), not for their sum.
  const closeAll = async () => {
    await Promise.all(closers.splice(0).map((close) => close().catch(() => {})));
  };
  try {
    const memory = memoryStores({ clock: rest.clock });
    closers.push(() => memory.close());
    let window: WindowStore = memory.window;
    let tokenStore: TokenStore = memory.tokens;
    let audit: AuditSink = memory.audit;
    let auditReader: AuditReader = memory.auditReader;
    let alerts: AlertSink | undefined;
    const backends = { window: 'memory', tokens: 'memory', audit: 'memory', alerts: 'log' };
    if (env.webhookUrls.length > 0) {
      const webhook = await import('../adapters/webhook/index.ts');
      const secret = env.webhookSecret!;
      try {
        webhook.parseWebhookSecret(secret, 'LOCKWATCH_WEBHOOK_SECRET');
      } catch {
        throw new InvalidOptionError(
          'LOCKWATCH_WEBHOOK_SECRET',
          '(hidden)',
          "a Standard Webhooks secret 'whsec_<base64 of 24 to 64 random bytes>'",
        );
      }
      // Makes no connection until the first alert.
      const sink = webhook.createWebhookAlertSink({
        endpoints: env.webhookUrls.map((url) => ({ url, secret })),
        clock: rest.clock,
      });
      // The dispatcher closes its sink with the LockWatch; this closes it if composing fails
      // first (closing twice is harmless).
      closers.push(() => sink.close());
      alerts = sink;
      backends.alerts = 'webhook';
    }
    if (env.redisUrl !== undefined) {
      const redis = await import('../adapters/redis/index.ts');
      const windowStore = redis.createRedisWindowStore({ url: env.redisUrl });
      closers.push(() => windowStore.close());
      const tokenStoreRedis = redis.createRedisTokenStore({ url: env.redisUrl });
      closers.push(() => tokenStoreRedis.close());
      window = windowStore;
      tokenStore = tokenStoreRedis;
      backends.window = 'redis';
      backends.tokens = 'redis';
    }
    if (databaseUrl !== undefined && target !== undefined) {
      const sql = await import('../adapters/sql/index.ts');
      if (target.engine === 'sqlite' && target.file !== ':memory:') {
        mkdirSync(dirname(target.file), { recursive: true });
      }
      const database = await sql.openSqlDatabase({ url: databaseUrl, migrate });
      closers.push(() => database.close());
      audit = sql.createSqlAuditSink(database);
      auditReader = sql.createSqlAuditReader(database);
      backends.audit = target.engine;
    }
    const lw = await fromVariables(() =>
      createLockWatch({
        ...composed,
        stores: { window, tokens: tokenStore, audit, auditReader, alerts },
      }),
    );
    const close = lw.close;
    let closing: Promise<void> | undefined;
    return Object.assign(lw, {
      env,
      backends: Object.freeze(backends),
      close: () => {
        // The stores close even when lw.close() fails; it settles within its own bounds.
        closing ??= close().finally(closeAll);
        return closing;
      },
    });
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * The options of createLockWatch: `options`, with each variable that is set
 * in place of the same setting, and the variables' defaults where neither
 * gives one.
 */
function composeOptions(
  variables: Env,
  env: LockWatchEnv,
  rest: Omit<LockWatchFromEnvOptions, 'env' | 'defaultDatabaseUrl' | 'migrate' | 'tokens'>,
  tokens: LockWatchFromEnvOptions['tokens'],
): LockWatchOptions {
  const isSet = (name: LockWatchEnvVariable) => read(variables, name) !== undefined;
  const keys = env.keys ?? tokens?.keys;
  const rateLimit = rest.rateLimit === false ? false : { ...rest.rateLimit };
  const anomaly = rest.anomaly === false ? false : { ...rest.anomaly };
  if (rateLimit !== false && rateLimit.policies !== undefined) {
    // The variables describe the one default policy; of several policies in code, which one they
    // would change is anyone's guess, and ignoring them would break "a variable that is set wins".
    for (const name of ['LOCKWATCH_RATE_LIMIT', 'LOCKWATCH_RATE_WINDOW'] as const) {
      if (isSet(name)) {
        throw new InvalidOptionError(
          name,
          read(variables, name),
          'no value while the application gives rateLimit.policies in code: the variable sets the single default policy (unset it, or let the code use rateLimit.limit and rateLimit.window)',
        );
      }
    }
  }
  return {
    ...rest,
    rateLimit:
      rateLimit === false
        ? false
        : rateLimit.policies !== undefined
          ? rateLimit
          : {
              ...rateLimit,
              limit: isSet('LOCKWATCH_RATE_LIMIT')
                ? env.rateLimit
                : (rateLimit.limit ?? env.rateLimit),
              window: isSet('LOCKWATCH_RATE_WINDOW')
                ? env.rateWindowMs
                : (rateLimit.window ?? env.rateWindowMs),
            },
    anomaly:
      anomaly === false
        ? false
        : {
            ...anomaly,
            burst:
              anomaly.burst === false
                ? false
                : {
                    ...anomaly.burst,
                    limit: isSet('LOCKWATCH_BURST_THRESHOLD')
                      ? env.burstThreshold
                      : (anomaly.burst?.limit ?? env.burstThreshold),
                    window: isSet('LOCKWATCH_BURST_WINDOW')
                      ? env.burstWindowMs
                      : (anomaly.burst?.window ?? env.burstWindowMs),
                  },
          },
    alerts: {
      ...rest.alerts,
      dedup: isSet('LOCKWATCH_ALERT_DEDUP')
        ? env.alertDedupMs
        : (rest.alerts?.dedup ?? env.alertDedupMs),
    },
    failure: {
      ...rest.failure,
      rateLimit: {
        ...rest.failure?.rateLimit,
        policy: isSet('LOCKWATCH_ON_STORE_FAILURE')
          ? env.onStoreFailure
          : (rest.failure?.rateLimit?.policy ?? env.onStoreFailure),
      },
    },
    http: {
      ...rest.http,
      trustProxy: isSet('LOCKWATCH_TRUST_PROXY')
        ? env.trustProxy
        : (rest.http?.trustProxy ?? env.trustProxy),
    },
    tokens:
      keys === undefined
        ? undefined
        : {
            issuer: 'lockwatch',
            audience: 'lockwatch-api',
            ...tokens,
            keys,
            accessTokenTtl: isSet('LOCKWATCH_ACCESS_TTL')
              ? env.accessTtlMs
              : (tokens?.accessTokenTtl ?? env.accessTtlMs),
            // Unset, the session manager's own default (7 days, as the variable's) applies, and a
            // shorter sessionMaxAge caps it instead of contradicting a value nobody gave.
            refreshTokenTtl: isSet('LOCKWATCH_REFRESH_TTL')
              ? env.refreshTtlMs
              : tokens?.refreshTokenTtl,
          },
  };
}

/** `error` under the variable that set its option, when one did; its value is then the variable's text. */
function namingVariable(error: InvalidOptionError, variables: Env, env: LockWatchEnv): Error {
  const under = (option: string) =>
    error.option === option ||
    error.option.startsWith(`${option}.`) ||
    error.option.startsWith(`${option}[`);
  for (const [option, name] of optionVariables) {
    const text = read(variables, name);
    if (text !== undefined && under(option)) return renameOptionError(error, name, text);
  }
  if (env.keySource !== undefined && under('tokens.keys')) {
    const hidden = env.keySource === 'JWT_SECRET' ? '(hidden)' : read(variables, env.keySource);
    return renameOptionError(error, env.keySource, hidden);
  }
  return error;
}
