import type { BreakerState } from './circuit-breaker.ts';
import type { FailureMode } from './policy.ts';

/** Why a call was answered without the primary store. */
export type DegradedCause =
  /** The breaker is open (or half-open with its probe under way): the primary was not called. */
  | 'circuit_open'
  /** The primary was called and failed or timed out. */
  | 'failure';

/** What a failure-policy store reports, in the order things happen. */
export type FailureEvent =
  /** The circuit breaker changed state. */
  | {
      readonly type: 'state';
      readonly from: BreakerState;
      readonly to: BreakerState;
      /** Clock time, epoch ms. */
      readonly at: number;
      /** The primary's shard whose breaker changed (`''` for a store with one failure domain). */
      readonly shard?: string | undefined;
    }
  /** A primary call failed or timed out (`StoreTimeoutError`); it counts against the breaker. */
  | {
      readonly type: 'failure';
      /** The port method, such as `check`. */
      readonly operation: string;
      readonly error: unknown;
      readonly at: number;
    }
  /** A call was answered by the failure policy instead of the primary (for refund and reset in `open` and `closed`: dropped). */
  | {
      readonly type: 'degraded';
      readonly operation: string;
      readonly policy: FailureMode;
      readonly cause: DegradedCause;
      readonly at: number;
    };
