import type { CancelTimer, Clock } from '../../ports/clock.ts';

/** A clock that moves only when told to; timers fire, in order, as it passes them. */
export interface ManualClock extends Clock {
  /** Moves time forward by `ms` (≥ 0), firing every timer that falls due, in due order. */
  advance(ms: number): void;
  /** Sets the time; going back is allowed (to test clocks that step backwards) and fires nothing. */
  set(time: number): void;
  /** Number of timers scheduled and not yet fired or cancelled. */
  readonly pendingTimers: number;
}

interface Timer {
  readonly due: number;
  readonly order: number;
  readonly callback: () => void;
}

/** Creates a manual clock starting at `start` epoch ms (default 1,700,000,000,000). */
export function createManualClock(start = 1_700_000_000_000): ManualClock {
  let time = start;
  let order = 0;
  const timers = new Set<Timer>();

  const fireDue = (until: number) => {
    for (;;) {
      let next: Timer | undefined;
      for (const timer of timers) {
        if (timer.due > until) continue;
        if (
          next === undefined ||
          timer.due < next.due ||
          (timer.due === next.due && timer.order < next.order)
        ) {
          next = timer;
        }
      }
      if (next === undefined) return;
      timers.delete(next);
      time = Math.max(time, next.due);
      next.callback();
    }
  };

  return {
    now: () => time,
    schedule(delayMs: number, callback: () => void): CancelTimer {
      const timer: Timer = { due: time + Math.max(0, delayMs), order: order++, callback };
      timers.add(timer);
      return () => {
        timers.delete(timer);
      };
    },
    advance(ms: number) {
      if (!(ms >= 0)) throw new RangeError('advance(ms) takes a non-negative number');
      const target = time + ms;
      fireDue(target);
      time = target;
    },
    set(value: number) {
      time = value;
    },
    get pendingTimers() {
      return timers.size;
    },
  };
}
