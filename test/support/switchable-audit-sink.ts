import {
  createMemoryAuditSink,
  type MemoryAuditSink,
} from '../../src/adapters/memory/audit-sink.ts';
import { AuditRecordsRejectedError } from '../../src/domain/audit/errors.ts';
import { StoreUnavailableError } from '../../src/domain/failure/errors.ts';
import type { AuditRecord, AuditSink } from '../../src/ports/audit.ts';

/** `ok`: store in memory; `fail`: reject at once; `hang`: settle only when aborted or released. */
export type SinkMode = 'ok' | 'fail' | 'hang';

/** A real AuditSink (a memory sink inside) that fails or hangs on command. */
export interface SwitchableAuditSink extends AuditSink {
  /** How the next writes behave. */
  mode: SinkMode;
  /** Ids the sink refuses with AuditRecordsRejectedError (as a database refuses bad data). */
  readonly poison: Set<string>;
  /** Write calls received, whatever the mode. */
  readonly writes: number;
  /** Sizes of the batches received, in order. */
  readonly batchSizes: readonly number[];
  /** The memory sink that stores in `ok` mode. */
  readonly inner: MemoryAuditSink;
  /** Hanging writes not settled yet. */
  readonly hanging: number;
  /** Lets every hanging write go through to the memory sink (late success). */
  releaseHung(): void;
}

/** Creates a switchable audit sink starting in `mode`. */
export function createSwitchableAuditSink(mode: SinkMode = 'ok'): SwitchableAuditSink {
  const inner = createMemoryAuditSink();
  const poison = new Set<string>();
  const batchSizes: number[] = [];
  const hung = new Set<() => void>();
  let writes = 0;
  const sink: SwitchableAuditSink = {
    mode,
    poison,
    inner,
    batchSizes,
    get writes() {
      return writes;
    },
    get hanging() {
      return hung.size;
    },
    releaseHung() {
      for (const release of [...hung]) release();
    },
    async write(records: readonly AuditRecord[], options) {
      writes++;
      batchSizes.push(records.length);
      if (sink.mode === 'fail') throw new StoreUnavailableError('switchable sink: write failed');
      if (sink.mode === 'hang') {
        const signal = options?.signal;
        await new Promise<void>((resolve, reject) => {
          const release = () => {
            hung.delete(release);
            signal?.removeEventListener('abort', onAbort);
            resolve();
          };
          const onAbort = () => {
            hung.delete(release);
            reject(signal!.reason);
          };
          signal?.addEventListener('abort', onAbort, { once: true });
          hung.add(release);
        });
      }
      if (records.some((r) => poison.has(r.id))) {
        throw new AuditRecordsRejectedError('switchable sink: poisoned record');
      }
      await inner.write(records);
    },
    close: () => inner.close(),
  };
  return sink;
}
