/** Why the audit logger gave up on records. */
export type AuditDropReason =
  /** The queue was full (the sink is down or slower than the load): the new record was not kept. */
  | 'queue_full'
  /** `log()` was called after `close()`. */
  | 'closed'
  /** `close()` ran out of time before these queued records could be written. */
  | 'shutdown'
  /** `close()` ran out of time while these were being written: they may or may not be stored. */
  | 'unconfirmed'
  /** The sink refused the records themselves (`AuditRecordsRejectedError`). */
  | 'rejected';

/** Every drop reason, in documentation order. */
export const auditDropReasons: readonly AuditDropReason[] = [
  'queue_full',
  'closed',
  'shutdown',
  'unconfirmed',
  'rejected',
];

/** Counts kept by an audit logger. At any time `offered = written + dropped total + queued + inFlight`. */
export interface AuditStats {
  /** Records passed to `log()`. */
  readonly offered: number;
  /** Records the sink confirmed. */
  readonly written: number;
  /** Records given up on, by reason. */
  readonly dropped: Readonly<Record<AuditDropReason, number>>;
  /** Sum of `dropped`. */
  readonly droppedTotal: number;
  /** Records waiting in the queue. */
  readonly queued: number;
  /** Records in the batch being written (or waiting to be retried). */
  readonly inFlight: number;
  /** Sink writes that failed (each retry counts). */
  readonly failedWrites: number;
  /** The sink is failing now: the current batch is waiting for a retry. */
  readonly failing: boolean;
}

/** What an audit logger reports, as it happens. */
export type AuditEvent =
  /** A batch was stored. */
  | { readonly type: 'written'; readonly count: number; readonly at: number }
  /**
   * Records were dropped. A streak of `queue_full` drops is reported once
   * when it starts and then summed into one event per write attempt, so a
   * flood of drops does not turn into a flood of events.
   */
  | {
      readonly type: 'dropped';
      readonly reason: AuditDropReason;
      readonly count: number;
      readonly at: number;
    }
  /** A sink write failed; the batch is retried after `retryInMs`. */
  | {
      readonly type: 'write_failed';
      readonly error: unknown;
      /** Consecutive failures of this batch. */
      readonly attempt: number;
      readonly retryInMs: number;
      readonly at: number;
    }
  /** The sink answered again after failing. */
  | { readonly type: 'recovered'; readonly failedAttempts: number; readonly at: number };
