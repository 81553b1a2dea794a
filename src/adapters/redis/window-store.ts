import { Cluster } from 'ioredis';
import { InvalidOptionError } from '../../domain/config/errors.ts';
import { choiceOption, integerOption } from '../../domain/config/validate.ts';
import { StoreUnavailableError } from '../../domain/failure/errors.ts';
import { validateCall } from '../../domain/ratelimit/arguments.ts';
import { decide, type PolicyOutcome } from '../../domain/ratelimit/decide.ts';
import { StoreClosedError } from '../../domain/ratelimit/errors.ts';
import type { Decision, Policy } from '../../domain/ratelimit/types.ts';
import type { CallOptions } from '../../ports/call-options.ts';
import type { Clock } from '../../ports/clock.ts';
import type { WindowStore } from '../../ports/window-store.ts';
import { systemClock } from '../clock/system.ts';
import { connect, type RedisConnectionOptions, release } from './client.ts';
import { toStoreError } from './errors.ts';
import { keyPrefixOption, subjectTag, windowKey } from './keys.ts';
import { abortable, defineScript, type RedisClient, runScriptArgv } from './script.ts';
import { evaluateLua } from './scripts/evaluate.ts';
import { refundLua } from './scripts/refund.ts';
import { slotOfTag } from './slot.ts';

/** Options of {@link createRedisWindowStore}. */
export interface RedisWindowStoreOptions extends RedisConnectionOptions {
  /** Key prefix: 1 to 64 characters from `A-Z a-z 0-9 . _ : -`; `lw` by default. */
  readonly prefix?: string | undefined;
  /**
   * Where time comes from: `server` (default) reads Redis `TIME` inside the
   * script, so every app server agrees; `client` uses {@link clock}.
   */
  readonly time?: 'server' | 'client' | undefined;
  /** The clock used with `time: 'client'`; the system clock by default. */
  readonly clock?: Clock | undefined;
  /**
   * With `time: 'client'`: how far app-server clocks may run behind one
   * another or Redis, ms (0 to 366 days; 1000 by default). Keys live this
   * much past the state's expiry so a lagging clock never sees a state vanish
   * early.
   */
  readonly clockSkewMs?: number | undefined;
  /**
   * Send the checks and peeks that one turn of the event loop makes on a
   * subject together, at the end of the turn (true, the default); false
   * sends each call at once. Turn it off in a test suite whose fake timers
   * replace `setImmediate` before LockWatch is imported.
   */
  readonly coalesce?: boolean | undefined;
}

/** A {@link WindowStore} on a single Redis or a Redis Cluster. */
export interface RedisWindowStore extends WindowStore {
  /** The key prefix in use. */
  readonly prefix: string;
}

const evaluateScript = defineScript(evaluateLua);
const refundScript = defineScript(refundLua);

const algorithmLetter = {
  gcra: 'g',
  'fixed-window': 'f',
  'sliding-window': 's',
  'sliding-log': 'l',
} as const;

/** Script arguments of a policy, computed once per policy object (policies are frozen). */
interface PolicyArgs {
  /** Its part of the evaluate script's policy argument: `ge:100:60000:100`. */
  readonly evaluate: string;
  readonly refund: readonly string[];
}

const argsCache = new WeakMap<Policy, PolicyArgs>();

function argsOf(policy: Policy): PolicyArgs {
  let args = argsCache.get(policy);
  if (args === undefined) {
    const letter = algorithmLetter[policy.algorithm];
    const limit = String(policy.limit);
    const windowMs = String(policy.windowMs);
    args = {
      evaluate: `${letter}${policy.mode === 'observe' ? 'o' : 'e'}:${limit}:${windowMs}:${policy.burst}`,
      refund: [letter, limit, windowMs],
    };
    argsCache.set(policy, args);
  }
  return args;
}

// Policy lists are usually defined once and passed on every check: their
// packed script argument is kept per list.
const listCache = new WeakMap<readonly Policy[], string>();

function policyArgOf(policies: readonly Policy[]): string {
  let arg = listCache.get(policies);
  if (arg === undefined) {
    arg = policies.map((policy) => argsOf(policy).evaluate).join(';');
    if (Object.isFrozen(policies)) listCache.set(policies, arg);
  }
  return arg;
}

/**
 * Reads the evaluate script's reply, four integers per policy and call
 * joined with `:`, into one decision per call; digit by digit, so no
 * substring is made per number.
 */
function decisionsOf(policies: readonly Policy[], reply: unknown, calls: number): Decision[] {
  if (typeof reply !== 'string') {
    throw new StoreUnavailableError(`Redis window store: unexpected script reply ${typeof reply}`);
  }
  const count = policies.length;
  const numbers = new Array<number>(count * 4 * calls);
  let index = 0;
  let value = 0;
  let negative = false;
  for (let i = 0; i <= reply.length; i++) {
    const c = i < reply.length ? reply.charCodeAt(i) : 58;
    if (c === 58) {
      numbers[index++] = negative ? -value : value;
      value = 0;
      negative = false;
    } else if (c === 45) negative = true;
    else if (c >= 48 && c <= 57) value = value * 10 + (c - 48);
    else index = -1; // not an integer list: refused below
    if (index < 0 || index > numbers.length) break;
  }
  if (index !== numbers.length) {
    throw new StoreUnavailableError(`Redis window store: unexpected script reply '${reply}'`);
  }
  const decisions = new Array<Decision>(calls);
  for (let call = 0; call < calls; call++) {
    const outcomes = new Array<PolicyOutcome>(count);
    for (let i = 0; i < count; i++) {
      const o = (call * count + i) * 4;
      outcomes[i] = {
        allowed: numbers[o] === 1,
        remaining: numbers[o + 1]!,
        resetMs: numbers[o + 2]!,
        retryAfterMs: numbers[o + 3]!,
      };
    }
    decisions[call] = decide(policies, outcomes);
  }
  return decisions;
}

/** A check or peek waiting for the end of the turn it was made in. */
interface Queued {
  readonly policies: readonly Policy[];
  readonly cost: number;
  readonly charge: boolean;
  /** The script's time argument, read when the call was made. */
  readonly now: string;
  readonly resolve: (decision: Decision) => void;
  readonly reject: (error: unknown) => void;
}

const first = (decisions: readonly Decision[]): Decision => decisions[0]!;

/** The same policies in the same order (policies are frozen, so one object is one policy). */
function samePolicies(a: readonly Policy[], b: readonly Policy[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Taken when this module loads, so that a test suite's fake timers installed later (which
// replace the global) do not hold back every Redis call until they are advanced.
const atTurnEnd = globalThis.setImmediate;

/** At most this many calls go in one script call: Redis runs a script alone, so each stays short. */
const maxCoalesced = 32;

/**
 * Creates a window store on Redis. Every call is one round trip: one
 * EVALSHA evaluates all policies of the subject atomically (a Lua
 * transliteration of the domain's step functions), `reset` is one DEL. All
 * keys of a subject share a hash tag, so the same code serves a single Redis
 * and a Cluster. Failures reject with {@link StoreUnavailableError}; wrap the
 * store in a failure policy to decide what a request sees then.
 *
 * Checks and peeks go out when the current turn of the event loop ends
 * (as ioredis's auto-pipelining does): the calls a turn made on one subject
 * go together, each run of identical calls (the same policies, cost, kind
 * and time) as one script call that decides them one after another, in the
 * order they were made: the decisions of calls made one by one. A flood from one client then
 * costs Redis one script call per turn instead of one per request. A call
 * with an abort signal, a refund or a reset goes out at once, after the
 * calls already waiting on its subject. `coalesce: false` sends every call
 * at once (for test suites whose fake timers hold back `setImmediate`).
 */
export function createRedisWindowStore(options: RedisWindowStoreOptions = {}): RedisWindowStore {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object');
  }
  const prefix = keyPrefixOption(options.prefix ?? 'lw');
  const time = choiceOption('time', options.time ?? 'server', ['server', 'client'] as const);
  const clock = options.clock ?? systemClock;
  const clockSkewMs = integerOption(
    'clockSkewMs',
    options.clockSkewMs ?? 1000,
    0,
    366 * 86_400_000,
  );
  const coalesce = options.coalesce ?? true;
  if (typeof coalesce !== 'boolean') {
    throw new InvalidOptionError('coalesce', coalesce, 'true or false');
  }
  const connected = connect(options);
  const client: RedisClient = connected.client;
  const extraTtl = time === 'server' ? '-1' : String(clockSkewMs);
  let closed = false;

  const nowArg = (): string => {
    if (time === 'server') return '';
    const now = clock.now();
    // The scripts store times with Lua's %.14g, exact below 10^14 (the year 5138).
    if (!Number.isSafeInteger(now) || Math.abs(now) >= 1e14) {
      throw new InvalidOptionError(
        'clock',
        now,
        'a clock whose now() is integer epoch ms below 10^14',
      );
    }
    return String(now);
  };

  const fail = (error: unknown, signal: AbortSignal | undefined) => toStoreError(error, signal);

  /** Awaits a command; with a signal, rejects as soon as it aborts (the command still runs). */
  const call = async <T>(send: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> => {
    if (signal?.aborted) throw signal.reason;
    try {
      const reply = send();
      return await (signal === undefined ? reply : abortable(reply, signal));
    } catch (error) {
      throw fail(error, signal);
    }
  };

  /** `[key count, ...keys]` for the policies of a subject, with room for `extra` arguments. */
  const keyArgs = (subject: string, policies: readonly Policy[]): (string | number)[] => {
    const tag = subjectTag(subject);
    const n = policies.length;
    const argv: (string | number)[] = [n];
    for (let i = 0; i < n; i++) argv.push(windowKey(prefix, tag, policies[i]!.name));
    return argv;
  };

  // The call argument `<c|p>:<cost>:<extra ttl>`, kept for the small costs nearly every call has.
  const callArgs: string[][] = [[], []];
  const callArgOf = (charge: boolean, cost: number, calls: number): string => {
    if (calls > 1) return `${charge ? 'c' : 'p'}:${cost}:${extraTtl}:${calls}`;
    if (cost >= 64) return `${charge ? 'c' : 'p'}:${cost}:${extraTtl}`;
    const kept = callArgs[charge ? 1 : 0]!;
    let arg = kept[cost];
    if (arg === undefined) {
      arg = `${charge ? 'c' : 'p'}:${cost}:${extraTtl}`;
      kept[cost] = arg;
    }
    return arg;
  };

  /** Runs the evaluate script for `calls` identical calls in a row; rejects with a store error. */
  const send = async (
    subject: string,
    policies: readonly Policy[],
    cost: number,
    charge: boolean,
    now: string,
    calls: number,
  ): Promise<Decision[]> => {
    const argv = keyArgs(subject, policies);
    argv.push(now, callArgOf(charge, cost, calls), policyArgOf(policies));
    let reply: unknown;
    try {
      reply = await runScriptArgv(client, evaluateScript, argv);
    } catch (error) {
      throw fail(error, undefined);
    }
    return decisionsOf(policies, reply, calls);
  };

  // Per subject called in this turn of the event loop, its calls in the order they were made;
  // they go out when the turn ends.
  const waiting = new Map<string, Queued[]>();
  let flushing = false;

  /** Sends one subject's calls, one script call per run of identical calls, in order. */
  const sendRuns = (subject: string, queued: Queued[]): void => {
    if (closed) {
      for (const call of queued) call.reject(new StoreClosedError('redis window store'));
      return;
    }
    for (let start = 0; start < queued.length; ) {
      const head = queued[start]!;
      let end = start + 1;
      while (
        end < queued.length &&
        end - start < maxCoalesced &&
        samePolicies(queued[end]!.policies, head.policies) &&
        queued[end]!.cost === head.cost &&
        queued[end]!.charge === head.charge &&
        queued[end]!.now === head.now
      ) {
        end++;
      }
      const run = end - start === queued.length ? queued : queued.slice(start, end);
      // The subject's keys share a slot, so its runs go back to back on one connection, in order.
      send(subject, head.policies, head.cost, head.charge, head.now, run.length).then(
        (decisions) => {
          for (let i = 0; i < run.length; i++) run[i]!.resolve(decisions[i]!);
        },
        (error: unknown) => {
          for (const call of run) call.reject(error);
        },
      );
      start = end;
    }
  };

  /** At the end of the turn: sends every subject's calls. */
  const flush = (): void => {
    flushing = false;
    for (const [subject, queued] of waiting) sendRuns(subject, queued);
    waiting.clear();
  };

  /** Sends the calls waiting on `subject` now, so that a call about to go out at once stays behind them. */
  const sendWaiting = (subject: string): void => {
    const queued = waiting.get(subject);
    if (queued === undefined) return;
    waiting.delete(subject);
    sendRuns(subject, queued);
  };

  const evaluate = (
    subject: string,
    given: readonly Policy[],
    cost: number,
    charge: boolean,
    options: CallOptions | undefined,
  ): Promise<Decision> => {
    let policies: readonly Policy[];
    let now: string;
    try {
      if (closed) throw new StoreClosedError('redis window store');
      validateCall(subject, given, cost);
      // The list as it is now: a caller may change its array before the call goes out.
      policies = Object.isFrozen(given) ? given : Object.freeze([...given]);
      // With client time, read now: the call decides at the time it was made, not when it goes
      // out. With server time this is '' and the script reads Redis's TIME when it runs.
      now = nowArg();
    } catch (error) {
      return Promise.reject(error);
    }
    const signal = options?.signal;
    if (signal !== undefined || !coalesce) {
      sendWaiting(subject);
      return call(() => send(subject, policies, cost, charge, now, 1), signal).then(first);
    }
    return new Promise<Decision>((resolve, reject) => {
      const call = { policies, cost, charge, now, resolve, reject };
      const queued = waiting.get(subject);
      if (queued === undefined) waiting.set(subject, [call]);
      else queued.push(call);
      if (!flushing) {
        flushing = true;
        atTurnEnd(flush);
      }
    });
  };

  const cluster = client instanceof Cluster ? client : undefined;
  return {
    prefix,
    // Redis cannot take back a sent command: a failure policy passes no signal for it to watch.
    stopsOnAbort: false,
    ...(cluster === undefined
      ? {}
      : {
          // The master that owns the subject's slot now; after a failover the
          // promoted replica is a new shard with a fresh breaker. Before the slot
          // map is known (the cluster unreachable at start-up) every subject is on
          // one unknown shard: one breaker, not one per slot (16,384 timeouts).
          shardOf: (subject: string) =>
            cluster.slots[slotOfTag(subjectTag(subject))]?.[0] ?? 'unknown',
          // A master that owns no slot now (failed over) serves no subject. Asked only about the
          // breakers of shards that are not healthy: a scan of the slot map is fine then.
          shardExists: (shard: string) =>
            shard === 'unknown'
              ? cluster.slots.some((owners) => owners === undefined || owners.length === 0)
              : cluster.slots.some((owners) => owners?.[0] === shard),
        }),
    check: (subject, policies, cost, options) => evaluate(subject, policies, cost, true, options),
    peek: (subject, policies, cost, options) => evaluate(subject, policies, cost, false, options),
    async refund(subject, policies, cost, options) {
      if (closed) throw new StoreClosedError('redis window store');
      validateCall(subject, policies, cost);
      const enforced = policies.filter((policy) => policy.mode === 'enforce');
      if (enforced.length === 0 || cost === 0) return;
      const argv = keyArgs(subject, enforced);
      argv.push(nowArg(), cost);
      sendWaiting(subject);
      for (const policy of enforced) argv.push(...argsOf(policy).refund);
      await call(() => runScriptArgv(client, refundScript, argv), options?.signal);
    },
    async reset(subject, policies, options) {
      if (closed) throw new StoreClosedError('redis window store');
      validateCall(subject, policies, 0);
      const keys = keyArgs(subject, policies).slice(1) as string[];
      sendWaiting(subject);
      await call(() => client.del(...keys), options?.signal);
    },
    async close() {
      if (closed) return;
      // Calls made before close() go out now, as they would have at the end of this turn.
      if (flushing) flush();
      closed = true;
      await release(connected);
    },
  };
}
