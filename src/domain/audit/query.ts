import type { AuditQuery, AuditRecord } from '../../ports/audit.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { integerOption } from '../config/validate.ts';
import { type AuditCursor, decodeCursor } from './cursor.ts';

/** Records per page when the query does not say. */
export const defaultPageSize = 100;
/** Most records per page; larger `limit`s are cut to this. */
export const maxPageSize = 1000;

/** A validated query. */
export interface CheckedQuery {
  readonly query: AuditQuery;
  readonly limit: number;
  readonly cursor: AuditCursor | undefined;
}

const optionalString = (option: string, value: unknown) => {
  if (value !== undefined && typeof value !== 'string') {
    throw new InvalidOptionError(option, value, 'a string');
  }
  // No record holds one (the logger replaces them, PostgreSQL refuses them in text), and a
  // driver that meets one in a filter fails as if the database were down.
  if (typeof value === 'string' && value.includes('\0')) {
    throw new InvalidOptionError(option, value, 'a string without NUL characters');
  }
};

const optionalInteger = (option: string, value: unknown, min: number, max: number) => {
  if (value !== undefined) integerOption(option, value, min, max);
};

/** Validates a query; a bad filter throws an InvalidOptionError naming it. */
export function checkQuery(query: AuditQuery | undefined): CheckedQuery {
  const q = query ?? {};
  if (typeof q !== 'object' || q === null) {
    throw new InvalidOptionError('query', q, 'an object of filters');
  }
  for (const key of ['userId', 'ip', 'endpointPrefix', 'method'] as const) {
    optionalString(key, q[key]);
  }
  optionalInteger('statusFrom', q.statusFrom, 0, 999);
  optionalInteger('statusTo', q.statusTo, 0, 999);
  optionalInteger('from', q.from, 0, Number.MAX_SAFE_INTEGER);
  optionalInteger('to', q.to, 0, Number.MAX_SAFE_INTEGER);
  const limit = Math.min(
    integerOption('limit', q.limit ?? defaultPageSize, 1, Number.MAX_SAFE_INTEGER),
    maxPageSize,
  );
  const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  return { query: q, limit, cursor };
}

/** Whether `record` passes the filters of `query` (the cursor aside): the reference every reader follows. */
export function matchesQuery(record: AuditRecord, query: AuditQuery): boolean {
  if (query.ip !== undefined && record.ip !== query.ip) return false;
  if (query.userId !== undefined && record.userId !== query.userId) return false;
  if (query.endpointPrefix !== undefined && !record.endpoint.startsWith(query.endpointPrefix)) {
    return false;
  }
  if (query.method !== undefined && record.method !== query.method.toUpperCase()) return false;
  if (query.statusFrom !== undefined && record.statusCode < query.statusFrom) return false;
  if (query.statusTo !== undefined && record.statusCode > query.statusTo) return false;
  if (query.from !== undefined && record.timestamp < query.from) return false;
  if (query.to !== undefined && record.timestamp >= query.to) return false;
  if (query.rateLimitHitsOnly && !record.rateLimitHit) return false;
  if (query.anomaliesOnly && !record.anomalyDetected) return false;
  return true;
}

/** Newest-first order: by timestamp, then id, both descending. */
export function newestFirst(a: AuditRecord, b: AuditRecord): number {
  if (a.timestamp !== b.timestamp) return b.timestamp - a.timestamp;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Whether `record` comes after `cursor` in newest-first order (is on a later page). */
export function afterCursor(record: AuditRecord, cursor: AuditCursor): boolean {
  return (
    record.timestamp < cursor.timestamp ||
    (record.timestamp === cursor.timestamp && record.id < cursor.id)
  );
}
