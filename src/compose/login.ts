/**
 * Login endpoints rate-limited by client IP and by account. The account is
 * in the request body, which rate limiting in front of the handler has not
 * read, so the login handler asks: `attempt()` charges one attempt to the IP
 * and to the account in parallel (neither is charged unless both admit), and
 * the handler reports the outcome — a success gives both charges back (only
 * failures and attempts in flight count), a failure is counted by the
 * anomaly monitor's authentication-failure detector.
 */
import type { AnomalyMonitor } from '../domain/anomaly/monitor.ts';
import type { Duration } from '../domain/config/duration.ts';
import { InvalidOptionError } from '../domain/config/errors.ts';
import { groupWith, parseIp } from '../domain/net/ip.ts';
import type { RateLimiter } from '../domain/ratelimit/limiter.ts';
import type { Decision } from '../domain/ratelimit/types.ts';
import { ceilSeconds } from '../http/headers.ts';
import { type ReplyFormat, refusal } from '../http/replies.ts';
import type { HttpReply } from '../http/types.ts';

/** One login threshold. */
export interface LoginThreshold {
  /** Attempts admitted per window. */
  readonly limit: number;
  /** The window. */
  readonly window: Duration;
}

/** Options of the login limits. */
export interface LoginLimitOptions {
  /** Per client IP: 20 per 60 s by default; `false` turns it off. */
  readonly perIp?: LoginThreshold | false | undefined;
  /** Per account: 5 per 5 min by default; `false` turns it off. */
  readonly perAccount?: LoginThreshold | false | undefined;
}

/** What the login handler knows of the attempt. */
export interface LoginAttemptInput {
  /** Client IP (`context.ip`). */
  readonly ip?: string | undefined;
  /** The account name as typed; compared trimmed and lower case. */
  readonly account?: string | undefined;
  /** Request path, method and User-Agent, for alerts. */
  readonly endpoint?: string | undefined;
  readonly method?: string | undefined;
  readonly userAgent?: string | undefined;
}

/** One attempt: refused with a 429 reply, or admitted and waiting for its outcome. */
export interface LoginAttempt {
  /** The attempt may go on to check the password. */
  readonly allowed: boolean;
  /** The 429 to send when refused (Retry-After, the seed's JSON body or problem details). */
  readonly reply: HttpReply | undefined;
  /** The deciding decision (the refusing one), when a limit applied. */
  readonly decision: Decision | undefined;
  /** The password matched: the attempt's charges are given back. Never rejects. */
  succeeded(): Promise<void>;
  /** The password did not match: counted by the auth-failure detector (alerts, bans). Never rejects. */
  failed(): Promise<void>;
}

/** The login limits of a LockWatch. */
export interface LoginLimiter {
  /** Charges one attempt to the IP and the account; see {@link LoginAttempt}. */
  attempt(input: LoginAttemptInput): Promise<LoginAttempt>;
}

const ignorable = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * The account as a subject: NFKC-normalised (full-width `ａｌｉｃｅ` is `alice`, composed and
 * decomposed accents agree), invisible characters (zero-width space, soft hyphen) removed,
 * trimmed, lower case, at most 256 characters: spellings an application's login may map to
 * one account share one counter.
 */
export function accountSubject(account: string): string {
  const canonical = account.normalize('NFKC').replace(ignorable, '').trim().toLowerCase();
  return `user:${canonical.slice(0, 256)}`;
}

/** The client IP as a subject, IPv6 grouped per /64 as `clientIp()` does (one host holds a /64). */
function ipSubject(ip: string): string {
  const parsed = parseIp(ip);
  return `ip:${parsed === undefined ? ip : groupWith(parsed, 32, 64)}`;
}

/** Builds the login limiter over two limiters (either may be absent). */
export function createLoginLimiter(parts: {
  readonly perIp: RateLimiter | undefined;
  readonly perAccount: RateLimiter | undefined;
  readonly monitor: AnomalyMonitor | undefined;
  readonly format: ReplyFormat;
  readonly onError: (error: unknown) => void;
}): LoginLimiter {
  const { perIp, perAccount, monitor, format, onError } = parts;
  return {
    async attempt(input) {
      if (typeof input !== 'object' || input === null) {
        throw new InvalidOptionError('input', input, 'an object with ip and account');
      }
      const account =
        typeof input.account === 'string' && accountSubject(input.account) !== 'user:'
          ? accountSubject(input.account)
          : undefined;
      const ip = typeof input.ip === 'string' && input.ip !== '' ? ipSubject(input.ip) : undefined;
      const checks: [RateLimiter, string][] = [];
      if (perIp !== undefined && ip !== undefined) checks.push([perIp, ip]);
      if (perAccount !== undefined && account !== undefined) checks.push([perAccount, account]);
      const decisions = await Promise.all(
        checks.map(([limiter, subject]) => limiter.check(subject)),
      );
      let deciding: Decision | undefined;
      for (const decision of decisions) {
        if (deciding === undefined || (!decision.allowed && deciding.allowed)) deciding = decision;
        else if (!decision.allowed && decision.retryAfterMs > deciding.retryAfterMs)
          deciding = decision;
      }
      const refund = () =>
        Promise.all(
          checks.map(([limiter, subject], i) =>
            decisions[i]!.allowed ? limiter.refund(subject).catch(onError) : undefined,
          ),
        ).then(() => {});
      if (deciding !== undefined && !deciding.allowed) {
        await refund();
        const retryAfter = Math.max(1, ceilSeconds(deciding.retryAfterMs));
        const reply =
          deciding.reason === 'store_unavailable'
            ? refusal(
                format,
                'service_unavailable',
                { retry_after: retryAfter },
                `Login is unavailable; retry in ${retryAfter} s.`,
                { 'retry-after': String(retryAfter) },
              )
            : refusal(
                format,
                'rate_limit_exceeded',
                { retry_after: retryAfter },
                `Too many login attempts; retry in ${retryAfter} s.`,
                { 'retry-after': String(retryAfter) },
              );
        return {
          allowed: false,
          reply,
          decision: deciding,
          succeeded: async () => {},
          failed: async () => {},
        };
      }
      let settled = false;
      return {
        allowed: true,
        reply: undefined,
        decision: deciding,
        async succeeded() {
          if (settled) return;
          settled = true;
          await refund();
        },
        async failed() {
          if (settled) return;
          settled = true;
          if (monitor === undefined) return;
          try {
            await monitor.recordAuthFailure({
              ip: input.ip,
              user: account?.slice(5),
              endpoint: input.endpoint,
              method: input.method,
              userAgent: input.userAgent,
            });
          } catch (error) {
            onError(error);
          }
        },
      };
    },
  };
}
