import { whileKeepingAlive } from './adapters/clock/keep-alive.ts';
import { systemClock } from './adapters/clock/system.ts';
import {
  type AuditLogger,
  type AuditLoggerOptions,
  createAuditLoggerCore,
} from './domain/audit/logger.ts';
import { InvalidOptionError } from './domain/config/errors.ts';
import type { Clock } from './ports/clock.ts';

/** Options of {@link createAuditLogger}: those of the domain logger, with the clock optional. */
export interface CreateAuditLoggerOptions extends Omit<AuditLoggerOptions, 'clock'> {
  /** Time source; the system clock by default. */
  readonly clock?: Clock | undefined;
}

/**
 * Creates an audit logger that batches records to `sink` off the request
 * path (see docs/audit.md). Bad options throw an InvalidOptionError naming them.
 */
export function createAuditLogger(options: CreateAuditLoggerOptions): AuditLogger {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object with at least `sink`');
  }
  const logger = createAuditLoggerCore({ ...options, clock: options.clock ?? systemClock });
  // close() waits on the clock (a retry backoff, its deadline): hold the process until it ends.
  const close = logger.close;
  return Object.assign(logger, { close: () => whileKeepingAlive(close) });
}
