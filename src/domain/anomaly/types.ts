import type { Alert, AlertSeverity } from '../../ports/alert-sink.ts';

/** The detectors LockWatch ships; each is an alert `type`. */
export type AnomalyType = 'burst' | 'auth_failures_ip' | 'auth_failures_user';

/** Every anomaly type, in documentation order. */
export const anomalyTypes: readonly AnomalyType[] = [
  'burst',
  'auth_failures_ip',
  'auth_failures_user',
];

/** What is known about the request an anomaly is seen on; every field is optional. */
export interface RequestContext {
  /** The rate-limit subject the request was counted under, such as `ip:203.0.113.7`. */
  readonly subject?: string | undefined;
  /** Client IP (text as the key builder or socket gives it). */
  readonly ip?: string | undefined;
  /** Request path. */
  readonly endpoint?: string | undefined;
  /** Request method. */
  readonly method?: string | undefined;
  /** User-Agent header. */
  readonly userAgent?: string | undefined;
}

/** A detector's finding on one request. */
export interface Anomaly {
  /** Which detector. */
  readonly type: AnomalyType;
  /** The subject counted, such as `ip:203.0.113.7` or `user:42`. */
  readonly subject: string;
  /** Events counted in the window, this one included (at least the threshold plus one). */
  readonly count: number;
  /** The detector's window, ms. */
  readonly windowMs: number;
  /** The detector's severity. */
  readonly severity: AlertSeverity;
  /** The alert raised for it, when the monitor has a dispatcher. */
  readonly alert?: Alert | undefined;
}
