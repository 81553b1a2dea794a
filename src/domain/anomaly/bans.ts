import type { CallOptions } from '../../ports/call-options.ts';
import type { Clock } from '../../ports/clock.ts';
import type { WindowStore } from '../../ports/window-store.ts';
import { type Duration, durationOption } from '../config/duration.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { integerOption, nameOption } from '../config/validate.ts';
import { definePolicy } from '../ratelimit/policy.ts';
import type { Policy } from '../ratelimit/types.ts';

/** Options of {@link createBans}. */
export interface BanOptions {
  /** Length of a first ban; 1 min by default (1 s to 30 days). */
  readonly initial?: Duration | undefined;
  /** Each repeat offence multiplies the ban by this: an integer from 1 to 100; 4 by default. */
  readonly multiplier?: number | undefined;
  /** Longest ban, the cap of escalation; 24 h by default (at least `initial`, at most 30 days). */
  readonly max?: Duration | undefined;
  /** How long offences are remembered for escalation; 24 h by default (1 s to 30 days). */
  readonly forgetAfter?: Duration | undefined;
  /**
   * How long this process trusts a ban it has seen without asking the store
   * again (0 to 60 s; 1 s by default): a banned flood costs no round trips,
   * and an unban made on another server is seen within this time.
   */
  readonly localCacheMs?: Duration | undefined;
  /** Subjects kept in that local cache: 0 to 1,000,000; 10,000 by default. */
  readonly localCacheSize?: number | undefined;
  /** Prefix of the three policy names in the store; `lw-ban` by default. */
  readonly name?: string | undefined;
}

/** Whether a subject is banned now. */
export interface BanStatus {
  /** Requests of the subject are to be refused. */
  readonly banned: boolean;
  /** Ms until the ban ends; 0 when not banned. */
  readonly retryAfterMs: number;
}

/** What an offence led to. */
export type OffenceOutcome =
  /** A ban was imposed. */
  | { readonly banned: true; readonly level: number; readonly durationMs: number }
  /** Another offence of the subject was handled within the shortest ban period (here or on another server). */
  | { readonly banned: false; readonly reason: 'recent' };

/** Temporary bans kept in a WindowStore, so every app server sees them. */
export interface Bans {
  /** Ban length per escalation level, ms; the last one is the cap. */
  readonly durations: readonly number[];
  /** The store policies: the ban itself, the offence gate and the offence count. */
  readonly policies: { readonly ban: Policy; readonly gate: Policy; readonly offences: Policy };
  /** Ban state from this process's cache, without I/O; undefined when the store must be asked. */
  cached(subject: string): BanStatus | undefined;
  /** Ban state from the cache or the store (one round trip). */
  check(subject: string, options?: CallOptions): Promise<BanStatus>;
  /** Bans `subject` for `duration` from now (replacing a ban in force); the first level by default. */
  ban(subject: string, duration?: Duration, options?: CallOptions): Promise<BanStatus>;
  /** Lifts the ban and forgets the subject's offences. */
  unban(subject: string, options?: CallOptions): Promise<void>;
  /**
   * Records an offence and bans for the escalated duration: the n-th offence
   * within `forgetAfter` gets level n-1, up to the cap. At most one offence
   * per subject counts per `initial` period, across all servers, so one
   * burst seen by several servers escalates once.
   */
  offend(subject: string, options?: CallOptions): Promise<OffenceOutcome>;
}

const maxBanMs = 30 * 86_400_000;
const maxProduct = 2 ** 52;

/**
 * Creates the ban manager. A ban is one GCRA policy whose bucket drains one
 * unit per `unit` ms: banning for D ms charges D/unit units, and the subject
 * is banned while the bucket is not empty, which a full-capacity `peek`
 * reads in one call. So any duration up to the cap is one key, exact to the
 * unit (1 ms for caps up to about 18 hours, 2 ms at 24 hours).
 */
export function createBans(
  store: WindowStore,
  clock: Clock,
  options: BanOptions = {},
  path = 'bans',
): Bans {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(path, options, 'an object with initial, multiplier and max');
  }
  const initial = durationOption(`${path}.initial`, options.initial ?? 60_000, 1000, maxBanMs);
  const multiplier = integerOption(`${path}.multiplier`, options.multiplier ?? 4, 1, 100);
  const max = durationOption(`${path}.max`, options.max ?? 86_400_000, initial, maxBanMs);
  const forgetAfter = durationOption(
    `${path}.forgetAfter`,
    options.forgetAfter ?? 86_400_000,
    1000,
    maxBanMs,
  );
  const cacheMs = durationOption(`${path}.localCacheMs`, options.localCacheMs ?? 1000, 0, 60_000);
  const cacheSize = integerOption(
    `${path}.localCacheSize`,
    options.localCacheSize ?? 10_000,
    0,
    1_000_000,
  );
  const name = nameOption(
    `${path}.name`,
    options.name ?? 'lw-ban',
    /^[A-Za-z0-9._-]{1,50}$/,
    "1 to 50 characters from A-Z, a-z, 0-9, '.', '_', '-'",
  );

  const durations: number[] = [initial];
  while (durations[durations.length - 1]! < max && durations.length < 64) {
    durations.push(Math.min(max, durations[durations.length - 1]! * multiplier));
    if (multiplier === 1) break;
  }

  // The smallest unit that keeps limit × window (= limit² × unit) within 2^52.
  let unit = Math.max(1, Math.ceil((max * max) / maxProduct));
  let limit = Math.ceil(max / unit);
  while (limit * limit * unit > maxProduct) {
    unit++;
    limit = Math.ceil(max / unit);
  }
  const ban = definePolicy({ name, limit, window: limit * unit, algorithm: 'gcra' }, path);
  const gate = definePolicy({ name: `${name}-gate`, limit: 1, window: initial }, path);
  const offences = definePolicy(
    {
      name: `${name}-offences`,
      limit: durations.length,
      window: forgetAfter,
      algorithm: 'sliding-log',
      mode: 'observe',
    },
    path,
  );
  const banPolicies = [ban];
  const all = [ban, gate, offences];

  const bannedUntil = new Map<string, number>();
  const gatedUntil = new Map<string, number>();
  const remember = (map: Map<string, number>, subject: string, until: number) => {
    if (cacheSize === 0 || cacheMs === 0) return;
    map.delete(subject);
    map.set(subject, until);
    if (map.size > cacheSize) map.delete(map.keys().next().value as string);
  };
  const notBanned: BanStatus = Object.freeze({ banned: false, retryAfterMs: 0 });

  const cached = (subject: string): BanStatus | undefined => {
    const until = bannedUntil.get(subject);
    if (until === undefined) return undefined;
    const left = until - clock.now();
    if (left > 0) return { banned: true, retryAfterMs: left };
    bannedUntil.delete(subject);
    return undefined;
  };

  const seen = (subject: string, retryAfterMs: number): BanStatus => {
    remember(bannedUntil, subject, clock.now() + Math.min(retryAfterMs, cacheMs));
    return { banned: true, retryAfterMs };
  };

  const impose = async (subject: string, ms: number, callOptions?: CallOptions) => {
    const cost = Math.min(limit, Math.max(1, Math.ceil(ms / unit)));
    await store.reset(subject, banPolicies, callOptions);
    await store.check(subject, banPolicies, cost, callOptions);
    return seen(subject, cost * unit);
  };

  return {
    durations: Object.freeze(durations),
    policies: Object.freeze({ ban, gate, offences }),
    cached,
    async check(subject, callOptions) {
      const local = cached(subject);
      if (local !== undefined) return local;
      const decision = await store.peek(subject, banPolicies, limit, callOptions);
      if (decision.allowed || decision.degraded) return notBanned;
      return seen(subject, decision.retryAfterMs);
    },
    ban(subject, duration, callOptions) {
      const ms = durationOption('duration', duration ?? initial, 1, maxBanMs);
      return impose(subject, ms, callOptions);
    },
    async unban(subject, callOptions) {
      bannedUntil.delete(subject);
      gatedUntil.delete(subject);
      await store.reset(subject, all, callOptions);
    },
    async offend(subject, callOptions) {
      const now = clock.now();
      const gatedTill = gatedUntil.get(subject);
      if (gatedTill !== undefined && gatedTill > now) return { banned: false, reason: 'recent' };
      remember(gatedUntil, subject, now + initial);
      const gateDecision = await store.check(subject, [gate], 1, callOptions);
      if (!gateDecision.allowed || gateDecision.degraded) {
        return { banned: false, reason: 'recent' };
      }
      const counted = await store.check(subject, [offences], 1, callOptions);
      const result = counted.observed[0]!;
      const n = result.limit - result.remaining + (result.allowed ? 0 : 1);
      const level = Math.min(Math.max(n, 1), durations.length) - 1;
      const durationMs = durations[level]!;
      await impose(subject, durationMs, callOptions);
      return { banned: true, level, durationMs };
    },
  };
}
