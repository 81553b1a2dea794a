import { StoreTimeoutError } from '../../domain/failure/errors.ts';
import type { Clock } from '../../ports/clock.ts';

/** How a guarded call ended. */
export type GuardedOutcome<T> =
  /** The call resolved in time. */
  | { readonly kind: 'ok'; readonly value: T }
  /** The caller's signal aborted first: says nothing about the store. */
  | { readonly kind: 'aborted'; readonly reason: unknown }
  /** The call rejected, threw, or timed out (`StoreTimeoutError`). */
  | { readonly kind: 'error'; readonly error: unknown };

/**
 * Runs `call` with a signal that aborts when `signal` (the caller's) aborts
 * or when `timeoutMs` of `clock` time pass, whichever comes first. Never
 * rejects: the outcome says how it ended. A call that settles after the
 * outcome was decided is caught and ignored, so it cannot become an
 * unhandled rejection.
 */
export function callWithTimeout<T>(
  clock: Clock,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<GuardedOutcome<T>> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve({ kind: 'aborted', reason: signal.reason });
      return;
    }
    const controller = new AbortController();
    let done = false;
    let cancelTimer = () => {};
    const finish = (outcome: GuardedOutcome<T>) => {
      if (done) return false;
      done = true;
      cancelTimer();
      signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
      return true;
    };
    // Settle first, abort second: whatever the store does on abort must not race the outcome.
    const onAbort = () => {
      if (finish({ kind: 'aborted', reason: signal!.reason })) controller.abort(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    cancelTimer = clock.schedule(timeoutMs, () => {
      const error = new StoreTimeoutError(timeoutMs);
      if (finish({ kind: 'error', error })) controller.abort(error);
    });
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(call(controller.signal));
    } catch (error) {
      finish({ kind: 'error', error });
      return;
    }
    pending.then(
      (value) => finish({ kind: 'ok', value }),
      (error: unknown) => finish({ kind: 'error', error }),
    );
  });
}
