/**
 * What the composition root checks of its options before it hands them to
 * the parts: the keys every options object may have (so a misspelt option
 * is refused, never ignored), and the renaming of a part's errors to the
 * path the user wrote. Internal: not exported from the package.
 */
import { InvalidOptionError, renameOptionError } from '../domain/config/errors.ts';
import type { KeyShape } from '../domain/config/validate.ts';
import type { PolicyOptions } from '../domain/ratelimit/policy.ts';
import type { LockWatchOptions } from './lockwatch.ts';
import type { LoginThreshold } from './login.ts';

// A shape must name every key of its options type, and nothing else: `satisfies` makes the
// compiler check both, so a new option cannot be forgotten here and then refused as a typo.
type ShapeOf<T> = { readonly [K in keyof Required<T>]: KeyShape | true };
type Part<K extends keyof LockWatchOptions> = Exclude<NonNullable<LockWatchOptions[K]>, false>;

const breaker = { failureThreshold: true, cooldownMs: true } satisfies ShapeOf<
  NonNullable<NonNullable<Part<'failure'>['rateLimit']>['breaker']>
>;

/** The keys of one rate-limit policy (`rateLimit.policies[i]`). */
export const policyShape = {
  name: true,
  limit: true,
  window: true,
  algorithm: true,
  burst: true,
  mode: true,
} satisfies ShapeOf<PolicyOptions>;

const threshold = { limit: true, window: true } satisfies ShapeOf<LoginThreshold>;

const authThreshold = {
  limit: true,
  window: true,
  algorithm: true,
  severity: true,
} satisfies ShapeOf<
  Exclude<NonNullable<Exclude<Part<'anomaly'>['authFailures'], false>>['perIp'], false | undefined>
>;

const tokens = {
  issuer: true,
  audience: true,
  keys: true,
  signingKid: true,
  clientId: true,
  accessTokenTtl: true,
  refreshTokenTtl: true,
  sessionMaxAge: true,
  refreshGrace: true,
  clockTolerance: true,
  maxTokenBytes: true,
  secret: true,
  purposes: true,
  validators: true,
  cookie: {
    name: true,
    path: true,
    domain: true,
    sameSite: true,
    secure: true,
    partitioned: true,
  } satisfies ShapeOf<NonNullable<Part<'tokens'>['cookie']>>,
} satisfies ShapeOf<Part<'tokens'>>;

/** The keys of {@link LockWatchOptions}, nested. */
export const lockWatchShape = {
  stores: true,
  rateLimit: {
    limit: true,
    window: true,
    algorithm: true,
    burst: true,
    policies: true,
    key: true,
    cost: true,
  } satisfies ShapeOf<Part<'rateLimit'>>,
  login: { perIp: threshold, perAccount: threshold } satisfies ShapeOf<Part<'login'>>,
  anomaly: {
    burst: {
      limit: true,
      window: true,
      algorithm: true,
      name: true,
      severity: true,
    } satisfies ShapeOf<Exclude<NonNullable<Part<'anomaly'>['burst']>, false>>,
    authFailures: {
      perIp: authThreshold,
      perUser: authThreshold,
      ipv4Prefix: true,
      ipv6Prefix: true,
    } satisfies ShapeOf<Exclude<NonNullable<Part<'anomaly'>['authFailures']>, false>>,
    bans: {
      initial: true,
      multiplier: true,
      max: true,
      forgetAfter: true,
      localCacheMs: true,
      localCacheSize: true,
      name: true,
      on: true,
    } satisfies ShapeOf<Exclude<NonNullable<Part<'anomaly'>['bans']>, false>>,
    lists: { allow: true, deny: true } satisfies ShapeOf<NonNullable<Part<'anomaly'>['lists']>>,
    onEvent: true,
  } satisfies ShapeOf<Part<'anomaly'>>,
  tokens,
  audit: {
    maxQueue: true,
    batchSize: true,
    flushInterval: true,
    retry: { initial: true, max: true } satisfies ShapeOf<NonNullable<Part<'audit'>['retry']>>,
    writeTimeout: true,
    closeTimeout: true,
    random: true,
    randomFill: true,
  } satisfies ShapeOf<Part<'audit'>>,
  alerts: { dedup: true, queueSize: true, onEvent: true } satisfies ShapeOf<Part<'alerts'>>,
  failure: {
    rateLimit: { policy: true, timeoutMs: true, breaker } satisfies ShapeOf<
      NonNullable<Part<'failure'>['rateLimit']>
    >,
    tokens: { policy: true, timeoutMs: true, rotateTimeoutMs: true, breaker } satisfies ShapeOf<
      NonNullable<Part<'failure'>['tokens']>
    >,
    onEvent: true,
  } satisfies ShapeOf<Part<'failure'>>,
  // routes, skip and headers are checked, key by key, by the pipeline they are handed to.
  http: {
    trustProxy: true,
    ipHeader: true,
    skip: true,
    routes: true,
    headers: true,
    errorFormat: true,
    problemTypeBase: true,
    guard: true,
    requestId: true,
    hooks: { beforeLimit: true, onDecision: true, onFinish: true } satisfies ShapeOf<
      NonNullable<Part<'http'>['hooks']>
    >,
  } satisfies ShapeOf<Part<'http'>>,
  clock: true,
  onError: true,
} satisfies ShapeOf<LockWatchOptions>;

/**
 * Runs `build`, raising an InvalidOptionError it throws (synchronously or
 * from the promise it returns) under `rename(option)`: the parts name their
 * options as they know them (`batchSize`, `dedupPeriod`), the user wrote
 * `audit.batchSize` and `alerts.dedup`.
 */
export function under<T>(rename: (option: string) => string, build: () => T): T {
  const renamed = (error: unknown) =>
    error instanceof InvalidOptionError ? renameOptionError(error, rename(error.option)) : error;
  let result: T;
  try {
    result = build();
  } catch (error) {
    throw renamed(error);
  }
  if (result instanceof Promise) {
    return result.catch((error: unknown) => {
      throw renamed(error);
    }) as T;
  }
  return result;
}

/** A rename that puts `prefix.` before the part's own path. */
export function prefixed(prefix: string): (option: string) => string {
  return (option) => `${prefix}.${option}`;
}

/** Throws unless `value` is undefined or a function. */
export function functionOption(option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new InvalidOptionError(option, value, 'a function');
  }
}

/** Throws unless `value` is undefined, a function, or an array of functions. */
export function hookOption(option: string, value: unknown): void {
  if (value === undefined) return;
  const accepted = 'a function, or an array of functions';
  if (Array.isArray(value)) {
    value.forEach((hook: unknown, index) => {
      if (typeof hook !== 'function')
        throw new InvalidOptionError(`${option}[${index}]`, hook, accepted);
    });
  } else if (typeof value !== 'function') {
    throw new InvalidOptionError(option, value, accepted);
  }
}
