import { capacityOf } from './policy.ts';
import type { Decision, Policy, PolicyResult } from './types.ts';

/** The per-policy numbers a store produces for one check (from a step function or a script). */
export interface PolicyOutcome {
  /** The policy alone would admit the cost. */
  readonly allowed: boolean;
  /** Units left after the check (after charging, when the check charged). */
  readonly remaining: number;
  /** Ms until the policy's state is empty. */
  readonly resetMs: number;
  /** Ms until the cost would be admitted; 0 when allowed; -1 when never. */
  readonly retryAfterMs: number;
}

const none: readonly PolicyResult[] = Object.freeze([]);

/**
 * Combines per-policy outcomes (in policy order) into one decision. The
 * request is allowed when every enforce-mode policy admits; the deciding
 * policy is the denying one with the longest wait, or else the enforce policy
 * with the fewest units left.
 */
export function decide(
  policies: readonly Policy[],
  outcomes: readonly PolicyOutcome[],
  degraded = false,
): Decision {
  const results: PolicyResult[] = [];
  let observed: PolicyResult[] | undefined;
  let deciding: PolicyResult | undefined;
  let allowed = true;
  for (let i = 0; i < policies.length; i++) {
    const policy = policies[i]!;
    const outcome = outcomes[i]!;
    const result: PolicyResult = {
      policy: policy.name,
      mode: policy.mode,
      allowed: outcome.allowed,
      limit: capacityOf(policy),
      remaining: outcome.remaining,
      resetMs: outcome.resetMs,
      retryAfterMs: outcome.retryAfterMs,
      windowMs: policy.windowMs,
    };
    if (policy.mode === 'observe') {
      if (observed === undefined) observed = [result];
      else observed.push(result);
      continue;
    }
    results.push(result);
    if (!result.allowed) {
      if (allowed || waitsLonger(result, deciding!)) deciding = result;
      allowed = false;
    } else if (allowed && (deciding === undefined || result.remaining < deciding.remaining)) {
      deciding = result;
    }
  }
  deciding ??= observed![0]!;
  return {
    allowed,
    reason: allowed ? 'ok' : deciding.retryAfterMs < 0 ? 'cost_exceeds_limit' : 'limit',
    policy: deciding.policy,
    limit: deciding.limit,
    remaining: deciding.remaining,
    resetMs: deciding.resetMs,
    retryAfterMs: allowed ? 0 : deciding.retryAfterMs,
    degraded,
    results,
    observed: observed ?? none,
  };
}

function waitsLonger(candidate: PolicyResult, current: PolicyResult): boolean {
  if (current.retryAfterMs < 0) return false;
  return candidate.retryAfterMs < 0 || candidate.retryAfterMs > current.retryAfterMs;
}
