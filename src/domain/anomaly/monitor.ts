import type { Alert } from '../../ports/alert-sink.ts';
import type { CallOptions } from '../../ports/call-options.ts';
import type { Clock } from '../../ports/clock.ts';
import type { WindowStore } from '../../ports/window-store.ts';
import { createAlert } from '../alerts/alert.ts';
import type { AlertDispatcher } from '../alerts/dispatcher.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { createListenerSet, type Listener } from '../failure/listeners.ts';
import { cidrContains, parseCidr, parseIp } from '../net/ip.ts';
import type { RateLimiter } from '../ratelimit/limiter.ts';
import type { Decision, Policy } from '../ratelimit/types.ts';
import { type AccessList, type AccessListOptions, defineAccessList } from './access-list.ts';
import {
  type AuthFailure,
  type AuthFailureDetector,
  type AuthFailureOptions,
  defineAuthFailureDetector,
} from './auth-failures.ts';
import { type BanOptions, type BanStatus, type Bans, createBans } from './bans.ts';
import { type BurstDetector, type BurstOptions, defineBurstDetector } from './burst.ts';
import { type Anomaly, type AnomalyType, anomalyTypes, type RequestContext } from './types.ts';

/** Ban options of the monitor: which anomalies ban their subject, plus the escalation. */
export interface MonitorBanOptions extends BanOptions {
  /** Anomaly types that ban their subject; `['burst', 'auth_failures_ip']` by default. */
  readonly on?: readonly AnomalyType[] | undefined;
}

/** The address or network an `ip:` subject names, and its prefix when grouped (`ip:2001:db8::/64`). */
function subjectAddress(
  subject: string | undefined,
): { readonly address: string; readonly prefix: number | undefined } | undefined {
  if (subject === undefined || !subject.startsWith('ip:')) return undefined;
  const slash = subject.indexOf('/', 3);
  if (slash < 0) return { address: subject.slice(3), prefix: undefined };
  return { address: subject.slice(3, slash), prefix: Number(subject.slice(slash + 1)) };
}

/** True when `ip` lies in the network `address`/`prefix`. */
function inGroup(ip: string, address: string, prefix: number): boolean {
  const client = parseIp(ip);
  if (client === undefined) return false;
  try {
    return cidrContains(parseCidr(`${address}/${prefix}`), client);
  } catch {
    return false;
  }
}

/** Options of the anomaly monitor; `createAnomalyMonitor` fills in store and clock. */
export interface AnomalyMonitorOptions {
  /** The store the rate limiter uses (bans and auth-failure counts live here too). */
  readonly store: WindowStore;
  /** Time source (alert timestamps, local caches). */
  readonly clock: Clock;
  /** Where alerts go; without it anomalies are only returned and emitted. */
  readonly alerts?: AlertDispatcher | undefined;
  /** The burst detector; on with the seed's defaults (more than 50 in 10 s); `false` turns it off. */
  readonly burst?: BurstOptions | false | undefined;
  /** The authentication-failure detector; on by default; `false` turns it off. */
  readonly authFailures?: AuthFailureOptions | false | undefined;
  /** Temporary bans with escalation; off unless given. */
  readonly bans?: MonitorBanOptions | false | undefined;
  /** Allow and deny lists, checked before anything is counted. */
  readonly lists?: AccessListOptions | undefined;
  /** Receives every {@link MonitorEvent}. */
  readonly onEvent?: Listener<MonitorEvent> | undefined;
}

/** What the monitor reports besides alerts. */
export type MonitorEvent =
  /** A detector fired (every time, before alert dedup). */
  | { readonly type: 'anomaly'; readonly anomaly: Anomaly }
  /** A subject was banned after an offence. */
  | {
      readonly type: 'ban';
      readonly subject: string;
      readonly level: number;
      readonly durationMs: number;
      readonly cause: AnomalyType;
    }
  /** Background work (a ban, a refund) or a ban lookup failed; the request was not affected. */
  | { readonly type: 'error'; readonly operation: string; readonly error: unknown };

/** Why {@link AnomalyMonitor.check} admitted or refused a request. */
export type ScreeningReason = 'ok' | 'allowlist' | 'denylist' | 'banned' | 'rate_limited';

/** The outcome of {@link AnomalyMonitor.check}. */
export interface Screening {
  /** The request may proceed. */
  readonly allowed: boolean;
  /** Why. */
  readonly reason: ScreeningReason;
  /** Ms until the subject may retry (ban or rate limit); 0 when allowed. */
  readonly retryAfterMs: number;
  /** The rate-limit decision, when the rate limiter was asked. */
  readonly decision?: Decision | undefined;
  /** Anomalies this request showed. */
  readonly anomalies: readonly Anomaly[];
}

/** Detectors, bans and lists around a rate limiter, raising alerts off the request path. */
export interface AnomalyMonitor {
  /** Observe-mode policies to add to the per-IP rate limiter (the burst detector's). */
  readonly policies: readonly Policy[];
  /** The burst detector, when on. */
  readonly burst: BurstDetector | undefined;
  /** The authentication-failure detector, when on. */
  readonly authFailures: AuthFailureDetector | undefined;
  /** Bans, when on: `ban`, `unban`, `check` for your own code. */
  readonly bans: Bans | undefined;
  /** The allow and deny lists. */
  readonly lists: AccessList;
  /** Background operations (bans, refunds) under way. */
  readonly pending: number;
  /** The list verdict for a request; no I/O. */
  screen(context: RequestContext): 'allow' | 'deny' | undefined;
  /**
   * Reads a rate-limit decision (from a check whose policies include
   * {@link AnomalyMonitor.policies}) and turns a burst into an alert and,
   * when configured, a ban. Synchronous: alerts are queued, bans run in the
   * background. No store round trip of its own.
   */
  inspect(decision: Decision, context: RequestContext): readonly Anomaly[];
  /** Counts a failed login or token verification; resolves to the anomalies it showed. Never rejects. */
  recordAuthFailure(failure: AuthFailure, options?: CallOptions): Promise<readonly Anomaly[]>;
  /**
   * The whole request path: lists, then the ban lookup and the rate-limit
   * check in parallel (one round trip of latency), then {@link inspect}.
   * Listed requests are not counted; a banned subject's charge is refunded
   * in the background.
   */
  check(limiter: RateLimiter, context: RequestContext, options?: CallOptions): Promise<Screening>;
  /** Adds an event listener; returns a function that removes it. */
  on(listener: Listener<MonitorEvent>): () => void;
  /** Waits for background work, then closes the alert dispatcher (which drains its queue). */
  close(): Promise<void>;
}

const none: readonly Anomaly[] = Object.freeze([]);

/** Builds the anomaly monitor from validated parts; see {@link AnomalyMonitor}. */
export function anomalyMonitorFromParts(options: AnomalyMonitorOptions): AnomalyMonitor {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object with store and clock');
  }
  const { store, clock, alerts } = options;
  if (typeof store?.check !== 'function') {
    throw new InvalidOptionError('store', store, 'a WindowStore');
  }
  const burst = options.burst === false ? undefined : defineBurstDetector(options.burst ?? {});
  const authFailures =
    options.authFailures === false
      ? undefined
      : defineAuthFailureDetector(options.authFailures ?? {});
  const banOptions = options.bans === false ? undefined : options.bans;
  const bans = banOptions === undefined ? undefined : createBans(store, clock, banOptions);
  const banOn = new Set<AnomalyType>(banOptions?.on ?? ['burst', 'auth_failures_ip']);
  if (banOptions?.on !== undefined) {
    if (!Array.isArray(banOptions.on)) {
      throw new InvalidOptionError('bans.on', banOptions.on, 'an array of anomaly types');
    }
    banOptions.on.forEach((type, index) => {
      if (!anomalyTypes.includes(type)) {
        throw new InvalidOptionError(
          `bans.on[${index}]`,
          type,
          `one of ${anomalyTypes.map((t) => `'${t}'`).join(', ')}`,
        );
      }
    });
  }
  const lists = defineAccessList(options.lists ?? {});
  const events = createListenerSet<MonitorEvent>();
  if (options.onEvent !== undefined) events.add(options.onEvent);
  const background = new Set<Promise<void>>();

  const track = (operation: string, work: Promise<unknown>) => {
    const promise: Promise<void> = work.then(
      () => {},
      (error: unknown) => events.emit({ type: 'error', operation, error }),
    );
    background.add(promise);
    void promise.finally(() => background.delete(promise));
  };

  const report = (
    type: AnomalyType,
    subject: string,
    count: number,
    windowMs: number,
    severity: Anomaly['severity'],
    context: RequestContext,
  ): Anomaly => {
    let alert: Alert | undefined;
    if (alerts !== undefined) {
      alert = createAlert({
        type,
        subject,
        ip: context.ip,
        timestamp: clock.now(),
        requestCountInWindow: count,
        windowMs,
        endpoint: context.endpoint,
        method: context.method,
        userAgent: context.userAgent,
        severity,
      });
      alerts.raise(alert);
    }
    const anomaly: Anomaly = { type, subject, count, windowMs, severity, alert };
    if (events.size > 0) events.emit({ type: 'anomaly', anomaly });
    if (bans !== undefined && banOn.has(type)) {
      track(
        'ban',
        bans.offend(subject).then((outcome) => {
          if (outcome.banned) {
            events.emit({
              type: 'ban',
              subject,
              level: outcome.level,
              durationMs: outcome.durationMs,
              cause: type,
            });
          }
        }),
      );
    }
    return anomaly;
  };

  const inspect = (decision: Decision, context: RequestContext): readonly Anomaly[] => {
    if (burst === undefined) return none;
    const count = burst.inspect(decision);
    if (count === undefined) return none;
    const subject = context.subject ?? (context.ip === undefined ? undefined : `ip:${context.ip}`);
    if (subject === undefined) return none;
    return [report('burst', subject, count, burst.policy.windowMs, burst.severity, context)];
  };

  const screen = (context: RequestContext) => {
    if (lists.size === 0) return undefined;
    const subjects = context.subject === undefined ? undefined : [context.subject];
    const named = subjectAddress(context.subject);
    const { ip } = context;
    if (
      named === undefined ||
      named.address === ip ||
      // A grouped subject (IPv6 per /64): `ip` inside the group is the client's exact address.
      (named.prefix !== undefined && ip !== undefined && inGroup(ip, named.address, named.prefix))
    ) {
      return lists.check(ip, subjects);
    }
    // Two addresses: an `ip:` subject is the client as the key resolved it behind proxies, while
    // `ip` may be the socket's (a proxy). Either one denies; only the subject's may allow, or
    // every client behind an allowed proxy would skip the limits. Of a group, only ranges that
    // hold the whole group decide.
    const verdict = lists.check(named.address, subjects, named.prefix);
    if (verdict === 'deny' || ip === undefined) return verdict;
    return lists.check(ip) === 'deny' ? 'deny' : verdict;
  };

  return {
    policies: burst === undefined ? Object.freeze([]) : Object.freeze([burst.policy]),
    burst,
    authFailures,
    bans,
    lists,
    get pending() {
      return background.size;
    },
    screen,
    inspect,
    async recordAuthFailure(failure, callOptions) {
      if (authFailures === undefined) return none;
      const subjects = authFailures.subjects(failure);
      // Only the address decides: the user name of a failed login is what the
      // client typed, so a `user:` allow entry must not switch off counting
      // for whoever tries that name.
      const verdict = lists.check(failure.ip, subjects.ip === undefined ? [] : [subjects.ip]);
      if (verdict !== undefined) return none;
      let findings: Awaited<ReturnType<AuthFailureDetector['record']>>;
      try {
        findings = await authFailures.record(store, failure, callOptions);
      } catch (error) {
        events.emit({ type: 'error', operation: 'recordAuthFailure', error });
        return none;
      }
      const context: RequestContext = {
        ip: failure.ip,
        endpoint: failure.endpoint,
        method: failure.method,
        userAgent: failure.userAgent,
      };
      return findings.map((f) =>
        report(f.type, f.subject, f.count, f.windowMs, f.severity, context),
      );
    },
    async check(limiter, context, callOptions) {
      const verdict = screen(context);
      if (verdict === 'deny') {
        return { allowed: false, reason: 'denylist', retryAfterMs: 0, anomalies: none };
      }
      if (verdict === 'allow') {
        return { allowed: true, reason: 'allowlist', retryAfterMs: 0, anomalies: none };
      }
      const subject = context.subject;
      if (subject === undefined) {
        throw new InvalidOptionError('context.subject', subject, 'the rate-limit subject');
      }
      if (bans !== undefined) {
        const known = bans.cached(subject);
        if (known !== undefined) {
          return {
            allowed: false,
            reason: 'banned',
            retryAfterMs: known.retryAfterMs,
            anomalies: none,
          };
        }
      }
      let ban: BanStatus | undefined;
      let decision: Decision;
      if (bans === undefined) {
        decision = await limiter.check(subject, callOptions);
      } else {
        [ban, decision] = await Promise.all([
          bans.check(subject, callOptions).catch((error: unknown) => {
            // A ban lookup that fails must not refuse the request: the rate limit still applies.
            events.emit({ type: 'error', operation: 'bans.check', error });
            return undefined;
          }),
          limiter.check(subject, callOptions),
        ]);
      }
      if (ban?.banned) {
        if (decision.allowed) track('refund', limiter.refund(subject));
        return {
          allowed: false,
          reason: 'banned',
          retryAfterMs: ban.retryAfterMs,
          decision,
          anomalies: none,
        };
      }
      const anomalies = inspect(decision, context);
      return {
        allowed: decision.allowed,
        reason: decision.allowed ? 'ok' : 'rate_limited',
        retryAfterMs: decision.retryAfterMs,
        decision,
        anomalies,
      };
    },
    on: (listener) => events.add(listener),
    async close() {
      while (background.size > 0) await Promise.all([...background]);
      await alerts?.close();
    },
  };
}
