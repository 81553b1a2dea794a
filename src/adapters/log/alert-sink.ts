import { alertPayload } from '../../domain/alerts/alert.ts';
import type { AlertSeverity, AlertSink } from '../../ports/alert-sink.ts';

/** Where the logging sink writes: `console` or any logger with these methods (pino, winston). */
export interface AlertLogger {
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

/** Options of {@link createLoggingAlertSink}. */
export interface LoggingAlertSinkOptions {
  /** The logger; `console` by default. */
  readonly logger?: AlertLogger | undefined;
  /** Message prefix; `LockWatch alert` by default. */
  readonly prefix?: string | undefined;
}

const levelOf: Record<AlertSeverity, keyof AlertLogger> = {
  info: 'info',
  warning: 'warn',
  critical: 'error',
};

/**
 * An {@link AlertSink} that logs each alert on one line at the level of its
 * severity (info, warn, error), with the webhook payload as JSON. Useful on
 * its own during roll-out and beside a webhook.
 */
export function createLoggingAlertSink(options: LoggingAlertSinkOptions = {}): AlertSink {
  const logger = options.logger ?? console;
  const prefix = options.prefix ?? 'LockWatch alert';
  return {
    async send(alert) {
      logger[levelOf[alert.severity]](
        `${prefix} ${alert.type} ${alert.subject} ${JSON.stringify(alertPayload(alert))}`,
      );
    },
    async close() {},
  };
}
