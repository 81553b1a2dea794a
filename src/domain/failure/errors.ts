import { LockWatchError } from '../errors.ts';

/** A store could not answer: connection refused, reset, or a server error. */
export class StoreUnavailableError extends LockWatchError {
  constructor(message: string, options?: ErrorOptions, code = 'store_unavailable') {
    super(code, message, options);
  }
}

/** A store call took longer than its failure policy's timeout. */
export class StoreTimeoutError extends StoreUnavailableError {
  /** The timeout that elapsed, ms. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`Store call timed out after ${timeoutMs} ms.`, undefined, 'store_timeout');
    this.timeoutMs = timeoutMs;
  }
}

/** The circuit breaker is open: the store failed recently and is not called until the breaker's period ends. */
export class CircuitOpenError extends StoreUnavailableError {
  /** When the breaker lets a probe call through again, epoch ms. */
  readonly retryAt: number;

  constructor(retryAt: number, options?: ErrorOptions) {
    super('Store circuit breaker is open.', options, 'circuit_open');
    this.retryAt = retryAt;
  }
}
