import type { AuditRecord, AuditSink } from '../../ports/audit.ts';

/** An {@link AuditSink} that keeps records in an array (ignoring ids it has seen), for tests and local runs. */
export interface MemoryAuditSink extends AuditSink {
  /** Records written, in write order, each id once. */
  readonly records: readonly AuditRecord[];
  /** Forgets the records written so far. */
  clear(): void;
  /** Removes the records `predicate` selects (their ids may then be written again); returns how many. */
  removeWhere(predicate: (record: AuditRecord) => boolean): number;
}

/** Creates a capturing audit sink with the same at-most-once-per-id rule as the SQL sink. */
export function createMemoryAuditSink(): MemoryAuditSink {
  const records: AuditRecord[] = [];
  const ids = new Set<string>();
  return {
    records,
    async write(batch) {
      for (const record of batch) {
        if (ids.has(record.id)) continue;
        ids.add(record.id);
        records.push(record);
      }
    },
    clear() {
      records.length = 0;
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
