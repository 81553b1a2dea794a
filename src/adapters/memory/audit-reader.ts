import { encodeCursor } from '../../domain/audit/cursor.ts';
import { afterCursor, checkQuery, matchesQuery, newestFirst } from '../../domain/audit/query.ts';
import { integerOption } from '../../domain/config/validate.ts';
import type { AuditReader, AuditRecord } from '../../ports/audit.ts';
import type { MemoryAuditSink } from './audit-sink.ts';

/**
 * An {@link AuditReader} over the records of a memory audit sink, with the
 * same filters, newest-first order, keyset cursors and page cap as the SQL
 * reader (a scan per query: for tests and small local runs).
 */
export function createMemoryAuditReader(sink: MemoryAuditSink): AuditReader {
  return {
    async query(query, options) {
      if (options?.signal?.aborted) throw options.signal.reason;
      const { query: q, limit, cursor } = checkQuery(query);
      const matching = sink.records.filter((r) => matchesQuery(r, q));
      const page = (
        cursor === undefined ? matching : matching.filter((r) => afterCursor(r, cursor))
      )
        .sort(newestFirst)
        .slice(0, limit + 1);
      const more = page.length > limit;
      const records: AuditRecord[] = more ? page.slice(0, limit) : page;
      const last = records.at(-1);
      return {
        records,
        nextCursor: more && last ? encodeCursor(last) : undefined,
        ...(q.includeTotal ? { total: matching.length } : {}),
      };
    },
    async purgeOlderThan(timestamp, options) {
      integerOption('timestamp', timestamp, 0, Number.MAX_SAFE_INTEGER);
      if (options?.signal?.aborted) throw options.signal.reason;
      return sink.removeWhere((record) => record.timestamp < timestamp);
    },
  };
}
