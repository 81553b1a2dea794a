/** Cancels a timer scheduled on a {@link Clock}; calling it twice is harmless. */
export type CancelTimer = () => void;

/**
 * Where LockWatch reads time and schedules timers. Times are integer
 * milliseconds since the Unix epoch. Tests inject a manual clock and move it
 * forward; nothing in LockWatch sleeps on the wall clock directly.
 */
export interface Clock {
  /** Current time in integer epoch milliseconds. */
  now(): number;
  /** Runs `callback` once after `delayMs` of this clock's time; returns a canceller. */
  schedule(delayMs: number, callback: () => void): CancelTimer;
}
