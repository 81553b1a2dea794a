/**
 * Rate-limit response headers in both formats LockWatch speaks:
 *
 * - the seed's `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
 *   `X-RateLimit-Reset` (epoch seconds), for the deciding policy;
 * - IETF draft-ietf-httpapi-ratelimit-headers-10: `RateLimit-Policy`
 *   (`"name";q=<quota>;w=<window s>`) and `RateLimit`
 *   (`"name";r=<remaining>;t=<seconds to reset>`), one list item per
 *   enforce-mode policy. Observe-mode policies (burst detection, shadow
 *   limits) are never advertised.
 *
 * Seconds are whole (structured-field integers): waits round up, so a client
 * that honours them is never early.
 */
import { capacityOf } from '../domain/ratelimit/policy.ts';
import type { Decision, Policy, PolicyResult } from '../domain/ratelimit/types.ts';

/** Whole seconds of a wait in ms, rounded up; 0 for no wait. */
export function ceilSeconds(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(ms / 1000);
}

/**
 * One `RateLimit-Policy` item. `q` is the policy's capacity (its burst for
 * gcra) and `w` the seconds in which that many units replenish: for gcra
 * `burst × window / limit`, which keeps the advertised rate equal to
 * `limit / window`; for the other algorithms the window itself.
 */
export function policyItem(policy: Policy): string {
  const capacity = capacityOf(policy);
  const windowMs =
    policy.algorithm === 'gcra' ? (capacity * policy.windowMs) / policy.limit : policy.windowMs;
  return `"${policy.name}";q=${capacity};w=${Math.max(1, Math.ceil(windowMs / 1000))}`;
}

/** The `RateLimit-Policy` field value of a limiter's enforce-mode policies; '' when it has none. */
export function policyField(policies: readonly Policy[]): string {
  let out = '';
  for (const policy of policies) {
    if (policy.mode !== 'enforce') continue;
    out += out === '' ? policyItem(policy) : `, ${policyItem(policy)}`;
  }
  return out;
}

/** The `RateLimit` items of one decision's enforce-mode results, appended to `field`. */
export function appendRateLimitItems(field: string, results: readonly PolicyResult[]): string {
  let out = field;
  for (const result of results) {
    const item = `"${result.policy}";r=${result.remaining};t=${ceilSeconds(result.resetMs)}`;
    out = out === '' ? item : `${out}, ${item}`;
  }
  return out;
}

/** The seed's three fields for the deciding decision; `now` is epoch ms. */
export function setLegacyHeaders(
  target: Record<string, string>,
  decision: Decision,
  now: number,
): void {
  target['x-ratelimit-limit'] = String(decision.limit);
  target['x-ratelimit-remaining'] = String(decision.remaining);
  target['x-ratelimit-reset'] = String(Math.ceil((now + decision.resetMs) / 1000));
}
