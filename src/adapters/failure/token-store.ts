import { InvalidOptionError } from '../../domain/config/errors.ts';
import { integerOption } from '../../domain/config/validate.ts';
import { isLockWatchError } from '../../domain/errors.ts';
import type { BreakerOptions } from '../../domain/failure/circuit-breaker.ts';
import {
  type BreakerState,
  createCircuitBreaker,
  defineBreakerSettings,
} from '../../domain/failure/circuit-breaker.ts';
import { CircuitOpenError, StoreUnavailableError } from '../../domain/failure/errors.ts';
import type { FailureEvent } from '../../domain/failure/events.ts';
import type { Listener } from '../../domain/failure/listeners.ts';
import { defaultTimeoutMs, maxTimeoutMs } from '../../domain/failure/policy.ts';
import { StoreClosedError } from '../../domain/ratelimit/errors.ts';
import type { CallOptions } from '../../ports/call-options.ts';
import type { Clock } from '../../ports/clock.ts';
import type { TokenStore } from '../../ports/token-store.ts';
import { systemClock } from '../clock/system.ts';
import { callWithTimeout } from './timeout.ts';

/** Options of {@link withTokenStoreTimeouts}. */
export interface TokenStoreGuardOptions {
  /** Per-call timeout, ms: 1 to 10,000; 100 by default. */
  readonly timeoutMs?: number | undefined;
  /**
   * Timeout of `rotateRefresh`, ms: 1 to 10,000; the larger of `timeoutMs`
   * and 1,000 by default. A rotation given up on may still be applied by the
   * store (a Redis script cannot be stopped; PostgreSQL waits for its row
   * lock up to its own `queryTimeoutMs`), and its outcome is then unknown to
   * the client, so it is waited for longer than a read.
   */
  readonly rotateTimeoutMs?: number | undefined;
  /** Circuit breaker settings. */
  readonly breaker?: BreakerOptions | undefined;
  /** Time source of timeouts and of the breaker; the system clock by default. */
  readonly clock?: Clock | undefined;
  /** Receives `state` and `failure` events. */
  readonly onEvent?: Listener<FailureEvent> | undefined;
  /** Option path used in error messages; `failure` by default. */
  readonly path?: string | undefined;
}

/** Default floor of the `rotateRefresh` timeout, ms (see {@link TokenStoreGuardOptions.rotateTimeoutMs}). */
export const defaultRotateTimeoutMs = 1000;

/** A {@link TokenStore} whose calls run under a timeout and a circuit breaker. */
export interface GuardedTokenStore extends TokenStore {
  /** The circuit breaker's state now. */
  readonly state: BreakerState;
}

/**
 * Wraps a token store so that no call takes longer than `timeoutMs`
 * (`rotateTimeoutMs` for a rotation) and a failing store is not called at
 * all while its breaker is open. A call that cannot be answered rejects with
 * a {@link StoreUnavailableError} (`store_timeout`, `circuit_open`, or the
 * store's own); what that means for a request (deny, or admit without the
 * revocation check) is the session manager's failure mode. Bad arguments, a closed store and the caller's
 * abort pass through and do not count against the breaker.
 */
export function withTokenStoreTimeouts(
  primary: TokenStore,
  options: TokenStoreGuardOptions = {},
): GuardedTokenStore {
  const path = options.path ?? 'failure';
  if (
    typeof primary !== 'object' ||
    primary === null ||
    typeof primary.rotateRefresh !== 'function'
  ) {
    throw new InvalidOptionError('store', primary, 'a TokenStore');
  }
  const timeoutMs = integerOption(
    `${path}.timeoutMs`,
    options.timeoutMs ?? defaultTimeoutMs,
    1,
    maxTimeoutMs,
  );
  const rotateTimeoutMs = integerOption(
    `${path}.rotateTimeoutMs`,
    options.rotateTimeoutMs ?? Math.max(timeoutMs, defaultRotateTimeoutMs),
    1,
    maxTimeoutMs,
  );
  const breakerSettings = defineBreakerSettings(options.breaker, `${path}.breaker`);
  const clock = options.clock ?? systemClock;
  const emit = options.onEvent;
  const breaker = createCircuitBreaker({
    clock,
    ...breakerSettings,
    onStateChange: ({ from, to, at }) => emit?.({ type: 'state', from, to, at }),
  });
  let closed = false;

  const guarded = async <T>(
    operation: string,
    callOptions: CallOptions | undefined,
    call: (own: CallOptions) => Promise<T>,
    limitMs = timeoutMs,
  ): Promise<T> => {
    if (closed) throw new StoreClosedError('token store');
    const signal = callOptions?.signal;
    signal?.throwIfAborted();
    const admission = breaker.admit();
    if (!admission.allowed) throw new CircuitOpenError(admission.retryAt);
    const { permit } = admission;
    const outcome = await callWithTimeout(clock, limitMs, callOptions, true, (own) => call(own!));
    if (outcome.kind === 'ok') {
      breaker.succeeded(permit);
      return outcome.value;
    }
    if (outcome.kind === 'aborted') {
      breaker.released(permit);
      throw outcome.reason;
    }
    const { error } = outcome;
    if (
      isLockWatchError(error) &&
      (error.code === 'invalid_option' || error.code === 'store_closed')
    ) {
      breaker.released(permit);
      throw error;
    }
    emit?.({ type: 'failure', operation, error, at: clock.now() });
    breaker.failed(permit);
    throw error instanceof StoreUnavailableError
      ? error
      : new StoreUnavailableError(`Token store call ${operation} failed.`, { cause: error });
  };

  return {
    get state() {
      return breaker.state;
    },
    createSession: (session, o) =>
      guarded('createSession', o, (own) => primary.createSession(session, own)),
    rotateRefresh: (request, o) =>
      guarded('rotateRefresh', o, (own) => primary.rotateRefresh(request, own), rotateTimeoutMs),
    getSession: (userId, sessionId, now, o) =>
      guarded('getSession', o, (own) => primary.getSession(userId, sessionId, now, own)),
    listSessions: (userId, now, o) =>
      guarded('listSessions', o, (own) => primary.listSessions(userId, now, own)),
    revokeSession: (userId, sessionId, now, o) =>
      guarded('revokeSession', o, (own) => primary.revokeSession(userId, sessionId, now, own)),
    revokeUserSessions: (userId, keep, now, o) =>
      guarded('revokeUserSessions', o, (own) => primary.revokeUserSessions(userId, keep, now, own)),
    denyJti: (userId, jti, expiresAt, now, o) =>
      guarded('denyJti', o, (own) => primary.denyJti(userId, jti, expiresAt, now, own)),
    setUserCutoff: (userId, at, expiresAt, now, o) =>
      guarded('setUserCutoff', o, (own) => primary.setUserCutoff(userId, at, expiresAt, now, own)),
    revocationState: (query, o) =>
      guarded('revocationState', o, (own) => primary.revocationState(query, own)),
    consumeOnce: (userId, id, expiresAt, now, o) =>
      guarded('consumeOnce', o, (own) => primary.consumeOnce(userId, id, expiresAt, now, own)),
    purgeExpired: (now, o) => guarded('purgeExpired', o, (own) => primary.purgeExpired(now, own)),
    async close() {
      if (closed) return;
      closed = true;
      await primary.close();
    },
  };
}
