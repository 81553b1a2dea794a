import type { AlertSeverity } from '../../ports/alert-sink.ts';
import type { CallOptions } from '../../ports/call-options.ts';
import type { WindowStore } from '../../ports/window-store.ts';
import { severityOption } from '../alerts/alert.ts';
import type { Duration } from '../config/duration.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { integerOption } from '../config/validate.ts';
import { groupWith, parseIp } from '../net/ip.ts';
import { definePolicy } from '../ratelimit/policy.ts';
import type { Algorithm, Decision, Policy } from '../ratelimit/types.ts';

/** One threshold of the authentication-failure detector. */
export interface AuthThresholdOptions {
  /** Failures allowed in the window: more is an anomaly. */
  readonly limit?: number | undefined;
  /** The window. */
  readonly window?: Duration | undefined;
  /** Counting algorithm; `sliding-window` (O(1) state) by default. */
  readonly algorithm?: Algorithm | undefined;
  /** Severity of its alerts; `critical` by default. */
  readonly severity?: AlertSeverity | undefined;
}

/** Options of {@link defineAuthFailureDetector}. */
export interface AuthFailureOptions {
  /** Per client IP (credential stuffing: many accounts from one address); more than 20 in 10 min by default; `false` turns it off. */
  readonly perIp?: AuthThresholdOptions | false | undefined;
  /** Per user (brute force on one account from anywhere); more than 10 in 15 min by default; `false` turns it off. */
  readonly perUser?: AuthThresholdOptions | false | undefined;
  /** IPv4 grouping prefix of the IP subject, 0-32; 32 by default (as `clientIp`). */
  readonly ipv4Prefix?: number | undefined;
  /** IPv6 grouping prefix of the IP subject, 0-128; 64 by default (as `clientIp`). */
  readonly ipv6Prefix?: number | undefined;
}

/** A failed login or token verification, as the token domain or an HTTP guard reports it. */
export interface AuthFailure {
  /** Client IP address text. */
  readonly ip?: string | undefined;
  /** The user the attempt was for (a login name or id), when known. */
  readonly user?: string | number | undefined;
  /** Request path. */
  readonly endpoint?: string | undefined;
  /** Request method. */
  readonly method?: string | undefined;
  /** User-Agent header. */
  readonly userAgent?: string | undefined;
}

/** One exceeded threshold. */
export interface AuthFinding {
  readonly type: 'auth_failures_ip' | 'auth_failures_user';
  readonly subject: string;
  readonly count: number;
  readonly windowMs: number;
  readonly severity: AlertSeverity;
}

/** The authentication-failure detector. */
export interface AuthFailureDetector {
  /** The per-IP policy (observe mode), when enabled. */
  readonly perIp: Policy | undefined;
  /** The per-user policy (observe mode), when enabled. */
  readonly perUser: Policy | undefined;
  /** The store subjects a failure is counted under: `ip:<grouped ip>` and `user:<id>`. */
  subjects(failure: AuthFailure): { ip?: string; user?: string };
  /** Counts one failure (one store call per subject, in parallel) and returns the thresholds it exceeded. */
  record(store: WindowStore, failure: AuthFailure, options?: CallOptions): Promise<AuthFinding[]>;
  /** Forgets the failures counted for a user (after a successful login, say). */
  resetUser(store: WindowStore, user: string | number, options?: CallOptions): Promise<void>;
}

interface Threshold {
  readonly policy: Policy;
  readonly severity: AlertSeverity;
}

function threshold(
  path: string,
  options: AuthThresholdOptions | false | undefined,
  name: string,
  limit: number,
  window: number,
): Threshold | undefined {
  if (options === false) return undefined;
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidOptionError(path, options, 'an object with limit and window, or false');
  }
  return {
    policy: definePolicy(
      {
        name,
        limit: options?.limit ?? limit,
        window: options?.window ?? window,
        algorithm: options?.algorithm ?? 'sliding-window',
        mode: 'observe',
      },
      path,
    ),
    severity: severityOption(`${path}.severity`, options?.severity ?? 'critical'),
  };
}

/**
 * Defines the authentication-failure detector: observe-mode policies per IP
 * and per user, charged once per reported failure. The failure that takes a
 * subject past its limit, and every one after it in the window, is a finding.
 */
export function defineAuthFailureDetector(
  options: AuthFailureOptions = {},
  path = 'authFailures',
): AuthFailureDetector {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(path, options, 'an object with perIp and perUser');
  }
  const ip = threshold(`${path}.perIp`, options.perIp, 'auth-failures-ip', 20, 600_000);
  const user = threshold(`${path}.perUser`, options.perUser, 'auth-failures-user', 10, 900_000);
  const ipv4Prefix = integerOption(`${path}.ipv4Prefix`, options.ipv4Prefix ?? 32, 0, 32);
  const ipv6Prefix = integerOption(`${path}.ipv6Prefix`, options.ipv6Prefix ?? 64, 0, 128);

  const subjects = (failure: AuthFailure) => {
    const out: { ip?: string; user?: string } = {};
    if (ip !== undefined && typeof failure.ip === 'string') {
      const parsed = parseIp(failure.ip);
      if (parsed !== undefined) out.ip = `ip:${groupWith(parsed, ipv4Prefix, ipv6Prefix)}`;
    }
    const id = failure.user;
    if (user !== undefined && (typeof id === 'string' ? id !== '' : Number.isFinite(id))) {
      out.user = `user:${String(id)}`;
    }
    return out;
  };

  const finding = (
    type: AuthFinding['type'],
    subject: string,
    t: Threshold,
    decision: Decision,
  ): AuthFinding | undefined => {
    if (decision.degraded) return undefined;
    const result = decision.observed[0];
    if (result === undefined || result.allowed) return undefined;
    return {
      type,
      subject,
      count: result.limit - result.remaining + 1,
      windowMs: t.policy.windowMs,
      severity: t.severity,
    };
  };

  return Object.freeze({
    perIp: ip?.policy,
    perUser: user?.policy,
    subjects,
    async record(store: WindowStore, failure: AuthFailure, callOptions?: CallOptions) {
      const found = subjects(failure ?? {});
      const [byIp, byUser] = await Promise.all([
        found.ip === undefined || ip === undefined
          ? undefined
          : store.check(found.ip, [ip.policy], 1, callOptions),
        found.user === undefined || user === undefined
          ? undefined
          : store.check(found.user, [user.policy], 1, callOptions),
      ]);
      const findings: AuthFinding[] = [];
      if (byIp !== undefined) {
        const f = finding('auth_failures_ip', found.ip!, ip!, byIp);
        if (f !== undefined) findings.push(f);
      }
      if (byUser !== undefined) {
        const f = finding('auth_failures_user', found.user!, user!, byUser);
        if (f !== undefined) findings.push(f);
      }
      return findings;
    },
    async resetUser(store: WindowStore, id: string | number, callOptions?: CallOptions) {
      if (user === undefined) return;
      await store.reset(`user:${String(id)}`, [user.policy], callOptions);
    },
  });
}
