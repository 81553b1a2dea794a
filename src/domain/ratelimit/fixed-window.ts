import type { StepResult } from './step.ts';
import type { Policy } from './types.ts';

/** Fixed-window state: the count charged in the window that starts at `start`. */
export interface FixedWindowState {
  /** Window start, epoch ms, a multiple of the window length. */
  readonly start: number;
  /** Units charged in this window. */
  readonly count: number;
}

/**
 * One fixed-window step: windows are aligned to multiples of the window
 * length since the epoch. A clock that goes back stays in the stored window,
 * so it never opens a fresh one early.
 */
export function fixedWindowStep(
  state: FixedWindowState | undefined,
  now: number,
  policy: Policy,
  cost: number,
): StepResult<FixedWindowState> {
  const { limit, windowMs } = policy;
  const aligned = now - (now % windowMs);
  const current = state !== undefined && state.start >= aligned ? state : undefined;
  const start = current?.start ?? aligned;
  const count = current?.count ?? 0;
  const windowEnd = start + windowMs;
  const allowed = cost <= limit && count + cost <= limit;
  const after = allowed ? count + cost : count;
  const retryAfterMs = allowed ? 0 : cost > limit ? -1 : windowEnd - now;
  const charged = allowed && cost > 0 ? { start, count: after } : state;
  return {
    allowed,
    state: charged,
    remaining: limit - after,
    resetMs: after === 0 ? 0 : windowEnd - now,
    retryAfterMs,
    expiresAt: after === 0 ? now : windowEnd,
  };
}

/** Gives `cost` units back in the current window. */
export function fixedWindowRefund(
  state: FixedWindowState | undefined,
  now: number,
  policy: Policy,
  cost: number,
): FixedWindowState | undefined {
  const aligned = now - (now % policy.windowMs);
  if (state === undefined || state.start < aligned) return undefined;
  const count = state.count - cost;
  return count > 0 ? { start: state.start, count } : undefined;
}
