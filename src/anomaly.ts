import { systemClock } from './adapters/clock/system.ts';
import { createMemoryWindowStore } from './adapters/memory/window-store.ts';
import {
  type AlertDispatcher,
  type AlertDispatcherOptions,
  alertDispatcherFromParts,
} from './domain/alerts/dispatcher.ts';
import {
  type AnomalyMonitor,
  type AnomalyMonitorOptions,
  anomalyMonitorFromParts,
} from './domain/anomaly/monitor.ts';
import { InvalidOptionError } from './domain/config/errors.ts';
import type { AlertSink } from './ports/alert-sink.ts';
import type { Clock } from './ports/clock.ts';
import type { WindowStore } from './ports/window-store.ts';

/** Options of {@link createAlertDispatcher}: store and clock are optional here. */
export interface CreateAlertDispatcherOptions
  extends Omit<AlertDispatcherOptions, 'store' | 'clock'> {
  /** Dedup store; a memory store (dedup within this process only) by default. Give it the shared Redis store in a cluster. */
  readonly store?: WindowStore | undefined;
  /** Time source; the system clock by default. */
  readonly clock?: Clock | undefined;
}

/**
 * Creates an alert dispatcher: cluster-wide dedup through the store, a
 * bounded queue, exact counts and events. `close()` drains it and closes the
 * sink (and the default memory store).
 */
export function createAlertDispatcher(options: CreateAlertDispatcherOptions): AlertDispatcher {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object with at least `sink`');
  }
  const clock = options.clock ?? systemClock;
  const ownsStore = options.store === undefined;
  const store = options.store ?? createMemoryWindowStore({ clock });
  const dispatcher = alertDispatcherFromParts({ ...options, store, clock });
  if (!ownsStore) return dispatcher;
  const close = dispatcher.close.bind(dispatcher);
  return Object.assign(Object.create(dispatcher) as AlertDispatcher, {
    close: async () => {
      await close();
      await store.close();
    },
  });
}

/** Options of {@link createAnomalyMonitor}: store and clock are optional here. */
export interface CreateAnomalyMonitorOptions
  extends Omit<AnomalyMonitorOptions, 'store' | 'clock' | 'alerts'> {
  /** The rate limiter's store (bans and auth-failure counts live there too); a memory store by default. */
  readonly store?: WindowStore | undefined;
  /** Time source; the system clock by default. */
  readonly clock?: Clock | undefined;
  /** An alert dispatcher, or a sink to build one on `store` with default settings. */
  readonly alerts?: AlertDispatcher | AlertSink | undefined;
}

/**
 * Creates the anomaly monitor: the burst and authentication-failure
 * detectors, optional escalating bans, allow and deny lists. Add
 * `monitor.policies` to the per-IP rate limiter and call `monitor.check`
 * (or `monitor.inspect` after your own check) on each request.
 */
export function createAnomalyMonitor(options: CreateAnomalyMonitorOptions = {}): AnomalyMonitor {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object');
  }
  const clock = options.clock ?? systemClock;
  const store = options.store ?? createMemoryWindowStore({ clock });
  const given = options.alerts;
  const alerts =
    given === undefined || 'raise' in given
      ? given
      : alertDispatcherFromParts({ sink: given, store, clock });
  return anomalyMonitorFromParts({ ...options, store, clock, alerts });
}
