/**
 * `createLockWatch`: the composition root. Wires the rate limiter, burst and
 * auth-failure detectors, alerts, sessions, the audit log and the HTTP
 * pipeline to one set of stores, with a failure policy per concern, and
 * returns one object whose `close()` drains everything it started.
 */

import { whileKeepingAlive } from '../adapters/clock/keep-alive.ts';
import { systemClock } from '../adapters/clock/system.ts';
import { withFailurePolicy } from '../adapters/failure/window-store.ts';
import { createLoggingAlertSink } from '../adapters/log/alert-sink.ts';
import { createMemoryWindowStore } from '../adapters/memory/window-store.ts';
import {
  type AlertDispatcher,
  type AlertEvent,
  alertDispatcherFromParts,
} from '../domain/alerts/dispatcher.ts';
import type { AccessListOptions } from '../domain/anomaly/access-list.ts';
import type { AuthFailureOptions } from '../domain/anomaly/auth-failures.ts';
import type { BurstOptions } from '../domain/anomaly/burst.ts';
import {
  type AnomalyMonitor,
  anomalyMonitorFromParts,
  type MonitorBanOptions,
  type MonitorEvent,
} from '../domain/anomaly/monitor.ts';
import type { RequestContext } from '../domain/anomaly/types.ts';
import {
  type AuditLogger,
  type AuditLoggerOptions,
  createAuditLoggerCore,
} from '../domain/audit/logger.ts';
import { generatedId, type MarkedAuditEntry } from '../domain/audit/record.ts';
import { type Duration, durationOption } from '../domain/config/duration.ts';
import { InvalidOptionError } from '../domain/config/errors.ts';
import { knownKeysOption } from '../domain/config/validate.ts';
import type { FailureEvent } from '../domain/failure/events.ts';
import { defineFailurePolicy, type FailureOptions } from '../domain/failure/policy.ts';
import { apiKey, clientIp, type KeyFunction, type TrustProxy } from '../domain/ratelimit/keys.ts';
import type { RateLimiter } from '../domain/ratelimit/limiter.ts';
import { definePolicies, definePolicy, type PolicyOptions } from '../domain/ratelimit/policy.ts';
import type { Algorithm, Policy } from '../domain/ratelimit/types.ts';
import {
  clearRefreshCookie,
  type RefreshCookieOptions,
  readCookie,
  refreshCookieFor,
} from '../domain/tokens/cookies.ts';
import type { SessionTokenOptions } from '../domain/tokens/options.ts';
import type { SessionManager, TokenPair } from '../domain/tokens/types.ts';
import {
  type GuardFailure,
  requireJwt as guardOf,
  type RequireJwtOptions,
} from '../http/guards.ts';
import { createHttpPipeline, madeRequestId } from '../http/pipeline.ts';
import type {
  BeforeLimitHook,
  DecisionHook,
  ErrorFormat,
  FinishEvent,
  FinishHook,
  Guard,
  HeaderOptions,
  HttpHooks,
  HttpOptions,
  HttpPipeline,
  HttpRequest,
  LimitRule,
  RouteRule,
  SkipList,
} from '../http/types.ts';
import type { AuditReader } from '../ports/audit.ts';
import type { Clock } from '../ports/clock.ts';
import type { WindowStore } from '../ports/window-store.ts';
import { createRateLimiter } from '../rate-limiter.ts';
import { createSessionManager, type TokenFailureOptions } from '../sessions.ts';
import { createLoginLimiter, type LoginLimiter, type LoginLimitOptions } from './login.ts';
import {
  functionOption,
  hookOption,
  lockWatchShape,
  policyShape,
  prefixed,
  under,
} from './options.ts';
import { type LockWatchStores, memoryStores } from './stores.ts';

/** The request rate limit: the seed's 100 per 60 s per client IP by default. */
export interface RateLimitOptions {
  /** Requests per window; 100 by default. */
  readonly limit?: number | undefined;
  /** The window; 60 s by default. */
  readonly window?: Duration | undefined;
  /** Algorithm; `gcra` by default. */
  readonly algorithm?: Algorithm | undefined;
  /** gcra only: requests admitted at once; `limit` by default. */
  readonly burst?: number | undefined;
  /** Several policies (such as 10/s and 1000/day): a non-empty array, instead of `limit`, `window`, `algorithm` and `burst`. */
  readonly policies?: readonly PolicyOptions[] | undefined;
  /** The subject: `ip` (default), `apiKey` (the hashed `X-API-Key` header), or a key function. */
  readonly key?: 'ip' | 'apiKey' | KeyFunction<HttpRequest> | undefined;
  /** Units per request; 1 by default. */
  readonly cost?: number | ((request: HttpRequest) => number | Promise<number>) | undefined;
}

/** HTTP settings passed to the pipeline (see docs/http.md). */
export interface HttpSettings {
  /** Which proxies to believe for the client IP; none by default. */
  readonly trustProxy?: TrustProxy | undefined;
  /** `x-forwarded-for` (default) or `forwarded`. */
  readonly ipHeader?: 'x-forwarded-for' | 'forwarded' | undefined;
  /** Requests never rate limited. */
  readonly skip?: SkipList | ((request: HttpRequest) => boolean | Promise<boolean>) | undefined;
  /** Per-route settings (guards, costs, own limits), first match wins. */
  readonly routes?: readonly RouteRule[] | undefined;
  /** Rate-limit header formats. */
  readonly headers?: HeaderOptions | false | undefined;
  /** Body format of refusals (429, 503, 401, 403); `json` by default. */
  readonly errorFormat?: ErrorFormat | undefined;
  /** `problem+json` type prefix. */
  readonly problemTypeBase?: string | undefined;
  /** The default guard of every route; none by default (put `lw.requireJwt()` on routes). */
  readonly guard?: Guard | undefined;
  /** The request id; a valid `X-Request-Id` or a UUID by default. */
  readonly requestId?: ((request: HttpRequest) => string | undefined) | undefined;
  /** Your own hooks, run after LockWatch's. */
  readonly hooks?: Omit<HttpHooks, 'guard' | 'onError'> | undefined;
}

/** Anomaly detection; on by default with the seed's burst detector (more than 50 in 10 s). */
export interface AnomalyOptions {
  /** The burst detector, evaluated in the rate limit's store call; `false` turns it off. */
  readonly burst?: BurstOptions | false | undefined;
  /** Repeated authentication failures per IP and per user; `false` turns it off. */
  readonly authFailures?: AuthFailureOptions | false | undefined;
  /** Escalating temporary bans (one more store call per request); off by default. */
  readonly bans?: MonitorBanOptions | false | undefined;
  /** Allow and deny lists of IPs and CIDRs. */
  readonly lists?: AccessListOptions | undefined;
  /** Receives anomaly, ban and error events. */
  readonly onEvent?: ((event: MonitorEvent) => void) | undefined;
}

/** Sessions: the session manager's options (issuer, audience, keys, lifetimes, ...) plus the cookie. */
export interface TokenOptions extends SessionTokenOptions {
  /** The refresh-token cookie. */
  readonly cookie?: RefreshCookieOptions | undefined;
}

/** Audit logging options (the logger's, without sink and clock). */
export type AuditOptions = Omit<AuditLoggerOptions, 'sink' | 'clock'>;

/** Alert options. */
export interface AlertOptions {
  /** One alert per subject and type per period, cluster-wide; 60 s by default. */
  readonly dedup?: Duration | undefined;
  /** Alerts waiting at most; 1,000 by default. */
  readonly queueSize?: number | undefined;
  /** Receives sent, suppressed, failed and dropped events. */
  readonly onEvent?: ((event: AlertEvent) => void) | undefined;
}

/** Failure policy per concern. Audit and alerts never touch the request path, so they have none. */
export interface FailureSettings {
  /** Rate limits, bursts, bans, login limits: `open` by default (admit, degraded). */
  readonly rateLimit?: FailureOptions | undefined;
  /** Token revocation checks: `closed` by default (a revoked token never passes because the store is slow). */
  readonly tokens?: TokenFailureOptions | undefined;
  /** Receives breaker state changes and store failures of both. */
  readonly onEvent?: ((event: FailureEvent) => void) | undefined;
}

/** Options of {@link createLockWatch}. */
export interface LockWatchOptions {
  /** The stores; {@link memoryStores} with the logging alert sink (made and closed by LockWatch) by default. */
  readonly stores?: LockWatchStores | undefined;
  /** The request rate limit; `false` for none. */
  readonly rateLimit?: RateLimitOptions | false | undefined;
  /** Login limits per IP and per account (`lw.login`); `false` for none. */
  readonly login?: LoginLimitOptions | false | undefined;
  /** Anomaly detection; `false` for none. */
  readonly anomaly?: AnomalyOptions | false | undefined;
  /** Sessions and the JWT guard; none when left out. */
  readonly tokens?: TokenOptions | undefined;
  /** The audit log (on when the stores have an audit sink); `false` for none. */
  readonly audit?: AuditOptions | false | undefined;
  /** Alerts. */
  readonly alerts?: AlertOptions | undefined;
  /** Failure policies. */
  readonly failure?: FailureSettings | undefined;
  /** HTTP pipeline settings. */
  readonly http?: HttpSettings | undefined;
  /** Time source of everything; the system clock by default. */
  readonly clock?: Clock | undefined;
  /** Receives errors of background work and hooks; `console.error` by default. */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** The composed LockWatch. */
export interface LockWatch {
  /** The HTTP pipeline: hand it to `expressLockWatch`, `fastifyLockWatch` (`{ pipeline }`), `honoLockWatch`, `nodeLockWatch`. */
  // biome-ignore lint/suspicious/noExplicitAny: one pipeline serves every framework's request type
  readonly pipeline: HttpPipeline<any>;
  /** The options the pipeline was built from, to build another (more routes) with `createHttpPipeline`. */
  // biome-ignore lint/suspicious/noExplicitAny: see pipeline
  readonly httpOptions: HttpOptions<any>;
  /** A JWT guard for routes (`routes: [{ path, guard: lw.requireJwt() }]`); auth failures feed the anomaly monitor. */
  requireJwt<N = unknown>(options?: Omit<RequireJwtOptions, 'onFailure'>): Guard<N>;
  /** The request rate limiter (its policies include the burst detector's); undefined with `rateLimit: false`. */
  readonly limiter: RateLimiter | undefined;
  /** Login limits per IP and per account. */
  readonly login: LoginLimiter;
  /** The anomaly monitor; undefined with `anomaly: false`. */
  readonly monitor: AnomalyMonitor | undefined;
  /** The alert dispatcher; undefined with `anomaly: false`. */
  readonly alerts: AlertDispatcher | undefined;
  /** The session manager; undefined without `tokens`. */
  readonly sessions: SessionManager | undefined;
  /** The audit logger; undefined without an audit sink. */
  readonly audit: AuditLogger | undefined;
  /** Reads the audit log, when the stores have a reader. */
  readonly auditReader: AuditReader | undefined;
  /** The window store every limit uses, under its failure policy. */
  readonly store: WindowStore;
  /** Refresh-cookie helpers with the configured cookie options. */
  readonly cookies: {
    /** The `Set-Cookie` value for a pair's refresh token. */
    set(pair: Pick<TokenPair, 'refreshToken' | 'refreshExpiresAt'>): string;
    /** The `Set-Cookie` value that deletes it. */
    clear(): string;
    /** The refresh token of a request: its cookie, else `body.refresh_token`. */
    read(headers: HttpRequest['headers'], body?: unknown): string | undefined;
  };
  /**
   * Stops accepting audit records and alerts, writes what is queued (audit
   * flush and alert drain together, each within its own bound), waits for
   * background work, and closes what LockWatch created (stores included
   * when it made them, last). Keeps the process alive until it settles.
   * Idempotent.
   */
  close(): Promise<void>;
}

function objectOption<T>(option: string, value: T | undefined): T | undefined {
  if (
    value !== undefined &&
    (typeof value !== 'object' || value === null || Array.isArray(value))
  ) {
    throw new InvalidOptionError(option, value, 'an object');
  }
  return value;
}

const defaultPolicyName = 'api';
// The session manager's own default of sessionMaxAge.
const defaultSessionMaxAgeMs = 30 * 86_400_000;
const maxTtlMs = 366 * 86_400_000;

/** The path the user wrote for an option the HTTP pipeline names as it knows it. */
function httpOptionPath(option: string): string {
  // LockWatch hands the pipeline one limit, built from `rateLimit`: its cost and key are the user's.
  const limit = /^limits\[0\]\.(cost|key)(.*)$/.exec(option);
  if (limit !== null) return `rateLimit.${limit[1]}${limit[2]}`;
  if (option === 'header') return 'http.ipHeader';
  if (option.startsWith('hooks.guard')) return `http.guard${option.slice('hooks.guard'.length)}`;
  return `http.${option}`;
}

/**
 * The session's longest life. No refresh token outlives its session, so a
 * refresh lifetime above the 30-day default would be cut to 30 days without
 * a word: given alone, it lengthens the session to match; given with a
 * shorter `sessionMaxAge`, the two contradict each other and are refused.
 */
function sessionMaxAgeOf(tokens: Omit<TokenOptions, 'cookie'>): Duration | undefined {
  if (tokens.refreshTokenTtl === undefined) return tokens.sessionMaxAge;
  const refreshMs = durationOption(
    'tokens.refreshTokenTtl',
    tokens.refreshTokenTtl,
    60_000,
    maxTtlMs,
  );
  if (tokens.sessionMaxAge === undefined) {
    return refreshMs > defaultSessionMaxAgeMs ? refreshMs : undefined;
  }
  const maxAgeMs = durationOption('tokens.sessionMaxAge', tokens.sessionMaxAge, 60_000, maxTtlMs);
  if (refreshMs > maxAgeMs) {
    throw new InvalidOptionError(
      'tokens.refreshTokenTtl',
      tokens.refreshTokenTtl,
      `at most tokens.sessionMaxAge (${maxAgeMs} ms): a refresh token never outlives its session, so it would be cut to that; raise sessionMaxAge, or leave it out and it follows refreshTokenTtl`,
    );
  }
  return tokens.sessionMaxAge;
}

/**
 * Creates a LockWatch: validates every option (a bad one, a misspelt one
 * included, throws an InvalidOptionError naming its full path), imports
 * token keys once, and wires the domain to the stores. Async because keys
 * are imported here.
 */
export async function createLockWatch(options: LockWatchOptions = {}): Promise<LockWatch> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError('options', options, 'an object');
  }
  knownKeysOption('', options, lockWatchShape);
  const clock = options.clock ?? systemClock;
  if (typeof clock?.now !== 'function' || typeof clock.schedule !== 'function') {
    throw new InvalidOptionError('clock', clock, 'a Clock');
  }
  const onError =
    options.onError ??
    ((error: unknown) => {
      console.error('lockwatch:', error);
    });
  if (typeof onError !== 'function') throw new InvalidOptionError('onError', onError, 'a function');
  const failure = objectOption('failure', options.failure) ?? {};
  functionOption('failure.onEvent', failure.onEvent);
  const http = objectOption('http', options.http) ?? {};
  const errorFormat = http.errorFormat ?? 'json';
  // Checked here, under their full paths, before anything is made: the pipeline would name them
  // as it knows them (`trustProxy`, `hooks.onFinish[1]` after LockWatch's own hooks).
  const trustProxy = http.trustProxy ?? false;
  // clientIp validates trustProxy (ranges holding every address included); `under` names it http.*.
  const ipSubject = under(httpOptionPath, () => clientIp({ trustProxy, header: http.ipHeader }));
  const userHooks = objectOption('http.hooks', http.hooks) ?? {};
  hookOption('http.hooks.beforeLimit', userHooks.beforeLimit);
  hookOption('http.hooks.onDecision', userHooks.onDecision);
  hookOption('http.hooks.onFinish', userHooks.onFinish);

  const ownsStores = options.stores === undefined;
  // The capturing sink of memoryStores() is for tests that look at alerts: a LockWatch that made
  // its own stores logs its alerts, as the docs promise, instead of piling them up unseen.
  const stores: LockWatchStores = options.stores ?? {
    ...memoryStores({ clock }),
    alerts: undefined,
  };
  if (typeof stores !== 'object' || stores === null || typeof stores.window?.check !== 'function') {
    throw new InvalidOptionError(
      'stores',
      stores,
      'a LockWatchStores object with at least `window`',
    );
  }

  // What close() closes: the parts together (each drain has its own bound, so closing takes the
  // longest of them, not their sum), then the stores LockWatch made, which the parts write to.
  const parts: (() => Promise<unknown>)[] = [];
  let ownedStores: (() => Promise<unknown>) | undefined = ownsStores
    ? async () => stores.close?.()
    : undefined;
  const closeAll = async () => {
    const results = await Promise.allSettled(parts.splice(0).map((close) => close()));
    for (const result of results) if (result.status === 'rejected') onError(result.reason);
    const closeStores = ownedStores;
    ownedStores = undefined;
    await closeStores?.().catch(onError);
  };

  try {
    // One failure policy over the window store, shared by every limit.
    const ratePolicy = defineFailurePolicy(failure.rateLimit, 'failure.rateLimit', 'open');
    const store: WindowStore = stores.window.inProcess
      ? stores.window
      : withFailurePolicy(stores.window, {
          ...ratePolicy,
          clock,
          path: 'failure.rateLimit',
          fallback:
            ratePolicy.policy === 'fallback' ? () => createMemoryWindowStore({ clock }) : undefined,
          onEvent: failure.onEvent,
        });

    // Alerts and anomaly detection.
    const anomaly =
      options.anomaly === false ? undefined : (objectOption('anomaly', options.anomaly) ?? {});
    const alertOptions = objectOption('alerts', options.alerts) ?? {};
    functionOption('alerts.onEvent', alertOptions.onEvent);
    functionOption('anomaly.onEvent', anomaly?.onEvent);
    let alerts: AlertDispatcher | undefined;
    let monitor: AnomalyMonitor | undefined;
    if (anomaly !== undefined) {
      const sink = stores.alerts ?? createLoggingAlertSink();
      alerts = under(
        (option) =>
          option === 'dedupPeriod'
            ? 'alerts.dedup'
            : option === 'sink'
              ? 'stores.alerts'
              : `alerts.${option}`,
        () =>
          alertDispatcherFromParts({
            sink,
            store,
            clock,
            dedupPeriod: alertOptions.dedup,
            queueSize: alertOptions.queueSize,
            onEvent: alertOptions.onEvent,
          }),
      );
      const dispatcher = alerts;
      // Closes the sink if a later step throws; the monitor closes it on a normal close().
      parts.push(() => dispatcher.close());
      monitor = under(prefixed('anomaly'), () =>
        anomalyMonitorFromParts({
          store,
          clock,
          alerts: dispatcher,
          burst: anomaly.burst,
          authFailures: anomaly.authFailures,
          bans: anomaly.bans,
          lists: anomaly.lists,
          onEvent: anomaly.onEvent,
        }),
      );
      const started = monitor;
      parts.pop();
      parts.push(() => started.close());
    }

    // The request rate limit, the burst detector in the same store call.
    const rate =
      options.rateLimit === false
        ? undefined
        : (objectOption('rateLimit', options.rateLimit) ?? {});
    let limiter: RateLimiter | undefined;
    const limits: LimitRule[] = [];
    if (rate !== undefined) {
      let enforce: readonly Policy[];
      if (rate.policies !== undefined) {
        if (!Array.isArray(rate.policies) || rate.policies.length === 0) {
          throw new InvalidOptionError(
            'rateLimit.policies',
            rate.policies,
            'a non-empty array of policies [{ name, limit, window, algorithm?, burst? }] (rateLimit: false turns rate limiting off)',
          );
        }
        // With policies, `limit` and the others would be ignored, or the user would wonder which wins.
        for (const single of ['limit', 'window', 'algorithm', 'burst'] as const) {
          if (rate[single] !== undefined) {
            throw new InvalidOptionError(
              `rateLimit.${single}`,
              rate[single],
              `no ${single} beside rateLimit.policies: give each policy its own (rateLimit.policies[i].${single}), or use limit, window, algorithm and burst without policies`,
            );
          }
        }
        rate.policies.forEach((policy, index) => {
          knownKeysOption(`rateLimit.policies[${index}]`, policy, policyShape);
        });
        enforce = definePolicies(rate.policies, 'rateLimit.policies');
      } else {
        enforce = [
          definePolicy(
            {
              name: defaultPolicyName,
              limit: rate.limit ?? 100,
              window: rate.window ?? 60_000,
              algorithm: rate.algorithm ?? 'gcra',
              burst: rate.burst,
            },
            'rateLimit',
          ),
        ];
      }
      const observe = monitor?.policies ?? [];
      limiter = under(
        (option) => {
          // createRateLimiter sees the enforce policies, then the detectors' observe policies.
          const index = /^policies\[(\d+)\](.*)$/.exec(option);
          if (index === null) return `rateLimit.${option}`;
          const i = Number(index[1]);
          if (i >= enforce.length) return `anomaly.burst${index[2]}`;
          return rate.policies === undefined
            ? `rateLimit${index[2]}`
            : `rateLimit.policies[${i}]${index[2]}`;
        },
        () => createRateLimiter({ store, policies: [...enforce, ...observe], clock }),
      );
      let key: KeyFunction<HttpRequest> | undefined;
      if (rate.key === 'apiKey') key = apiKey();
      else if (typeof rate.key === 'function') key = rate.key;
      else if (rate.key !== undefined && rate.key !== 'ip') {
        throw new InvalidOptionError('rateLimit.key', rate.key, "'ip', 'apiKey' or a key function");
      }
      limits.push({ name: 'default', limiter, key, cost: rate.cost });
    }

    // Login limits.
    const login =
      options.login === false ? undefined : (objectOption('login', options.login) ?? {});
    const loginLimiter = (
      option: string,
      threshold: { limit: number; window: Duration } | false | undefined,
      name: string,
      limit: number,
      window: number,
    ): RateLimiter | undefined => {
      if (threshold === false) return undefined;
      const given = objectOption(option, threshold);
      return createRateLimiter({
        store,
        clock,
        policies: [
          definePolicy(
            { name, limit: given?.limit ?? limit, window: given?.window ?? window },
            option,
          ),
        ],
      });
    };
    const loginLimits = createLoginLimiter({
      perIp:
        login === undefined
          ? undefined
          : loginLimiter('login.perIp', login.perIp, 'login-ip', 20, 60_000),
      perAccount:
        login === undefined
          ? undefined
          : loginLimiter('login.perAccount', login.perAccount, 'login-account', 5, 300_000),
      monitor,
      format: { errorFormat, problemTypeBase: http.problemTypeBase },
      onError,
    });

    // Sessions.
    let sessions: SessionManager | undefined;
    let cookieOptions: RefreshCookieOptions | undefined;
    if (options.tokens !== undefined) {
      const { cookie, ...tokenOptions } = objectOption('tokens', options.tokens)!;
      cookieOptions = cookie;
      under(prefixed('tokens'), () => clearRefreshCookie(cookieOptions)); // validates the cookie options now
      const sessionOptions = { ...tokenOptions, sessionMaxAge: sessionMaxAgeOf(tokenOptions) };
      sessions = await under(
        (option) =>
          option === 'store'
            ? 'stores.tokens'
            : option === 'onEvent'
              ? 'failure.onEvent'
              : option.startsWith('failure')
                ? `failure.tokens${option.slice('failure'.length)}`
                : `tokens.${option}`,
        () =>
          createSessionManager({
            ...sessionOptions,
            store: stores.tokens,
            clock,
            failure: failure.tokens,
            onEvent: failure.onEvent,
          }),
      );
      const started = sessions;
      parts.push(() => started.close());
    }

    // The audit log.
    let audit: AuditLogger | undefined;
    if (options.audit !== false && stores.audit !== undefined) {
      const auditOptions = objectOption('audit', options.audit) ?? {};
      const sink = stores.audit;
      audit = under(
        (option) => (option === 'sink' ? 'stores.audit' : `audit.${option}`),
        () => createAuditLoggerCore({ ...auditOptions, sink, clock }),
      );
      const started = audit;
      parts.push(() => started.close());
    }

    // Pipeline hooks.
    const requestContext = (
      request: HttpRequest,
      subject: string,
      ip: string | undefined,
    ): RequestContext => {
      const agent = request.headers['user-agent'];
      return {
        subject,
        ip,
        endpoint: request.path,
        method: request.method,
        userAgent: typeof agent === 'string' ? agent : undefined,
      };
    };
    const beforeLimit: BeforeLimitHook[] = [];
    if (monitor !== undefined && (monitor.lists.size > 0 || monitor.bans !== undefined)) {
      const watched = monitor;
      // Bans are kept under the rate limit's client-IP subject (IPv6 grouped by /64): ipSubject.
      beforeLimit.push(async (request, context) => {
        const verdict = watched.screen({ ip: context.ip });
        if (verdict === 'allow') return 'skip';
        if (verdict === 'deny') return forbidden(errorFormat);
        const bans = watched.bans;
        const subject = bans === undefined ? undefined : ipSubject(request);
        if (bans === undefined || subject === undefined) return undefined;
        const status =
          bans.cached(subject) ??
          (await bans.check(subject).catch((error: unknown) => {
            // A ban lookup that fails must not refuse the request: the rate limit still applies.
            onError(error);
            return undefined;
          }));
        if (status === undefined || !status.banned) return undefined;
        return bannedReply(errorFormat, status.retryAfterMs);
      });
    }
    const onDecision: DecisionHook[] = [];
    if (monitor !== undefined && monitor.burst !== undefined) {
      const watched = monitor;
      const burst = monitor.burst;
      // A flood from one subject is a burst on every request after the threshold. Each request is
      // flagged (its audit record says so), but once the monitor has reported a subject, its
      // alert is a duplicate for the dedup period: without bans (which count offences) the
      // monitor is asked again only after that period, instead of building an alert per request.
      const dedupMs = monitor.bans === undefined ? (alerts?.dedupPolicy.windowMs ?? 0) : 0;
      const reported = new Map<string, number>();
      onDecision.push((request, context) => {
        const checks = context.checks;
        for (let i = 0; i < checks.length; i++) {
          const check = checks[i]!;
          if (check.decision.observed.length === 0) continue;
          if (dedupMs > 0) {
            if (burst.inspect(check.decision) === undefined) continue;
            const until = reported.get(check.subject);
            const now = context.startedAt; // the request's arrival: no second clock read
            if (until !== undefined && until > now) {
              context.flagAnomaly('burst');
              continue;
            }
            if (reported.size >= 10_000) reported.clear();
            reported.set(check.subject, now + dedupMs);
          }
          const found = watched.inspect(
            check.decision,
            requestContext(request, check.subject, context.ip),
          );
          for (const anomaly of found) context.flagAnomaly(anomaly.type);
        }
        return undefined;
      });
    }
    const onFinish: FinishHook[] = [];
    if (audit !== undefined) {
      const logger = audit;
      onFinish.push((event: FinishEvent) => {
        const { context } = event;
        const requestId = context.requestId;
        const made = madeRequestId(context);
        const entry: MarkedAuditEntry = {
          // One UUID per request: the id LockWatch made for it is unique, so the record reuses it.
          id: made,
          [generatedId]: made === undefined ? undefined : true,
          timestamp: context.startedAt,
          requestId,
          userId: context.principal?.userId,
          ip: context.ip ?? '',
          endpoint: context.path,
          method: context.method,
          statusCode: event.statusCode,
          rateLimitHit: context.rateLimited,
          anomalyDetected: context.anomalies.length > 0,
          latencyMs: event.latencyMs,
        };
        logger.log(entry);
      });
    }
    const list = <H>(value: H | readonly H[] | undefined): readonly H[] =>
      value === undefined ? [] : Array.isArray(value) ? value : [value as H];

    const onAuthFailure =
      monitor === undefined
        ? undefined
        : (failed: GuardFailure) => {
            const { context } = failed;
            void monitor!
              .recordAuthFailure({
                ip: context.ip,
                endpoint: context.path,
                method: context.method,
                userAgent: failed.userAgent,
              })
              .catch(onError);
          };
    const requireJwt = <N = unknown>(
      guardOptions: Omit<RequireJwtOptions, 'onFailure'> = {},
    ): Guard<N> => {
      if (sessions === undefined) {
        throw new InvalidOptionError(
          'tokens',
          undefined,
          'token options (issuer, audience, keys) to use requireJwt',
        );
      }
      return guardOf<N>(sessions, { errorFormat, ...guardOptions, onFailure: onAuthFailure });
    };

    const httpOptions: HttpOptions = {
      limits,
      trustProxy: http.trustProxy,
      ipHeader: http.ipHeader,
      skip: http.skip,
      routes: http.routes,
      headers: http.headers,
      errorFormat,
      problemTypeBase: http.problemTypeBase,
      requestId: http.requestId,
      clock,
      hooks: {
        beforeLimit: [...beforeLimit, ...list(userHooks.beforeLimit)],
        onDecision: [...onDecision, ...list(userHooks.onDecision)],
        guard: http.guard,
        onFinish: [...onFinish, ...list(userHooks.onFinish)],
        onError: (error) => onError(error),
      },
    };
    for (const key of Object.keys(httpOptions) as (keyof HttpOptions)[]) {
      if (httpOptions[key] === undefined) delete (httpOptions as Record<string, unknown>)[key];
    }
    const pipeline = under(httpOptionPath, () => createHttpPipeline(httpOptions));

    let closing: Promise<void> | undefined;
    return {
      pipeline,
      httpOptions,
      requireJwt,
      limiter,
      login: loginLimits,
      monitor,
      alerts,
      sessions,
      audit,
      auditReader: stores.auditReader,
      store,
      cookies: {
        set: (pair) => refreshCookieFor(pair, clock.now(), cookieOptions),
        clear: () => clearRefreshCookie(cookieOptions),
        read(headers, body) {
          const cookie = headers.cookie;
          const fromCookie = readCookie(
            typeof cookie === 'string' ? cookie : undefined,
            cookieOptions?.name,
          );
          if (fromCookie !== undefined && fromCookie !== '') return fromCookie;
          const given = (body as { refresh_token?: unknown } | null | undefined)?.refresh_token;
          return typeof given === 'string' && given !== '' ? given : undefined;
        },
      },
      close() {
        // A drain may wait on the clock's timers alone (a webhook receiver that never answers);
        // every part's wait is bounded, so the process is held only that long.
        closing ??= whileKeepingAlive(closeAll);
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function forbidden(format: ErrorFormat) {
  return jsonReply(format, 403, 'forbidden', 'Forbidden', 'This client is not allowed.', {});
}

function bannedReply(format: ErrorFormat, retryAfterMs: number) {
  const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return jsonReply(
    format,
    403,
    'banned',
    'Forbidden',
    `This client is temporarily banned; retry in ${retryAfter} s.`,
    { retry_after: retryAfter },
    { 'retry-after': String(retryAfter) },
  );
}

function jsonReply(
  format: ErrorFormat,
  status: number,
  code: string,
  title: string,
  detail: string,
  fields: Record<string, number>,
  headers: Record<string, string> = {},
) {
  if (format === 'json') {
    return {
      status,
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ error: code, ...fields }),
    };
  }
  return {
    status,
    headers: { ...headers, 'content-type': 'application/problem+json' },
    body: JSON.stringify({ type: 'about:blank', title, status, detail, error: code, ...fields }),
  };
}
