import type { Alert, AlertSink } from '../../ports/alert-sink.ts';

/** An {@link AlertSink} that keeps every alert in an array, for tests and local runs. */
export interface MemoryAlertSink extends AlertSink {
  /** Alerts received, oldest first. */
  readonly alerts: readonly Alert[];
  /** Forgets the alerts received so far. */
  clear(): void;
}

/** Creates a capturing alert sink. */
export function createMemoryAlertSink(): MemoryAlertSink {
  const alerts: Alert[] = [];
  return {
    alerts,
    async send(alert) {
      alerts.push(alert);
    },
    clear() {
      alerts.length = 0;
    },
    async close() {},
  };
}
