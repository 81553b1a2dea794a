import { LockWatchError } from '../errors.ts';

/**
 * A sink refuses the records themselves (a constraint or data error), so
 * retrying the same batch can never succeed. The logger splits such a batch
 * to find the offending records and drops only those, with reason `rejected`.
 */
export class AuditRecordsRejectedError extends LockWatchError {
  constructor(message: string, options?: ErrorOptions) {
    super('audit_records_rejected', message, options);
  }
}

/** An audit sink write took longer than the logger's `writeTimeoutMs`. */
export class AuditWriteTimeoutError extends LockWatchError {
  /** The timeout that elapsed, ms. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super('audit_write_timeout', `Audit sink write timed out after ${timeoutMs} ms.`);
    this.timeoutMs = timeoutMs;
  }
}
