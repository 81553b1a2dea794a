import type { StepResult } from './step.ts';
import type { Policy } from './types.ts';

/**
 * Sliding-log state: every admitted charge still inside the window, as a flat
 * list `[time, cost, time, cost, …]` in non-decreasing time order.
 */
export interface SlidingLogState {
  /** Flat `[time, cost]` pairs, oldest first. */
  readonly entries: readonly number[];
}

/**
 * One sliding-log step: exact — a charge at time t counts while
 * `now − window < t`. A clock that goes back records the new charge at the
 * latest time already logged, so order (and the count) never loosens.
 */
export function slidingLogStep(
  state: SlidingLogState | undefined,
  now: number,
  policy: Policy,
  cost: number,
): StepResult<SlidingLogState> {
  const { limit, windowMs } = policy;
  const entries = state?.entries ?? [];
  let first = 0;
  while (first < entries.length && entries[first]! <= now - windowMs) first += 2;
  let used = 0;
  for (let i = first + 1; i < entries.length; i += 2) used += entries[i]!;
  const allowed = cost <= limit && used + cost <= limit;
  let live = first === 0 ? entries : entries.slice(first);
  if (allowed && cost > 0) {
    const last = live.length > 0 ? live[live.length - 2]! : now;
    live = [...live, Math.max(now, last), cost];
  }
  const after = allowed ? used + cost : used;
  const newest = live.length > 0 ? live[live.length - 2]! : now;
  const emptyAt = live.length > 0 ? newest + windowMs : now;
  let retryAfterMs = 0;
  if (!allowed) {
    retryAfterMs = cost > limit ? -1 : retryAt(live, used, limit, cost, windowMs) - now;
  }
  return {
    allowed,
    state: allowed && cost > 0 ? { entries: live } : state,
    remaining: limit - after,
    resetMs: Math.max(0, emptyAt - now),
    retryAfterMs,
    expiresAt: emptyAt,
  };
}

/** Earliest time at which enough of the oldest charges have left the window for `cost` to fit. */
function retryAt(
  live: readonly number[],
  used: number,
  limit: number,
  cost: number,
  windowMs: number,
): number {
  let left = used;
  for (let i = 0; i < live.length; i += 2) {
    left -= live[i + 1]!;
    if (left + cost <= limit) return live[i]! + windowMs;
  }
  return live[live.length - 2]! + windowMs;
}

/** Gives `cost` units back, taking them from the newest charges. */
export function slidingLogRefund(
  state: SlidingLogState | undefined,
  now: number,
  policy: Policy,
  cost: number,
): SlidingLogState | undefined {
  if (state === undefined) return undefined;
  const entries: number[] = [];
  for (let i = 0; i < state.entries.length; i += 2) {
    if (state.entries[i]! > now - policy.windowMs)
      entries.push(state.entries[i]!, state.entries[i + 1]!);
  }
  let owed = cost;
  while (owed > 0 && entries.length > 0) {
    const last = entries[entries.length - 1]!;
    if (last <= owed) {
      owed -= last;
      entries.length -= 2;
    } else {
      entries[entries.length - 1] = last - owed;
      owed = 0;
    }
  }
  return entries.length === 0 ? undefined : { entries };
}
