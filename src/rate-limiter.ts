import {
  type FailurePolicyStoreOptions,
  isFailurePolicyStore,
  withFailurePolicy,
} from './adapters/failure/window-store.ts';
import { createMemoryWindowStore } from './adapters/memory/window-store.ts';
import { InvalidOptionError } from './domain/config/errors.ts';
import type { FailureEvent } from './domain/failure/events.ts';
import type { KeyFunction } from './domain/ratelimit/keys.ts';
import { type RateLimiter, rateLimiterFromParts } from './domain/ratelimit/limiter.ts';
import { definePolicies, type PolicyOptions, validateCost } from './domain/ratelimit/policy.ts';
import type { Policy } from './domain/ratelimit/types.ts';
import type { Clock } from './ports/clock.ts';
import type { WindowStore } from './ports/window-store.ts';

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions<R> {
  /** Where state lives; a memory store (100,000 keys) on `clock` by default. */
  readonly store?: WindowStore | undefined;
  /** Policies every subject is checked against, in one atomic store call. */
  readonly policies: readonly (PolicyOptions | Policy)[];
  /** Turns a request into a subject for `checkRequest`. */
  readonly key?: KeyFunction<R> | undefined;
  /** Default cost of a check: an integer from 0; 1 by default. */
  readonly cost?: number | undefined;
  /**
   * Failure policy applied to the store: `open`, `closed` or `fallback`, with
   * a per-call timeout and a circuit breaker. A store that is not in-process
   * (Redis, SQL) always gets one: `{ policy: 'open', timeoutMs: 100 }` unless
   * set here; `fallback` gets a memory store unless one is given. `false`
   * turns it off (the store's own errors then reach the caller).
   */
  readonly failure?: Omit<FailurePolicyStoreOptions, 'clock' | 'path'> | false | undefined;
  /** Time source of the default memory store and of the failure policy. */
  readonly clock?: Clock | undefined;
  /**
   * Where circuit-breaker state changes are logged (one line per change, never
   * per request); `console` by default, `false` for silence.
   */
  readonly logger?: { warn(message: string): void } | false | undefined;
}

/**
 * Creates a rate limiter. Options are validated here, once: a bad option
 * throws an InvalidOptionError that names it.
 */
export function createRateLimiter<R = unknown>(options: RateLimiterOptions<R>): RateLimiter<R> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object with at least `policies`');
  }
  const policies = definePolicies(options.policies);
  const cost = validateCost(options.cost ?? 1);
  if (options.key !== undefined && typeof options.key !== 'function') {
    throw new InvalidOptionError('key', options.key, 'a function from request to subject');
  }
  const ownsStore = options.store === undefined;
  const clock = options.clock;
  const base = options.store ?? createMemoryWindowStore({ clock });
  const failure = options.failure;
  if (
    failure !== undefined &&
    failure !== false &&
    (typeof failure !== 'object' || failure === null)
  ) {
    throw new InvalidOptionError('failure', failure, "an object like { policy: 'open' }, or false");
  }
  // A store already under a failure policy keeps that one: a second, `open` by default, would
  // answer a slow store first and overrule a `closed` or `fallback` choice.
  const wrap =
    failure === undefined
      ? base.inProcess !== true && !isFailurePolicyStore(base)
      : failure !== false;
  const chosen = failure || {};
  const fallback =
    chosen.policy === 'fallback'
      ? (chosen.fallback ?? (() => createMemoryWindowStore({ clock })))
      : chosen.fallback;
  const logger = options.logger === undefined ? console : options.logger;
  const userListener = chosen.onEvent;
  const onEvent = (event: FailureEvent) => {
    if (logger !== false && event.type === 'state') {
      const shard = event.shard ? ` (shard ${event.shard})` : '';
      logger.warn(`lockwatch: rate-limit store breaker ${event.from} -> ${event.to}${shard}`);
    }
    userListener?.(event);
  };
  const store = wrap
    ? withFailurePolicy(base, {
        policy: 'open',
        ...chosen,
        fallback,
        onEvent,
        clock,
        path: 'failure',
      })
    : base;
  return rateLimiterFromParts({ store, policies, key: options.key, cost, ownsStore });
}
