import type { StepResult } from './step.ts';
import type { Policy } from './types.ts';

/**
 * Two-counter sliding-window state: counts of the aligned window starting at
 * `start` and of the one before it.
 */
export interface SlidingWindowState {
  /** Current window start, epoch ms, a multiple of the window length. */
  readonly start: number;
  /** Units charged in the current window. */
  readonly current: number;
  /** Units charged in the previous window. */
  readonly previous: number;
}

/** The state as seen at `now`: rolled into the aligned window when time has moved on. */
function roll(state: SlidingWindowState | undefined, now: number, windowMs: number) {
  const aligned = now - (now % windowMs);
  if (state === undefined) return { start: aligned, current: 0, previous: 0 };
  if (state.start >= aligned) return state;
  if (state.start === aligned - windowMs) {
    return { start: aligned, current: 0, previous: state.current };
  }
  return { start: aligned, current: 0, previous: 0 };
}

/**
 * One sliding-window step. The estimate weights the previous window by the
 * part of it still inside the sliding window; all arithmetic is scaled by the
 * window length so it stays in integers:
 * `previous · (window − elapsed) + current · window ≤ limit · window`.
 */
export function slidingWindowStep(
  state: SlidingWindowState | undefined,
  now: number,
  policy: Policy,
  cost: number,
): StepResult<SlidingWindowState> {
  const { limit, windowMs } = policy;
  const { start, current, previous } = roll(state, now, windowMs);
  const elapsed = Math.max(0, now - start);
  const carried = previous * (windowMs - elapsed);
  const capacity = limit * windowMs;
  const allowed = cost <= limit && carried + (current + cost) * windowMs <= capacity;
  const after = allowed ? current + cost : current;
  let retryAfterMs = 0;
  if (!allowed) {
    retryAfterMs =
      cost > limit ? -1 : retryAt(start, current, previous, limit, windowMs, cost) - now;
  }
  const charged = allowed && cost > 0 ? { start, current: after, previous } : state;
  const emptyAt = after > 0 ? start + 2 * windowMs : previous > 0 ? start + windowMs : now;
  return {
    allowed,
    state: charged,
    remaining: Math.max(0, Math.floor((capacity - carried - after * windowMs) / windowMs)),
    resetMs: Math.max(0, emptyAt - now),
    retryAfterMs,
    expiresAt: emptyAt,
  };
}

/** Earliest time at which `cost` fits, given no further charges. */
function retryAt(
  start: number,
  current: number,
  previous: number,
  limit: number,
  windowMs: number,
  cost: number,
): number {
  if (previous > 0 && current + cost <= limit) {
    const elapsed = windowMs - Math.floor(((limit - current - cost) * windowMs) / previous);
    if (elapsed < windowMs) return start + elapsed;
  }
  if (current === 0) return start + windowMs;
  const elapsed = Math.max(0, windowMs - Math.floor(((limit - cost) * windowMs) / current));
  return start + windowMs + elapsed;
}

/** Gives `cost` units back in the current window. */
export function slidingWindowRefund(
  state: SlidingWindowState | undefined,
  now: number,
  policy: Policy,
  cost: number,
): SlidingWindowState | undefined {
  if (state === undefined) return undefined;
  const rolled = roll(state, now, policy.windowMs);
  const current = Math.max(0, rolled.current - cost);
  if (current === 0 && rolled.previous === 0) return undefined;
  return { start: rolled.start, current, previous: rolled.previous };
}
