import { integerOption } from '../../domain/config/validate.ts';
import type { Alert, AlertSink } from '../../ports/alert-sink.ts';

/** An {@link AlertSink} that keeps the newest alerts in an array, for tests and local runs. */
export interface MemoryAlertSink extends AlertSink {
  /** Alerts received, oldest first; at most `maxAlerts`, the newest. */
  readonly alerts: readonly Alert[];
  /** Alerts let go to stay within `maxAlerts`. */
  readonly evicted: number;
  /** Forgets the alerts received so far. */
  clear(): void;
}

/** Options of {@link createMemoryAlertSink}. */
export interface MemoryAlertSinkOptions {
  /** Most alerts kept (the newest): 1 to 1,000,000; 1,000 by default. */
  readonly maxAlerts?: number | undefined;
}

/**
 * Creates a capturing alert sink. It is bounded: a process that runs for
 * weeks on memory stores raises alerts for weeks, and an array that only
 * grows would take the memory it was meant to protect.
 */
export function createMemoryAlertSink(options: MemoryAlertSinkOptions = {}): MemoryAlertSink {
  const maxAlerts = integerOption('maxAlerts', options.maxAlerts ?? 1000, 1, 1_000_000);
  const alerts: Alert[] = [];
  let evicted = 0;
  return {
    alerts,
    get evicted() {
      return evicted;
    },
    async send(alert) {
      if (alerts.length >= maxAlerts) {
        // The oldest eighth at once, so a full sink does not shift the array on every alert.
        const drop = Math.max(1, Math.ceil(maxAlerts / 8));
        alerts.splice(0, drop);
        evicted += drop;
      }
      alerts.push(alert);
    },
    clear() {
      alerts.length = 0;
    },
    async close() {},
  };
}
