import type { CancelTimer, Clock } from '../../ports/clock.ts';

/** The wall clock: `Date.now()` and unref'd timers that never keep the process alive. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  schedule(delayMs: number, callback: () => void): CancelTimer {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    (timer as { unref?: () => void }).unref?.();
    return () => clearTimeout(timer);
  },
});
