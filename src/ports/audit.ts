import type { CallOptions } from './call-options.ts';

/** One request as the audit log keeps it. */
export interface AuditRecord {
  /** Client-generated sortable id (UUIDv7); inserts ignore an id already present. */
  readonly id: string;
  /** When the request arrived, epoch ms. */
  readonly timestamp: number;
  /** Request id from the HTTP layer, when there is one. */
  readonly requestId?: string | undefined;
  /** Authenticated user, when known. */
  readonly userId?: string | undefined;
  /** Client IP as resolved by the trust-proxy setting. */
  readonly ip: string;
  /** Request path without the query string. */
  readonly endpoint: string;
  /** HTTP method. */
  readonly method: string;
  /** Response status code. */
  readonly statusCode: number;
  /** The request was refused by a rate limit. */
  readonly rateLimitHit: boolean;
  /** An anomaly detector fired on this request. */
  readonly anomalyDetected: boolean;
  /** Time from arrival to the response being finished, ms. */
  readonly latencyMs: number;
}

/** Receives batches of audit records. */
export interface AuditSink {
  /** Writes a batch; writing a record whose id is already stored is a no-op. */
  write(records: readonly AuditRecord[], options?: CallOptions): Promise<void>;
  /** Releases what the sink holds. */
  close(): Promise<void>;
}

/** Filters for reading the audit log; all are optional and combine with AND. */
export interface AuditQuery {
  /** Only this user. */
  readonly userId?: string | undefined;
  /** Only this client IP. */
  readonly ip?: string | undefined;
  /** Only endpoints starting with this prefix. */
  readonly endpointPrefix?: string | undefined;
  /** Only this HTTP method. */
  readonly method?: string | undefined;
  /** Lowest status code, inclusive. */
  readonly statusFrom?: number | undefined;
  /** Highest status code, inclusive. */
  readonly statusTo?: number | undefined;
  /** Earliest timestamp, inclusive, epoch ms. */
  readonly from?: number | undefined;
  /** Latest timestamp, exclusive, epoch ms. */
  readonly to?: number | undefined;
  /** Only requests refused by a rate limit. */
  readonly rateLimitHitsOnly?: boolean | undefined;
  /** Only requests flagged by an anomaly detector. */
  readonly anomaliesOnly?: boolean | undefined;
  /** Page size (capped by the reader). */
  readonly limit?: number | undefined;
  /** Opaque cursor from the previous page's `nextCursor`. */
  readonly cursor?: string | undefined;
  /** Also count every matching record (costs a scan). */
  readonly includeTotal?: boolean | undefined;
}

/** One page of audit records, newest first. */
export interface AuditPage {
  /** The records of this page. */
  readonly records: readonly AuditRecord[];
  /** Cursor for the next page; undefined on the last page. */
  readonly nextCursor?: string | undefined;
  /** Count of all matching records, only when `includeTotal` was asked. */
  readonly total?: number | undefined;
}

/** Reads and prunes the audit log. */
export interface AuditReader {
  /** Returns one page of matching records, newest first. */
  query(query: AuditQuery, options?: CallOptions): Promise<AuditPage>;
  /** Deletes records older than `timestamp` (epoch ms) in batches; returns how many went. */
  purgeOlderThan(timestamp: number, options?: CallOptions): Promise<number>;
}
