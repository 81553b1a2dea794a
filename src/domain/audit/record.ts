import type { AuditRecord } from '../../ports/audit.ts';

/** What a caller hands to `AuditLogger.log`: a record whose id is optional, with defaults for the rest. */
export interface AuditEntry {
  /**
   * The record's id when the caller already has a unique UUIDv7 for it (the
   * HTTP pipeline passes the request id it made); a new one by default. An
   * id that is not a lower-case UUIDv7 is replaced. Sinks keep one record
   * per id: a second entry with the same id is dropped when written.
   */
  readonly id?: string | undefined;
  /** When the request arrived, epoch ms; the logger's clock by default. */
  readonly timestamp?: number | undefined;
  /** Request id from the HTTP layer. */
  readonly requestId?: string | undefined;
  /** Authenticated user id. */
  readonly userId?: string | undefined;
  /** Client IP. */
  readonly ip: string;
  /** Request path without the query string. */
  readonly endpoint: string;
  /** HTTP method. */
  readonly method: string;
  /** Response status code. */
  readonly statusCode: number;
  /** The request was refused by a rate limit; false by default. */
  readonly rateLimitHit?: boolean | undefined;
  /** An anomaly detector fired; false by default. */
  readonly anomalyDetected?: boolean | undefined;
  /** Time from arrival to the response being finished, ms. */
  readonly latencyMs: number;
}

/**
 * Marks an entry whose `id` a LockWatch UUIDv7 generator made (the HTTP
 * pipeline's request ids): the logger takes it without checking its form
 * again. Internal: not exported from the package.
 */
export const generatedId: unique symbol = Symbol('lockwatch.audit.generated-id');

/** An {@link AuditEntry} that may carry the {@link generatedId} mark. */
export interface MarkedAuditEntry extends AuditEntry {
  readonly [generatedId]?: true | undefined;
}

/** Longest text kept per field, in UTF-16 units; longer values are cut, never rejected. */
export const auditFieldLimits = Object.freeze({
  requestId: 200,
  userId: 200,
  ip: 100,
  endpoint: 2000,
  method: 16,
});

/**
 * Text a database accepts: at most `max` units, with NUL (which PostgreSQL
 * refuses in text) replaced, so one odd request cannot fail a whole batch.
 */
function text(value: unknown, max: number): string {
  let s =
    typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  if (s.length > max) s = s.slice(0, max);
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\ufffd') : s;
}

function optionalText(value: unknown, max: number): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : text(value, max);
}

/** Methods already in their stored form: no new string per request for them. */
const commonMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function upperMethod(value: unknown): string {
  if (typeof value === 'string' && commonMethods.has(value)) return value;
  return text(value, auditFieldLimits.method).toUpperCase();
}

/**
 * Turns an entry into a record the sinks can store as is: texts capped,
 * status an integer from 0 to 999, latency a finite non-negative number,
 * flags booleans, timestamp a safe integer (else the logger's clock). Never throws: the request path must
 * not fail because of its audit record.
 */
export function toAuditRecord(entry: AuditEntry, id: string, now: number): AuditRecord {
  const timestamp = entry.timestamp;
  const status = entry.statusCode;
  const latency = entry.latencyMs;
  return {
    id,
    // A time past 2^53 ms (year 287,396) would be stored rounded and break the cursors made from it.
    timestamp:
      typeof timestamp === 'number' && timestamp >= 0 && Number.isSafeInteger(Math.trunc(timestamp))
        ? Math.trunc(timestamp)
        : now,
    // The pipeline's own request id is the record id: already a UUIDv7, nothing to cap.
    requestId:
      entry.requestId === id ? id : optionalText(entry.requestId, auditFieldLimits.requestId),
    userId: optionalText(entry.userId, auditFieldLimits.userId),
    ip: text(entry.ip, auditFieldLimits.ip),
    endpoint: text(entry.endpoint, auditFieldLimits.endpoint),
    method: upperMethod(entry.method),
    statusCode:
      typeof status === 'number' && Number.isInteger(status) && status >= 0 && status <= 999
        ? status
        : 0,
    rateLimitHit: entry.rateLimitHit === true,
    anomalyDetected: entry.anomalyDetected === true,
    latencyMs:
      typeof latency === 'number' && Number.isFinite(latency) && latency >= 0 ? latency : 0,
  };
}
