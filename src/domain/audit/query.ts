import { InvalidOptionError } from '../../domain/config/errors.ts';
import { integerOption } from '../../domain/config/validate.ts';
import type { AuditQuery } from '../../ports/audit.ts';
import { type AuditCursor, decodeCursor } from './cursor.ts';

/** Records per page when the query does not say. */
export const defaultPageSize = 100;
/** Most records per page; larger `limit`s are cut to this. */
export const maxPageSize = 1000;

/** A WHERE clause with `?` placeholders and its values. */
export interface SqlFilter {
  readonly where: string;
  readonly params: unknown[];
}

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

/**
 * The WHERE clause of a query. Flags are written as the literal
 * `rate_limit_hit = true` so that both engines see the predicate of the
 * partial index; the keyset condition is a row-value comparison, which both
 * engines turn into an index range bound.
 */
export function buildFilter(
  query: AuditQuery,
  cursor: AuditCursor | undefined,
  engine: 'sqlite' | 'postgresql',
): SqlFilter {
  const terms: string[] = [];
  const params: unknown[] = [];
  if (query.ip !== undefined) {
    terms.push('ip = ?');
    params.push(query.ip);
  }
  if (query.userId !== undefined) {
    terms.push('user_id = ?');
    params.push(query.userId);
  }
  if (query.endpointPrefix !== undefined && query.endpointPrefix !== '') {
    terms.push("endpoint like ? escape '\\'");
    params.push(`${query.endpointPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (query.method !== undefined) {
    terms.push('method = ?');
    params.push(query.method.toUpperCase());
  }
  if (query.statusFrom !== undefined) {
    terms.push('status_code >= ?');
    params.push(query.statusFrom);
  }
  if (query.statusTo !== undefined) {
    terms.push('status_code <= ?');
    params.push(query.statusTo);
  }
  if (query.from !== undefined) {
    terms.push('"timestamp" >= ?');
    params.push(query.from);
  }
  if (query.to !== undefined) {
    terms.push('"timestamp" < ?');
    params.push(query.to);
  }
  if (query.rateLimitHitsOnly) terms.push('rate_limit_hit = true');
  if (query.anomaliesOnly) terms.push('anomaly_detected = true');
  if (cursor !== undefined) {
    terms.push(
      engine === 'postgresql' ? '("timestamp", id) < (?, ?::uuid)' : '("timestamp", id) < (?, ?)',
    );
    params.push(cursor.timestamp, cursor.id);
  }
  return { where: terms.length === 0 ? '' : `where ${terms.join(' and ')}`, params };
}
