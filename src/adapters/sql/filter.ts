import type { AuditCursor } from '../../domain/audit/cursor.ts';
import type { AuditQuery } from '../../ports/audit.ts';

/** A WHERE clause with `?` placeholders and its values. */
export interface SqlFilter {
  readonly where: string;
  readonly params: unknown[];
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
    const prefix = query.endpointPrefix;
    terms.push("endpoint like ? escape '\\'");
    params.push(`${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    if (engine === 'sqlite') {
      // SQLite's LIKE ignores ASCII case: /Admin would match /admin. The LIKE still narrows.
      terms.push('substr(endpoint, 1, length(?)) = ?');
      params.push(prefix, prefix);
    }
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
