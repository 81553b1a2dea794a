import { evaluate } from '../ratelimit/evaluate.ts';
import { capacityOf } from '../ratelimit/policy.ts';
import type { Decision, Policy, PolicyResult } from '../ratelimit/types.ts';

/**
 * Shortest retry-after of a `closed` denial, ms. Clients told to retry at
 * once would hammer a store that is down; a second is also the resolution of
 * the HTTP `Retry-After` header.
 */
export const minRetryAfterMs = 1_000;

/** Retry-after of a `closed` denial: until the breaker lets a probe through (`retryAt`), at least {@link minRetryAfterMs}. */
export function closedRetryAfterMs(retryAt: number, now: number): number {
  return Math.max(minRetryAfterMs, retryAt - now);
}

/** What a fresh subject would get: the policies' own limits, nothing used yet. */
function fresh(policies: readonly Policy[], cost: number, now: number, charge: boolean): Decision {
  const { decision } = evaluate(
    policies.map(() => undefined),
    now,
    policies,
    cost,
    charge,
  );
  return { ...decision, degraded: true };
}

/**
 * The `open` answer when the store cannot be asked: allowed and degraded, with
 * limit and remaining as a fresh subject would see them. A cost no policy
 * could ever admit is still denied (`cost_exceeds_limit`): that needs no store.
 */
export function openDecision(
  policies: readonly Policy[],
  cost: number,
  now: number,
  charge = true,
): Decision {
  return fresh(policies, cost, now, charge);
}

/**
 * The `closed` answer when the store cannot be asked: denied with reason
 * `store_unavailable`, degraded, remaining 0 and `retryAfterMs` on every
 * enforce-mode policy. Two cases need no store and keep their usual answer:
 * a cost above a policy's capacity (`cost_exceeds_limit`), and a subject with
 * only observe-mode policies, which never deny.
 */
export function closedDecision(
  policies: readonly Policy[],
  cost: number,
  now: number,
  retryAfterMs: number,
): Decision {
  const standing = fresh(policies, cost, now, false);
  if (!standing.allowed || standing.results.length === 0) return standing;
  const results: PolicyResult[] = [];
  for (const policy of policies) {
    if (policy.mode !== 'enforce') continue;
    results.push({
      policy: policy.name,
      mode: policy.mode,
      allowed: false,
      limit: capacityOf(policy),
      remaining: 0,
      resetMs: retryAfterMs,
      retryAfterMs,
      windowMs: policy.windowMs,
    });
  }
  const deciding = results[0]!;
  return {
    allowed: false,
    reason: 'store_unavailable',
    policy: deciding.policy,
    limit: deciding.limit,
    remaining: 0,
    resetMs: retryAfterMs,
    retryAfterMs,
    degraded: true,
    results,
    observed: standing.observed,
  };
}
