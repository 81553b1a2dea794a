import { ceilDiv, type StepResult } from './step.ts';
import type { Policy } from './types.ts';

/**
 * GCRA state: the theoretical arrival time `tat + frac / limit` ms. Keeping
 * the fraction as an integer numerator makes every step exact integer
 * arithmetic although the emission interval `window / limit` rarely is.
 */
export interface GcraState {
  /** Whole milliseconds of the theoretical arrival time. */
  readonly tat: number;
  /** Fraction of a millisecond, in units of 1/limit ms; 0 ≤ frac < limit. */
  readonly frac: number;
}

/**
 * One GCRA step. The debt `d = (tat − now) · limit` (scaled ms) admits a
 * cost c when `d + c · window ≤ burst · window`: at most `burst` units at once
 * and `limit` per window sustained.
 */
export function gcraStep(
  state: GcraState | undefined,
  now: number,
  policy: Policy,
  cost: number,
): StepResult<GcraState> {
  const { limit, windowMs, burst } = policy;
  const debt = state === undefined || state.tat < now ? 0 : (state.tat - now) * limit + state.frac;
  const capacity = burst * windowMs;
  if (cost > burst) return gcraOutcome(state, now, policy, debt, false, -1);
  const next = debt + cost * windowMs;
  if (next <= capacity) {
    const charged =
      cost === 0 ? state : { tat: now + Math.floor(next / limit), frac: next % limit };
    return gcraOutcome(charged, now, policy, cost === 0 ? debt : next, true, 0);
  }
  return gcraOutcome(state, now, policy, debt, false, ceilDiv(next - capacity, limit));
}

function gcraOutcome(
  state: GcraState | undefined,
  now: number,
  policy: Policy,
  debt: number,
  allowed: boolean,
  retryAfterMs: number,
): StepResult<GcraState> {
  const remaining = Math.max(
    0,
    Math.floor((policy.burst * policy.windowMs - debt) / policy.windowMs),
  );
  const resetMs = ceilDiv(debt, policy.limit);
  return { allowed, state, remaining, resetMs, retryAfterMs, expiresAt: now + resetMs };
}

/** Gives `cost` units back: moves the arrival time earlier, never before now. */
export function gcraRefund(
  state: GcraState | undefined,
  now: number,
  policy: Policy,
  cost: number,
): GcraState | undefined {
  if (state === undefined || state.tat < now) return undefined;
  const debt = (state.tat - now) * policy.limit + state.frac - cost * policy.windowMs;
  if (debt <= 0) return undefined;
  return { tat: now + Math.floor(debt / policy.limit), frac: debt % policy.limit };
}
