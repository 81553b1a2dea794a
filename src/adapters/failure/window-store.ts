import { InvalidOptionError } from '../../domain/config/errors.ts';
import { isLockWatchError } from '../../domain/errors.ts';
import {
  type BreakerState,
  type CircuitBreaker,
  createCircuitBreaker,
} from '../../domain/failure/circuit-breaker.ts';
import { closedDecision, closedRetryAfterMs, openDecision } from '../../domain/failure/degraded.ts';
import type { DegradedCause, FailureEvent } from '../../domain/failure/events.ts';
import { createListenerSet, type Listener } from '../../domain/failure/listeners.ts';
import {
  defineFailurePolicy,
  type FailureOptions,
  type FailurePolicy,
} from '../../domain/failure/policy.ts';
import { validateCall } from '../../domain/ratelimit/arguments.ts';
import { StoreClosedError } from '../../domain/ratelimit/errors.ts';
import type { Decision, Policy } from '../../domain/ratelimit/types.ts';
import type { CallOptions } from '../../ports/call-options.ts';
import type { Clock } from '../../ports/clock.ts';
import type { WindowStore } from '../../ports/window-store.ts';
import { systemClock } from '../clock/system.ts';
import { callWithTimeout, settleWithin } from './timeout.ts';

/** Options of {@link withFailurePolicy}. */
export interface FailurePolicyStoreOptions extends FailureOptions {
  /** Time source of timeouts and of the breaker; the system clock by default. */
  readonly clock?: Clock | undefined;
  /**
   * `fallback` mode only, and required there: the store that answers while
   * the primary is down, or a function that creates one. With a function a
   * fresh store is made after every recovery, so one outage's counts do not
   * carry into the next; `createRateLimiter` passes a memory store factory.
   */
  readonly fallback?: WindowStore | (() => WindowStore) | undefined;
  /** Receives every {@link FailureEvent}; same as calling `on` right away. */
  readonly onEvent?: Listener<FailureEvent> | undefined;
  /** Option path used in error messages; `failure` by default. */
  readonly path?: string | undefined;
}

/** A {@link WindowStore} that applies a failure policy to another one. */
export interface FailurePolicyStore extends WindowStore {
  /** The worst breaker state over all shards: `open` if any is open, then `half-open`, else `closed`. */
  readonly state: BreakerState;
  /** The breaker state of the shard that serves `subject`. */
  stateOf(subject: string): BreakerState;
  /** The validated policy in force. */
  readonly policy: FailurePolicy;
  /** Adds an event listener; returns a function that removes it. */
  on(listener: Listener<FailureEvent>): () => void;
}

/**
 * Wraps `primary` in a failure policy. Each primary call runs under a
 * `timeoutMs` timeout on `clock` and with an AbortSignal that aborts on that
 * timeout or on the caller's signal (a primary whose `stopsOnAbort` is false
 * gets none: neither could stop it; the wrapper stops waiting on either). A
 * rejection or timeout counts against the circuit breaker; a caller's abort, bad arguments and a closed primary
 * do not (they are rethrown as they are). While the breaker is open the
 * primary is not called at all. There is one breaker per shard of the
 * primary (`primary.shardOf`, a Redis Cluster node), so one dead node does
 * not degrade subjects that healthy nodes serve.
 *
 * When the primary cannot answer, `check` and `peek` return: in `open` mode
 * an allowed decision, in `closed` mode a `store_unavailable` denial, in
 * `fallback` mode the fallback store's decision; all marked `degraded: true`.
 * `refund` and `reset` never reject because the primary failed: in `open` and
 * `closed` modes they are dropped, in `fallback` mode they go to the fallback
 * store (and `reset` always clears the fallback as well, so stale counts do
 * not return in the next outage). `close()` closes the primary and the
 * fallback store.
 */
// Stores made by withFailurePolicy: a limiter given one must not wrap it in a second policy, whose
// own deadline (queued with the first's) would answer before the one the user chose.
const policyStores = new WeakSet<WindowStore>();

/** True when `store` is already under a failure policy (made by {@link withFailurePolicy}). */
export function isFailurePolicyStore(store: WindowStore): boolean {
  return policyStores.has(store);
}

export function withFailurePolicy(
  primary: WindowStore,
  options: FailurePolicyStoreOptions,
): FailurePolicyStore {
  const path = options?.path ?? 'failure';
  if (typeof primary !== 'object' || primary === null || typeof primary.check !== 'function') {
    throw new InvalidOptionError('store', primary, 'a WindowStore');
  }
  const policy = defineFailurePolicy(options, path);
  const clock = options.clock ?? systemClock;
  if (options.fallback !== undefined && policy.policy !== 'fallback') {
    throw new InvalidOptionError(
      `${path}.fallback`,
      options.fallback,
      "no fallback store unless policy is 'fallback'",
    );
  }
  if (policy.policy === 'fallback' && options.fallback === undefined) {
    throw new InvalidOptionError(
      `${path}.fallback`,
      options.fallback,
      "a WindowStore, or a function creating one, when policy is 'fallback'",
    );
  }
  const makeFallback = typeof options.fallback === 'function' ? options.fallback : undefined;
  let fallback: WindowStore | undefined =
    makeFallback?.() ?? (options.fallback as WindowStore | undefined);
  const events = createListenerSet<FailureEvent>();
  if (options.onEvent !== undefined) events.add(options.onEvent);
  const breakers = new Map<string, CircuitBreaker>();
  let unhealthy = 0;
  // A shard that serves no subject any more (a Redis Cluster master replaced by its replica) is
  // never asked again, so its breaker would stay open for good: the store would never count as
  // recovered (no fresh fallback, `state` not closed). The store says when a shard is gone; a
  // shard it still serves is kept however long it is idle, so pausing never resets a fallback.
  const forgetGone = () => {
    const exists = primary.shardExists;
    if (exists === undefined) return;
    for (const [shard, breaker] of breakers) {
      if (breaker.state === 'closed' || exists.call(primary, shard)) continue;
      breakers.delete(shard);
      if (--unhealthy === 0) renewFallback();
    }
  };
  const breakerFor = (subject: string): CircuitBreaker => {
    const shard = primary.shardOf === undefined ? '' : primary.shardOf(subject);
    // Only while some breaker is not closed: the healthy path pays nothing for it.
    if (unhealthy > 0) forgetGone();
    let breaker = breakers.get(shard);
    if (breaker === undefined) {
      const made = createCircuitBreaker({
        clock,
        ...policy.breaker,
        onStateChange: ({ from, to, at }) => {
          // A forgotten breaker no longer counts, whatever it does later.
          if (breakers.get(shard) !== made) return;
          events.emit({ type: 'state', from, to, at, shard });
          if (from === 'closed') unhealthy++;
          if (to === 'closed' && --unhealthy === 0) renewFallback();
        },
      });
      // Shards are nodes: a handful. The bound only guards against a primary
      // whose shardOf returns something unbounded.
      if (breakers.size >= maxShards) {
        breakers.clear();
        unhealthy = 0;
      }
      breakers.set(shard, made);
      breaker = made;
    }
    return breaker;
  };
  /** After a full recovery, a fresh fallback store so old counts do not return in the next outage. */
  const renewFallback = () => {
    if (makeFallback === undefined || fallback === undefined || closed) return;
    const stale = fallback;
    fallback = makeFallback();
    stale.close().catch(() => {});
  };
  let closed = false;

  // A store that an abort cannot stop gets no signal: one of its own per call (and the store's
  // listener on it) was most of this wrapper's garbage per request, and stopped nothing.
  const abortsPrimary = primary.stopsOnAbort !== false;

  const emitDegraded = (operation: string, cause: DegradedCause) =>
    events.emit({ type: 'degraded', operation, policy: policy.policy, cause, at: clock.now() });

  /**
   * Runs `call` on the primary under the policy; when the primary cannot
   * answer, returns what `degrade` makes of it (given when the breaker lets
   * a call through again).
   */
  const guarded = async <T>(
    operation: string,
    subject: string,
    options: CallOptions | undefined,
    call: (options: CallOptions | undefined) => Promise<T>,
    degrade: (retryAt: number) => Promise<T>,
  ): Promise<T> => {
    const fail = (cause: DegradedCause, retryAt: number) => {
      emitDegraded(operation, cause);
      return degrade(retryAt);
    };
    const breaker = breakerFor(subject);
    const admission = breaker.admit();
    if (!admission.allowed) return fail('circuit_open', admission.retryAt);
    const { permit } = admission;
    const outcome = await callWithTimeout(clock, policy.timeoutMs, options, abortsPrimary, call);
    if (outcome.kind === 'ok') {
      breaker.succeeded(permit);
      return outcome.value;
    }
    if (outcome.kind === 'aborted') {
      breaker.released(permit);
      throw outcome.reason;
    }
    if (isUsageError(outcome.error)) {
      breaker.released(permit);
      throw outcome.error;
    }
    events.emit({ type: 'failure', operation, error: outcome.error, at: clock.now() });
    breaker.failed(permit);
    return fail('failure', breaker.retryAt);
  };

  const start = (
    subject: string,
    policies: readonly Policy[],
    cost: number,
    options?: CallOptions,
  ) => {
    if (closed) throw new StoreClosedError('failure-policy window store');
    validateCall(subject, policies, cost);
    options?.signal?.throwIfAborted();
  };

  /** What `check` or `peek` answers when the primary cannot. */
  const degradedDecision = async (
    operation: 'check' | 'peek',
    subject: string,
    policies: readonly Policy[],
    cost: number,
    signal: AbortSignal | undefined,
    retryAt: number,
  ): Promise<Decision> => {
    const now = clock.now();
    if (policy.policy === 'open') return openDecision(policies, cost, now, operation === 'check');
    if (policy.policy === 'closed') {
      return closedDecision(policies, cost, now, closedRetryAfterMs(retryAt, now));
    }
    const answer = await fallback![operation](subject, policies, cost, { signal });
    return { ...answer, degraded: true };
  };

  /**
   * `check` or `peek` on a primary that gets no signal, for a caller without
   * one (the HTTP path on Redis): what {@link guarded} does, with one promise
   * per call and no outcome objects.
   */
  const unsignalledDecision = (
    operation: 'check' | 'peek',
    subject: string,
    policies: readonly Policy[],
    cost: number,
  ): Promise<Decision> => {
    const breaker = breakerFor(subject);
    const admission = breaker.admit();
    if (!admission.allowed) {
      emitDegraded(operation, 'circuit_open');
      return degradedDecision(operation, subject, policies, cost, undefined, admission.retryAt);
    }
    const { permit } = admission;
    let pending: Promise<Decision>;
    try {
      pending = Promise.resolve(primary[operation](subject, policies, cost, undefined));
    } catch (error) {
      pending = Promise.reject(error);
    }
    return new Promise<Decision>((resolve, reject) => {
      settleWithin(clock, policy.timeoutMs, pending, (ok, result) => {
        // What the breaker's listeners do (a fresh fallback store after a recovery) may throw:
        // the call then rejects, as the general path's async function does.
        try {
          if (ok) {
            breaker.succeeded(permit);
            resolve(result as Decision);
            return;
          }
          if (isUsageError(result)) {
            breaker.released(permit);
            reject(result);
            return;
          }
          events.emit({ type: 'failure', operation, error: result, at: clock.now() });
          breaker.failed(permit);
          emitDegraded(operation, 'failure');
          resolve(degradedDecision(operation, subject, policies, cost, undefined, breaker.retryAt));
        } catch (error) {
          reject(error);
        }
      });
    });
  };

  const decision = (
    operation: 'check' | 'peek',
    subject: string,
    policies: readonly Policy[],
    cost: number,
    options?: CallOptions,
  ): Promise<Decision> => {
    start(subject, policies, cost, options);
    const signal = options?.signal;
    if (signal === undefined && !abortsPrimary) {
      return unsignalledDecision(operation, subject, policies, cost);
    }
    return guarded(
      operation,
      subject,
      options,
      (own) => primary[operation](subject, policies, cost, own),
      (retryAt) => degradedDecision(operation, subject, policies, cost, signal, retryAt),
    );
  };

  const policyStore: FailurePolicyStore = {
    get state() {
      let worst: BreakerState = 'closed';
      if (unhealthy > 0) forgetGone();
      for (const breaker of breakers.values()) {
        const state = breaker.state;
        if (state === 'open') return state;
        if (state === 'half-open') worst = state;
      }
      return worst;
    },
    stateOf: (subject) => breakerFor(subject).state,
    policy,
    on: (listener) => events.add(listener),
    // Not async: returning the guarded promise from an async function would cost another promise
    // and two microtasks per call.
    check(subject, policies, cost, options) {
      try {
        return decision('check', subject, policies, cost, options);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    peek(subject, policies, cost, options) {
      try {
        return decision('peek', subject, policies, cost, options);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    async refund(subject, policies, cost, options) {
      start(subject, policies, cost, options);
      const signal = options?.signal;
      await guarded(
        'refund',
        subject,
        options,
        (own) => primary.refund(subject, policies, cost, own),
        async () => fallback?.refund(subject, policies, cost, { signal }),
      );
    },
    async reset(subject, policies, options) {
      start(subject, policies, 0, options);
      const signal = options?.signal;
      await guarded(
        'reset',
        subject,
        options,
        (own) => primary.reset(subject, policies, own),
        async () => {},
      );
      await fallback?.reset(subject, policies, { signal });
    },
    async close() {
      if (closed) return;
      closed = true;
      const results = await Promise.allSettled([primary.close(), fallback?.close()]);
      for (const result of results) if (result.status === 'rejected') throw result.reason;
    },
  };
  policyStores.add(policyStore);
  return policyStore;
}

const maxShards = 4096;

/** Errors that say the call was wrong, not that the store is down: rethrown, never counted. */
function isUsageError(error: unknown): boolean {
  return (
    isLockWatchError(error) && (error.code === 'invalid_option' || error.code === 'store_closed')
  );
}
