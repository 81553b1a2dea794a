import { step, type WindowState } from './algorithm.ts';
import { decide, type PolicyOutcome } from './decide.ts';
import { capacityOf } from './policy.ts';
import type { Decision, Policy } from './types.ts';

/** The new state of one policy after a check, or `unchanged` when nothing was charged. */
export interface StateChange {
  /** False when the policy was not charged: its stored state stays as it is. */
  readonly changed: boolean;
  /** The new state (undefined: the policy has no state left). */
  readonly state: WindowState | undefined;
  /** When the new state expires, epoch ms. */
  readonly expiresAt: number;
  /** Share of the policy's capacity in use after the check, 0..1 (stores use it to pick what to evict). */
  readonly pressure: number;
}

/** A decision with the state changes a store must write to carry it out. */
export interface Evaluation {
  /** The decision. */
  readonly decision: Decision;
  /** One entry per policy, in policy order. */
  readonly changes: readonly StateChange[];
}

/**
 * Evaluates all policies of one subject at `now`: enforce-mode policies are
 * charged only when every one of them admits; an observe-mode policy is
 * charged whenever it alone would admit, so it counts attempts, including
 * those the enforce policies refuse, up to its limit. With `charge` false
 * nothing changes (peek).
 */
export function evaluate(
  states: readonly (WindowState | undefined)[],
  now: number,
  policies: readonly Policy[],
  cost: number,
  charge = true,
): Evaluation {
  const steps = policies.map((policy, i) => step(states[i], now, policy, cost));
  let enforceAdmits = true;
  for (let i = 0; i < policies.length; i++) {
    if (policies[i]!.mode === 'enforce' && !steps[i]!.allowed) enforceAdmits = false;
  }
  const outcomes: PolicyOutcome[] = [];
  const changes: StateChange[] = [];
  for (let i = 0; i < policies.length; i++) {
    const result = steps[i]!;
    const charged = charge && result.allowed && (policies[i]!.mode === 'observe' || enforceAdmits);
    if (charged || !result.allowed) {
      outcomes.push(result);
    } else {
      // Admitted by itself but not charged: report the state as it stands.
      const standing = step(states[i], now, policies[i]!, 0);
      outcomes.push({
        allowed: true,
        remaining: standing.remaining,
        resetMs: standing.resetMs,
        retryAfterMs: 0,
      });
    }
    const capacity = capacityOf(policies[i]!);
    changes.push({
      changed: charged,
      state: result.state,
      expiresAt: result.expiresAt,
      pressure: (capacity - result.remaining) / capacity,
    });
  }
  return { decision: decide(policies, outcomes), changes };
}
