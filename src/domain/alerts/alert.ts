import type { Alert, AlertSeverity } from '../../ports/alert-sink.ts';
import { InvalidOptionError } from '../config/errors.ts';

/** What a detector knows when it raises an alert; {@link createAlert} adds the id. */
export interface AlertFields {
  /** Detector type, such as `burst`: 1 to 64 characters from `a-z 0-9 _ . -`. */
  readonly type: string;
  /** The subject the detector counted, such as `ip:203.0.113.7` or `user:42`. */
  readonly subject: string;
  /** Client IP, when known. */
  readonly ip?: string | undefined;
  /** When it happened, epoch ms. */
  readonly timestamp: number;
  /** Events counted in the detector's window (at least the threshold plus one). */
  readonly requestCountInWindow: number;
  /** The detector's window, ms (reported in seconds). */
  readonly windowMs: number;
  /** Request path that tipped it. */
  readonly endpoint?: string | undefined;
  /** Request method that tipped it. */
  readonly method?: string | undefined;
  /** Client user agent. */
  readonly userAgent?: string | undefined;
  /** How urgent it is. */
  readonly severity: AlertSeverity;
}

/** Every severity, least urgent first. */
export const alertSeverities: readonly AlertSeverity[] = ['info', 'warning', 'critical'];

// Client-supplied text goes into a JSON body and into logs: bound its length.
const maxTextLength = 512;

function clip(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.length > maxTextLength ? value.slice(0, maxTextLength) : value;
}

/**
 * Builds an immutable {@link Alert} with a fresh random id (a UUID, the same
 * on every delivery attempt so receivers can deduplicate). Client-supplied
 * text (endpoint, user agent) is cut to 512 characters.
 */
export function createAlert(fields: AlertFields): Alert {
  return Object.freeze({
    id: crypto.randomUUID(),
    type: fields.type,
    subject: fields.subject,
    ip: fields.ip,
    timestamp: fields.timestamp,
    requestCountInWindow: fields.requestCountInWindow,
    windowSeconds: Math.round(fields.windowMs / 1000),
    endpoint: clip(fields.endpoint),
    method: clip(fields.method),
    userAgent: clip(fields.userAgent),
    severity: fields.severity,
  });
}

/**
 * The JSON body of an alert as receivers see it: the seed's field names
 * (`ip`, `timestamp` as ISO 8601 UTC, `request_count_in_window`,
 * `window_seconds`, `endpoint`, `method`, `user_agent`, null when unknown)
 * plus `id`, `type`, `subject` and `severity`.
 */
export interface AlertPayload {
  readonly id: string;
  readonly type: string;
  readonly severity: AlertSeverity;
  readonly subject: string;
  readonly ip: string | null;
  readonly timestamp: string;
  readonly request_count_in_window: number;
  readonly window_seconds: number;
  readonly endpoint: string | null;
  readonly method: string | null;
  readonly user_agent: string | null;
}

/** The alert in its wire form; see {@link AlertPayload}. */
export function alertPayload(alert: Alert): AlertPayload {
  return {
    id: alert.id,
    type: alert.type,
    severity: alert.severity,
    subject: alert.subject,
    ip: alert.ip ?? null,
    timestamp: new Date(alert.timestamp).toISOString(),
    request_count_in_window: alert.requestCountInWindow,
    window_seconds: alert.windowSeconds,
    endpoint: alert.endpoint ?? null,
    method: alert.method ?? null,
    user_agent: alert.userAgent ?? null,
  };
}

/** Validates a severity option. */
export function severityOption(option: string, value: unknown): AlertSeverity {
  if (typeof value !== 'string' || !(alertSeverities as readonly string[]).includes(value)) {
    throw new InvalidOptionError(option, value, "one of 'info', 'warning', 'critical'");
  }
  return value as AlertSeverity;
}
