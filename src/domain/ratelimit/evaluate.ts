import { step, type WindowState } from './algorithm.ts';
import { decide, type PolicyOutcome } from './decide.ts';
import type { StepResult } from './step.ts';
import type { Decision, Policy } from './types.ts';

/** A decision with what a store must write to carry it out. */
export interface Evaluation {
  /** The decision. */
  readonly decision: Decision;
  /**
   * One step result per policy, in policy order. Where `charged[i]` is true,
   * `steps[i].state` must be stored with expiry `steps[i].expiresAt`; other
   * entries describe the state as it stands and must not be written.
   */
  readonly steps: readonly StepResult<WindowState>[];
  /** Whether each policy was charged. */
  readonly charged: readonly boolean[];
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
  const count = policies.length;
  if (count === 1) return evaluateOne(states[0], now, policies, cost, charge);
  const steps: StepResult<WindowState>[] = new Array(count);
  const charged: boolean[] = new Array(count);
  let enforceAdmits = true;
  for (let i = 0; i < count; i++) {
    const result = step(states[i], now, policies[i]!, cost);
    steps[i] = result;
    if (!result.allowed && policies[i]!.mode === 'enforce') enforceAdmits = false;
  }
  for (let i = 0; i < count; i++) {
    const result = steps[i]!;
    const isCharged =
      charge && result.allowed && (enforceAdmits || policies[i]!.mode === 'observe');
    charged[i] = isCharged;
    if (result.allowed && !isCharged && cost > 0) {
      // Admitted by itself but not charged: report the state as it stands.
      const standing = step(states[i], now, policies[i]!, 0);
      steps[i] = { ...standing, allowed: true, retryAfterMs: 0 };
    }
  }
  return { decision: decide(policies, steps as readonly PolicyOutcome[]), steps, charged };
}

/** The one-policy case without the bookkeeping of several: same rules, fewer allocations. */
function evaluateOne(
  state: WindowState | undefined,
  now: number,
  policies: readonly Policy[],
  cost: number,
  charge: boolean,
): Evaluation {
  const policy = policies[0]!;
  let result = step(state, now, policy, cost);
  const charged = charge && result.allowed;
  if (result.allowed && !charged && cost > 0) {
    result = { ...step(state, now, policy, 0), allowed: true, retryAfterMs: 0 };
  }
  return { decision: decide(policies, [result]), steps: [result], charged: [charged] };
}
