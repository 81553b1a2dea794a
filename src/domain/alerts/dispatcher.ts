import type { Alert, AlertSink } from '../../ports/alert-sink.ts';
import type { Clock } from '../../ports/clock.ts';
import type { WindowStore } from '../../ports/window-store.ts';
import { type Duration, durationOption } from '../config/duration.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { integerOption } from '../config/validate.ts';
import { createListenerSet, type Listener } from '../failure/listeners.ts';
import { definePolicy } from '../ratelimit/policy.ts';
import type { Policy } from '../ratelimit/types.ts';

/** Options of the alert dispatcher; `createAlertDispatcher` fills in store and clock. */
export interface AlertDispatcherOptions {
  /** Where alerts go. */
  readonly sink: AlertSink;
  /**
   * Where the dedup state lives. Give every app server the same shared store
   * (Redis) so that one alert per subject and type and period goes out in the
   * whole cluster, not one per server.
   */
  readonly store: WindowStore;
  /** Time source of the local dedup cache. */
  readonly clock: Clock;
  /** Alerts of one type for one subject within this period after one was sent are suppressed; 60 s by default (1 s to 1 day). */
  readonly dedupPeriod?: Duration | undefined;
  /** Alerts waiting for dedup and the sink, at most: 1 to 1,000,000; 1,000 by default. Past it, alerts are dropped and counted. */
  readonly queueSize?: number | undefined;
  /** Alerts being deduplicated and handed to the sink at once: 1 to 256; 4 by default. */
  readonly concurrency?: number | undefined;
  /** Subjects this process remembers as recently alerted, to skip the store round trip: 0 to 1,000,000; 10,000 by default. */
  readonly localCacheSize?: number | undefined;
  /** Name of the dedup policy in the store; `lw-alert-dedup` by default. */
  readonly dedupPolicyName?: string | undefined;
  /** Receives every {@link AlertEvent}; same as calling `on` right away. */
  readonly onEvent?: Listener<AlertEvent> | undefined;
}

/** Why an alert was dropped. */
export type AlertDropReason =
  /** The queue was full (a flood, or a sink slower than the alert rate). */
  | 'queue_full'
  /** Raised after `close()`. */
  | 'closed';

/** What happened to one raised alert; exactly one final event per alert. */
export type AlertEvent =
  /** Handed to the sink, which accepted it. */
  | { readonly type: 'sent'; readonly alert: Alert }
  /** A duplicate: this process (`local`) or the shared store (`store`) knew of a recent alert. */
  | { readonly type: 'suppressed'; readonly alert: Alert; readonly by: 'local' | 'store' }
  /** The sink rejected it. */
  | { readonly type: 'failed'; readonly alert: Alert; readonly error: unknown }
  /** Not queued. */
  | { readonly type: 'dropped'; readonly alert: Alert; readonly reason: AlertDropReason }
  /** Not final: the dedup store failed or a failure policy answered for it, so the alert goes out (a duplicate is better than a loss). */
  | { readonly type: 'dedup_error'; readonly alert: Alert; readonly error: unknown };

/** Running totals; `raised = sent + suppressed + failed + dropped + pending` at every moment. */
export interface AlertCounts {
  /** Alerts given to `raise`. */
  readonly raised: number;
  /** Accepted by the sink. */
  readonly sent: number;
  /** Duplicates within the dedup period. */
  readonly suppressed: number;
  /** Rejected by the sink. */
  readonly failed: number;
  /** Not queued (queue full, or closed). */
  readonly dropped: number;
  /** Queued or being processed now. */
  readonly pending: number;
  /** Times the dedup store failed (those alerts were sent without cluster-wide dedup). */
  readonly dedupErrors: number;
}

/** What `raise` did with the alert right away. */
export type RaiseOutcome = 'queued' | 'suppressed' | 'dropped';

/** Deduplicates alerts across app servers and hands them to a sink, off the request path. */
export interface AlertDispatcher {
  /** Takes an alert without waiting: queues it, or counts it as suppressed or dropped. Never throws. */
  raise(alert: Alert): RaiseOutcome;
  /** A snapshot of the counts. */
  readonly counts: AlertCounts;
  /** The 1-per-period dedup policy (gcra, limit 1). */
  readonly dedupPolicy: Policy;
  /** Adds an event listener; returns a function that removes it. */
  on(listener: Listener<AlertEvent>): () => void;
  /** Refuses new alerts, waits until every queued one is sent, suppressed or failed, then closes the sink. */
  close(): Promise<void>;
}

// Marks a key whose alert is queued or in flight: later duplicates are suppressed locally.
const pending = -1;

/**
 * Creates an alert dispatcher. `raise` is synchronous and O(1): duplicates
 * this process already knows of are suppressed from a bounded local cache,
 * others enter a bounded queue (or are dropped and counted when it is full).
 * Workers take alerts from the queue, ask the store's 1-per-period policy for
 * `alert:<type>:<subject>` (one round trip, shared by every app server), and
 * hand admitted alerts to the sink. The cache only ever saves round trips:
 * the store decides, so evicting from the cache never causes a duplicate.
 */
export function alertDispatcherFromParts(options: AlertDispatcherOptions): AlertDispatcher {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object with sink, store and clock');
  }
  const { sink, store, clock } = options;
  if (typeof sink?.send !== 'function') {
    throw new InvalidOptionError('sink', sink, 'an AlertSink');
  }
  if (typeof store?.check !== 'function') {
    throw new InvalidOptionError('store', store, 'a WindowStore');
  }
  const periodMs = durationOption('dedupPeriod', options.dedupPeriod ?? 60_000, 1000, 86_400_000);
  const queueSize = integerOption('queueSize', options.queueSize ?? 1000, 1, 1_000_000);
  const concurrency = integerOption('concurrency', options.concurrency ?? 4, 1, 256);
  const cacheSize = integerOption('localCacheSize', options.localCacheSize ?? 10_000, 0, 1_000_000);
  const dedupPolicy = definePolicy(
    { name: options.dedupPolicyName ?? 'lw-alert-dedup', limit: 1, window: periodMs },
    'dedupPolicyName',
  );
  const policies = [dedupPolicy];
  const events = createListenerSet<AlertEvent>();
  if (options.onEvent !== undefined) events.add(options.onEvent);

  // The queue is an array with a moving head, compacted when half of it is spent.
  let queue: Alert[] = [];
  let head = 0;
  let active = 0;
  let closing: Promise<void> | undefined;
  let drained: (() => void) | undefined;
  const local = new Map<string, number>();
  let raised = 0;
  let sent = 0;
  let suppressed = 0;
  let failed = 0;
  let dropped = 0;
  let dedupErrors = 0;

  const keyOf = (alert: Alert) => `${alert.type}\u0000${alert.subject}`;

  const remember = (key: string, until: number) => {
    if (cacheSize === 0) return;
    local.delete(key);
    local.set(key, until);
    if (local.size > cacheSize) local.delete(local.keys().next().value as string);
  };

  const suppress = (alert: Alert, by: 'local' | 'store') => {
    suppressed++;
    if (events.size > 0) events.emit({ type: 'suppressed', alert, by });
  };

  const drop = (alert: Alert, reason: AlertDropReason): RaiseOutcome => {
    dropped++;
    if (events.size > 0) events.emit({ type: 'dropped', alert, reason });
    return 'dropped';
  };

  const handle = async (alert: Alert) => {
    const key = keyOf(alert);
    let admitted = true;
    let waitMs = periodMs;
    try {
      const decision = await store.check(`alert:${alert.type}:${alert.subject}`, policies, 1);
      // A failure policy answered instead of the store (`open` admits, `closed` denies with
      // store_unavailable, `fallback` asks a local store): none of that is cluster-wide dedup.
      if (decision.degraded || decision.reason === 'store_unavailable') {
        throw new Error('dedup store unavailable: a failure policy answered');
      }
      admitted = decision.allowed;
      if (!admitted) waitMs = Math.max(0, decision.retryAfterMs);
    } catch (error) {
      dedupErrors++;
      events.emit({ type: 'dedup_error', alert, error });
    }
    remember(key, clock.now() + waitMs);
    if (!admitted) {
      suppress(alert, 'store');
      return;
    }
    try {
      await sink.send(alert);
      sent++;
      if (events.size > 0) events.emit({ type: 'sent', alert });
    } catch (error) {
      failed++;
      events.emit({ type: 'failed', alert, error });
      // Nothing went out: give the period's slot back, or the next alert of this attack would be
      // suppressed for a whole period behind one that was never delivered.
      local.delete(key);
      try {
        await store.reset(`alert:${alert.type}:${alert.subject}`, policies);
      } catch (resetError) {
        dedupErrors++;
        events.emit({ type: 'dedup_error', alert, error: resetError });
      }
    }
  };

  const work = async () => {
    active++;
    try {
      while (head < queue.length) {
        const alert = queue[head]!;
        queue[head++] = undefined as unknown as Alert;
        if (head > 1024 && head * 2 > queue.length) {
          queue = queue.slice(head);
          head = 0;
        }
        await handle(alert);
      }
    } finally {
      active--;
      if (active === 0 && head >= queue.length) drained?.();
    }
  };

  const waiting = () => queue.length - head;

  return {
    dedupPolicy,
    raise(alert) {
      raised++;
      if (closing !== undefined) return drop(alert, 'closed');
      const key = keyOf(alert);
      const until = local.get(key);
      if (until !== undefined) {
        if (until === pending || until > clock.now()) {
          suppress(alert, 'local');
          return 'suppressed';
        }
        local.delete(key);
      }
      if (waiting() >= queueSize) return drop(alert, 'queue_full');
      remember(key, pending);
      queue.push(alert);
      if (active < concurrency) void work();
      return 'queued';
    },
    get counts() {
      return {
        raised,
        sent,
        suppressed,
        failed,
        dropped,
        pending: raised - sent - suppressed - failed - dropped,
        dedupErrors,
      };
    },
    on: (listener) => events.add(listener),
    close() {
      if (closing === undefined) {
        closing = (async () => {
          if (active > 0 || head < queue.length) {
            await new Promise<void>((resolve) => {
              drained = resolve;
            });
          }
          await sink.close();
        })();
      }
      return closing;
    },
  };
}
