import { systemClock } from './adapters/clock/system.ts';
import { withTokenStoreTimeouts } from './adapters/failure/token-store.ts';
import { createMemoryTokenStore } from './adapters/memory/token-store.ts';
import { InvalidOptionError } from './domain/config/errors.ts';
import { integerOption } from './domain/config/validate.ts';
import { isLockWatchError } from './domain/errors.ts';
import type { BreakerOptions } from './domain/failure/circuit-breaker.ts';
import type { FailureEvent } from './domain/failure/events.ts';
import { createListenerSet, type Listener } from './domain/failure/listeners.ts';
import { defineFailurePolicy } from './domain/failure/policy.ts';
import { sessionManagerFromParts } from './domain/tokens/manager.ts';
import { buildSessionParts, type SessionTokenOptions } from './domain/tokens/options.ts';
import type { SessionManager } from './domain/tokens/types.ts';
import type { Clock } from './ports/clock.ts';
import type { TokenStore } from './ports/token-store.ts';

/** What a session manager does when its store cannot answer a revocation check. */
export interface TokenFailureOptions {
  /**
   * `closed` (the default): verification fails with
   * `token_store_unavailable` (HTTP 503) — a revoked token never passes
   * because the store is slow. `open`: the token passes on its signature and
   * claims alone, marked `degraded`. Issuing, refreshing, revoking and
   * single-use purpose tokens always fail closed: they cannot be done
   * without the store.
   */
  readonly policy?: 'open' | 'closed' | undefined;
  /**
   * Per-call timeout of the store, ms: 1 to 10,000; 100 by default. A
   * refresh's rotation is waited for at least 1 s: given up on, it may still
   * be applied (see docs/tokens.md, "When a refresh times out").
   */
  readonly timeoutMs?: number | undefined;
  /** Timeout of a refresh's rotation, ms: 1 to 10,000; the larger of `timeoutMs` and 1,000 by default. */
  readonly rotateTimeoutMs?: number | undefined;
  /** Circuit breaker: opens after `failureThreshold` failures in a row, for `cooldownMs`. */
  readonly breaker?: BreakerOptions | undefined;
}

/** Options of {@link createSessionManager}. */
export interface SessionManagerOptions extends SessionTokenOptions {
  /** Where sessions and revocations live; a memory store by default. */
  readonly store?: TokenStore | undefined;
  /** Time source of tokens, sessions, timeouts and the breaker; the system clock by default. */
  readonly clock?: Clock | undefined;
  /** Failure policy of the store (ignored for an in-process store, which cannot fail for I/O reasons). */
  readonly failure?: TokenFailureOptions | undefined;
  /** Receives breaker state changes, store failures, and degraded verifications. */
  readonly onEvent?: Listener<FailureEvent> | undefined;
}

/**
 * Creates a session manager. Everything costly happens here, once: options
 * are validated (a bad one throws an InvalidOptionError naming it), keys are
 * imported, purpose keys derived. A networked store is wrapped in a timeout
 * and a circuit breaker.
 */
export async function createSessionManager(
  options: SessionManagerOptions,
): Promise<SessionManager> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object with issuer, audience and keys');
  }
  const clock = options.clock ?? systemClock;
  const failure = options.failure ?? {};
  if (typeof failure !== 'object' || failure === null) {
    throw new InvalidOptionError(
      'failure',
      failure,
      'an object with policy, timeoutMs and breaker',
    );
  }
  const policy = failure.policy ?? 'closed';
  if (policy !== 'open' && policy !== 'closed') {
    throw new InvalidOptionError(
      'failure.policy',
      policy,
      "'closed' or 'open' (a token store has no fallback: a revocation recorded elsewhere cannot be known)",
    );
  }
  // Validated here even when an in-process store makes them moot, so a typo never waits for production.
  const { rotateTimeoutMs, ...shared } = failure;
  const validated = defineFailurePolicy({ ...shared, policy }, 'failure');
  if (rotateTimeoutMs !== undefined) {
    integerOption('failure.rotateTimeoutMs', rotateTimeoutMs, 1, 10_000);
  }
  const events = createListenerSet<FailureEvent>();
  if (options.onEvent !== undefined) {
    if (typeof options.onEvent !== 'function') {
      throw new InvalidOptionError('onEvent', options.onEvent, 'a function');
    }
    events.add(options.onEvent);
  }
  const given = options.store;
  if (
    given !== undefined &&
    (typeof given !== 'object' || given === null || typeof given.rotateRefresh !== 'function')
  ) {
    throw new InvalidOptionError('store', given, 'a TokenStore');
  }
  const base = given ?? createMemoryTokenStore();
  const store = base.inProcess
    ? base
    : withTokenStoreTimeouts(base, {
        timeoutMs: validated.timeoutMs,
        rotateTimeoutMs,
        breaker: validated.breaker,
        clock,
        onEvent: (event) => events.emit(event),
      });
  try {
    const parts = await buildSessionParts(options, {
      store,
      clock,
      failureMode: policy,
      ownsStore: given === undefined,
      onDegraded: (operation, error) =>
        events.emit({
          type: 'degraded',
          operation,
          policy,
          cause:
            isLockWatchError(error) && error.code === 'circuit_open' ? 'circuit_open' : 'failure',
          at: clock.now(),
        }),
    });
    return sessionManagerFromParts(parts);
  } catch (error) {
    if (given === undefined) await base.close();
    throw error;
  }
}
