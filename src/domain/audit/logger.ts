import type { AuditRecord, AuditSink } from '../../ports/audit.ts';
import type { CancelTimer, Clock } from '../../ports/clock.ts';
import { durationOption } from '../config/duration.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { integerOption } from '../config/validate.ts';
import { createListenerSet, type Listener } from '../failure/listeners.ts';
import { type BackoffSettings, backoffDelay } from './backoff.ts';
import { AuditRecordsRejectedError, AuditWriteTimeoutError } from './errors.ts';
import {
  type AuditDropReason,
  type AuditEvent,
  type AuditStats,
  auditDropReasons,
} from './events.ts';
import { type AuditEntry, generatedId, type MarkedAuditEntry, toAuditRecord } from './record.ts';
import { createUuidV7Generator, isUuidV7, type RandomFill } from './uuid.ts';

/** Options of an audit logger; durations are integer ms or strings such as `'1s'`. */
export interface AuditLoggerOptions {
  /** Where batches go. The logger never closes it: its owner does, after `close()`. */
  readonly sink: AuditSink;
  /** Time source for timestamps, the flush interval, retries and timeouts. */
  readonly clock: Clock;
  /** Most records held (queued plus being written): 1 to 10,000,000; 10,000 by default. */
  readonly maxQueue?: number | undefined;
  /** Records per sink write: 1 to 10,000; 500 by default. A full batch is written at once. */
  readonly batchSize?: number | undefined;
  /** Longest a record waits for a batch to fill: 1 ms to 1 min; 1 s by default. */
  readonly flushInterval?: number | string | undefined;
  /** Retry delays after a failed write (exponential, jittered). */
  readonly retry?:
    | {
        /** First delay: 1 ms to 1 min; 100 ms by default. */
        readonly initial?: number | string | undefined;
        /** Longest delay: 1 ms to 10 min; 30 s by default. */
        readonly max?: number | string | undefined;
      }
    | undefined;
  /** A write that has not answered by then counts as failed and is retried: 1 ms to 10 min; 10 s by default. */
  readonly writeTimeout?: number | string | undefined;
  /** How long `close()` keeps writing before it drops what is left: 0 to 10 min; 10 s by default. */
  readonly closeTimeout?: number | string | undefined;
  /** Random numbers in [0, 1) for retry jitter; `Math.random` by default. */
  readonly random?: (() => number) | undefined;
  /** Random bytes for record ids; `crypto.getRandomValues` by default. */
  readonly randomFill?: RandomFill | undefined;
}

/**
 * Buffers audit records and writes them to a sink in batches, off the
 * request path. Every record offered is eventually counted as written or as
 * dropped with a reason; {@link AuditLogger.stats} and the events say which.
 */
export interface AuditLogger {
  /**
   * Queues a record and returns its id at once, without waiting for any I/O;
   * returns null when the record is dropped (queue full, logger closed).
   * Never throws.
   */
  log(entry: AuditEntry): string | null;
  /** Writes everything queued so far; resolves once those records are written or dropped. */
  flush(): Promise<void>;
  /**
   * Stops accepting records and writes what is held, within `closeTimeout`;
   * what is still held then is dropped (`shutdown` if never sent,
   * `unconfirmed` if its write had not answered). Resolves with the final counts.
   */
  close(): Promise<AuditStats>;
  /** Counts so far. */
  readonly stats: AuditStats;
  /** Adds an event listener; returns a function that removes it. Listeners that throw are ignored. */
  on(listener: Listener<AuditEvent>): () => void;
}

interface FlushWaiter {
  readonly target: number;
  readonly resolve: () => void;
}

/**
 * Creates an audit logger on an explicit clock (the `createAuditLogger` of
 * the package root defaults it to the system clock). Options are validated
 * here and a bad one throws an error naming it.
 */
export function createAuditLoggerCore(options: AuditLoggerOptions): AuditLogger {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object with at least `sink` and `clock`');
  }
  const { sink, clock } = options;
  if (typeof sink !== 'object' || sink === null || typeof sink.write !== 'function') {
    throw new InvalidOptionError('sink', sink, 'an AuditSink (an object with write and close)');
  }
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function') {
    throw new InvalidOptionError('clock', clock, 'a Clock');
  }
  const maxQueue = integerOption('maxQueue', options.maxQueue ?? 10_000, 1, 10_000_000);
  const batchSize = integerOption('batchSize', options.batchSize ?? 500, 1, 10_000);
  const flushIntervalMs = durationOption('flushInterval', options.flushInterval ?? 1000, 1, 60_000);
  const backoff: BackoffSettings = {
    initialMs: durationOption('retry.initial', options.retry?.initial ?? 100, 1, 60_000),
    maxMs: durationOption('retry.max', options.retry?.max ?? 30_000, 1, 600_000),
  };
  const writeTimeoutMs = durationOption('writeTimeout', options.writeTimeout ?? 10_000, 1, 600_000);
  const closeTimeoutMs = durationOption('closeTimeout', options.closeTimeout ?? 10_000, 0, 600_000);
  // Once closing, a failed batch is retried after at most this long.
  const closingRetryMs = 100;
  const random = options.random ?? Math.random;
  const nextId = createUuidV7Generator(options.randomFill);
  const listeners = createListenerSet<AuditEvent>();

  // The queue is an array read from `head`; the consumed prefix is cut off now and then.
  let queue: AuditRecord[] = [];
  let head = 0;
  let inFlight: AuditRecord[] | null = null;
  let writing = false;
  let attempt = 0;
  let timer: CancelTimer | null = null;
  let kickQueued = false;
  let closed = false;
  let abandoned = false;
  let controller: AbortController | null = null;

  let offered = 0;
  let written = 0;
  let failedWrites = 0;
  const dropped: Record<AuditDropReason, number> = {
    queue_full: 0,
    closed: 0,
    shutdown: 0,
    unconfirmed: 0,
    rejected: 0,
  };
  // Records that entered the queue, and records of the queue that were settled (written or dropped), in order.
  let enqueued = 0;
  let settled = 0;
  let unreportedFull = 0;
  let fullStreak = false;
  let waiters: FlushWaiter[] = [];
  let flushTarget = 0;

  const queued = () => queue.length - head;
  const held = () => queued() + (inFlight?.length ?? 0);

  const emit = (event: AuditEvent) => {
    if (listeners.size > 0) listeners.emit(event);
  };

  const drop = (reason: AuditDropReason, count: number) => {
    if (count === 0) return;
    dropped[reason] += count;
    emit({ type: 'dropped', reason, count, at: clock.now() });
  };

  const reportFullDrops = () => {
    if (unreportedFull > 0) {
      const count = unreportedFull;
      unreportedFull = 0;
      emit({ type: 'dropped', reason: 'queue_full', count, at: clock.now() });
    }
  };

  const settle = (count: number) => {
    settled += count;
    if (waiters.length === 0) return;
    const due = waiters.filter((w) => w.target <= settled);
    if (due.length === 0) return;
    waiters = waiters.filter((w) => w.target > settled);
    for (const w of due) w.resolve();
  };

  const cancelTimer = () => {
    timer?.();
    timer = null;
  };

  const takeBatch = (): AuditRecord[] => {
    const end = Math.min(queue.length, head + batchSize);
    const batch = queue.slice(head, end);
    head = end;
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head >= 4096 && head * 2 >= queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    return batch;
  };

  /** Starts the next write when one is due: a full batch, a flush or close waiting, or the interval over. */
  const pump = (intervalDue: boolean) => {
    if (writing || abandoned) return;
    if (inFlight === null) {
      if (queued() === 0) return;
      const urgent = closed || flushTarget > settled || queued() >= batchSize;
      if (!urgent && !intervalDue) {
        if (timer === null) {
          timer = clock.schedule(flushIntervalMs, () => {
            timer = null;
            pump(true);
          });
        }
        return;
      }
      cancelTimer();
      inFlight = takeBatch();
    }
    void write(inFlight);
  };

  const kick = () => {
    if (kickQueued) return;
    kickQueued = true;
    queueMicrotask(() => {
      kickQueued = false;
      pump(false);
    });
  };

  const write = async (batch: AuditRecord[]) => {
    writing = true;
    reportFullDrops();
    const own = new AbortController();
    controller = own;
    let cancelTimeout: CancelTimer = () => {};
    const timedOut = new Promise<never>((_, reject) => {
      cancelTimeout = clock.schedule(writeTimeoutMs, () => {
        const error = new AuditWriteTimeoutError(writeTimeoutMs);
        own.abort(error);
        reject(error);
      });
    });
    let failure: unknown;
    let ok = false;
    try {
      await Promise.race([sink.write(batch, { signal: own.signal }), timedOut]);
      ok = true;
    } catch (error) {
      failure = error;
    } finally {
      cancelTimeout();
      timedOut.catch(() => {});
    }
    if (abandoned || inFlight !== batch) return;
    writing = false;
    controller = null;
    if (ok) {
      inFlight = null;
      written += batch.length;
      emit({ type: 'written', count: batch.length, at: clock.now() });
      if (attempt > 0) emit({ type: 'recovered', failedAttempts: attempt, at: clock.now() });
      attempt = 0;
      settle(batch.length);
      pump(false);
      return;
    }
    failedWrites++;
    if (failure instanceof AuditRecordsRejectedError) {
      if (batch.length === 1) {
        inFlight = null;
        drop('rejected', 1);
        settle(1);
      } else {
        // Halve the batch until the records the sink refuses are isolated; the rest still goes in.
        const half = Math.ceil(batch.length / 2);
        inFlight = batch.slice(0, half);
        queue = [...batch.slice(half), ...queue.slice(head)];
        head = 0;
      }
      pump(false);
      return;
    }
    attempt++;
    // Closing: retry soon (the close deadline bounds it), not after a backoff that outlives it.
    const delay = Math.min(
      backoffDelay(attempt, backoff, random()),
      closed ? closingRetryMs : Infinity,
    );
    emit({ type: 'write_failed', error: failure, attempt, retryInMs: delay, at: clock.now() });
    writing = true; // Nothing else may start while the batch waits for its retry.
    timer = clock.schedule(delay, () => {
      timer = null;
      writing = false;
      pump(false);
    });
  };

  const stats = (): AuditStats => {
    let droppedTotal = 0;
    for (const reason of auditDropReasons) droppedTotal += dropped[reason];
    return {
      offered,
      written,
      dropped: { ...dropped },
      droppedTotal,
      queued: queued(),
      inFlight: inFlight?.length ?? 0,
      failedWrites,
      failing: attempt > 0,
    };
  };

  const flush = (): Promise<void> => {
    const target = enqueued;
    if (settled >= target) return Promise.resolve();
    if (target > flushTarget) flushTarget = target;
    return new Promise<void>((resolve) => {
      waiters.push({ target, resolve });
      kick();
    });
  };

  return {
    log(entry) {
      offered++;
      if (closed) {
        drop('closed', 1);
        return null;
      }
      if (held() >= maxQueue) {
        dropped.queue_full++;
        if (fullStreak) unreportedFull++;
        else {
          fullStreak = true;
          emit({ type: 'dropped', reason: 'queue_full', count: 1, at: clock.now() });
        }
        return null;
      }
      fullStreak = false;
      if (typeof entry !== 'object' || entry === null) {
        drop('rejected', 1);
        return null;
      }
      let record: AuditRecord;
      try {
        // The clock is read only when the entry brings no usable time of its own.
        const time = entry.timestamp;
        const now =
          typeof time === 'number' && time >= 0 && Number.isSafeInteger(Math.trunc(time))
            ? Math.trunc(time)
            : clock.now();
        const given = entry.id;
        const id =
          (entry as MarkedAuditEntry)[generatedId] === true && typeof given === 'string'
            ? given
            : isUuidV7(given)
              ? given
              : nextId(now);
        record = toAuditRecord(entry, id, now);
      } catch {
        // An entry whose getters throw: counted, never thrown at the request.
        drop('rejected', 1);
        return null;
      }
      queue.push(record);
      enqueued++;
      if (!writing && (queued() >= batchSize || timer === null)) kick();
      return record.id;
    },
    flush,
    async close() {
      if (!closed) {
        closed = true;
        if (writing && controller === null && timer !== null) {
          // A batch waits for its retry: try it now, so a sink that is back gets it before the deadline.
          cancelTimer();
          writing = false;
        }
        kick();
        const drained = flush();
        let cancelDeadline: CancelTimer = () => {};
        const deadline = new Promise<void>((resolve) => {
          cancelDeadline = clock.schedule(closeTimeoutMs, resolve);
        });
        await Promise.race([drained, deadline]);
        cancelDeadline();
        if (held() > 0) {
          abandoned = true;
          cancelTimer();
          controller?.abort(new AuditWriteTimeoutError(closeTimeoutMs));
          const never = queued();
          const unsure = inFlight?.length ?? 0;
          queue = [];
          head = 0;
          inFlight = null;
          drop('shutdown', never);
          // A batch waiting for its retry was never confirmed either way.
          drop('unconfirmed', unsure);
          settle(never + unsure);
        }
        reportFullDrops();
      }
      return stats();
    },
    get stats() {
      return stats();
    },
    on: (listener) => listeners.add(listener),
  };
}
