import { integerOption } from '../../domain/config/validate.ts';
import type { AuditRecord, AuditSink } from '../../ports/audit.ts';

/** An {@link AuditSink} that keeps the newest records in an array (ignoring ids it holds), for tests and local runs. */
export interface MemoryAuditSink extends AuditSink {
  /** Records held, in write order, each id once. */
  readonly records: readonly AuditRecord[];
  /** Records dropped so far to stay within `maxRecords`, oldest first. */
  readonly evicted: number;
  /** Forgets the records written so far. */
  clear(): void;
  /** Removes the records `predicate` selects (their ids may then be written again); returns how many. */
  removeWhere(predicate: (record: AuditRecord) => boolean): number;
}

/** Options of {@link createMemoryAuditSink}. */
export interface MemoryAuditSinkOptions {
  /**
   * Most records held: 1 to 10,000,000; 10,000 by default. Past it the
   * oldest eighth is dropped at once (counted in `evicted`), so memory stays
   * bounded however long the process runs.
   */
  readonly maxRecords?: number | undefined;
}

/** Creates a capturing audit sink with the same at-most-once-per-id rule as the SQL sink. */
export function createMemoryAuditSink(options: MemoryAuditSinkOptions = {}): MemoryAuditSink {
  const maxRecords = integerOption('maxRecords', options.maxRecords ?? 10_000, 1, 10_000_000);
  // Dropping a block at a time keeps the cost of eviction per record constant.
  const block = Math.max(1, maxRecords >> 3);
  let records: AuditRecord[] = [];
  const ids = new Set<string>();
  let evicted = 0;
  return {
    get records() {
      return records;
    },
    get evicted() {
      return evicted;
    },
    async write(batch) {
      for (const record of batch) {
        // One probe of the set: a size that did not grow means the id was held.
        const size = ids.size;
        ids.add(record.id);
        if (ids.size !== size) records.push(record);
      }
      if (records.length > maxRecords) {
        const drop = records.length - maxRecords + block - 1;
        for (let i = 0; i < drop; i++) ids.delete(records[i]!.id);
        records = records.slice(drop);
        evicted += drop;
      }
    },
    clear() {
      records = [];
      ids.clear();
    },
    removeWhere(predicate) {
      let kept = 0;
      for (const record of records) {
        if (predicate(record)) ids.delete(record.id);
        else records[kept++] = record;
      }
      const removed = records.length - kept;
      records.length = kept;
      return removed;
    },
    async close() {},
  };
}
