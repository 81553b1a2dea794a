import type { CallOptions } from './call-options.ts';

/** How urgent an alert is. */
export type AlertSeverity = 'info' | 'warning' | 'critical';

/** An anomaly worth telling someone about; the field names of the JSON payload follow the seed. */
export interface Alert {
  /** Unique id; every delivery attempt of this alert carries it. */
  readonly id: string;
  /** Detector that raised it, such as `burst` or `auth_failures`. */
  readonly type: string;
  /** The subject the detector counted (an IP, a user id). */
  readonly subject: string;
  /** Client IP, when known. */
  readonly ip?: string | undefined;
  /** When it was raised, epoch ms. */
  readonly timestamp: number;
  /** Requests counted in the detector's window. */
  readonly requestCountInWindow: number;
  /** The detector's window, seconds. */
  readonly windowSeconds: number;
  /** Request path that tipped it. */
  readonly endpoint?: string | undefined;
  /** Request method that tipped it. */
  readonly method?: string | undefined;
  /** Client user agent, when known. */
  readonly userAgent?: string | undefined;
  /** How urgent it is. */
  readonly severity: AlertSeverity;
}

/** Delivers alerts somewhere (a webhook, a log, a test's array). */
export interface AlertSink {
  /**
   * Takes one alert: resolves once it is delivered or safely in the sink's
   * own delivery queue (the webhook sink queues per receiver and reports
   * each delivery through its own counts and events); rejects when the sink
   * refused it (closed, queues full) or delivery finally failed. The alert
   * dispatcher counts a resolution as sent and a rejection as failed.
   */
  send(alert: Alert, options?: CallOptions): Promise<void>;
  /** Waits for deliveries under way and releases what the sink holds. */
  close(): Promise<void>;
}
