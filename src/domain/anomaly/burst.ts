import type { AlertSeverity } from '../../ports/alert-sink.ts';
import { severityOption } from '../alerts/alert.ts';
import type { Duration } from '../config/duration.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { definePolicy } from '../ratelimit/policy.ts';
import type { Algorithm, Decision, Policy } from '../ratelimit/types.ts';

/** Options of {@link defineBurstDetector}; the defaults are the seed's. */
export interface BurstOptions {
  /** Requests allowed in the window before it is a burst: more than this is an anomaly; 50 by default. */
  readonly limit?: number | undefined;
  /** The window; 10 s by default. */
  readonly window?: Duration | undefined;
  /**
   * Counting algorithm; `sliding-log` by default (exact, the seed's
   * semantics, O(limit) state per subject). `sliding-window` is O(1) and
   * approximate.
   */
  readonly algorithm?: Algorithm | undefined;
  /** Policy name (a store key part); `burst` by default. */
  readonly name?: string | undefined;
  /** Severity of its alerts; `warning` by default. */
  readonly severity?: AlertSeverity | undefined;
}

/** The burst detector: an observe-mode policy plus the reading of its result. */
export interface BurstDetector {
  /** Add this to the per-IP rate limiter's policies: it is evaluated in the same store call. */
  readonly policy: Policy;
  /** The severity of its alerts. */
  readonly severity: AlertSeverity;
  /**
   * The burst count when `decision` (from a check that included
   * {@link BurstDetector.policy}) shows the policy exceeded, else undefined.
   * Degraded decisions (store down) never show a burst.
   */
  inspect(decision: Decision, cost?: number): number | undefined;
}

/**
 * Defines the burst detector. Its policy is in `observe` mode, so it never
 * denies; it is charged on every attempt, including those the enforce
 * policies refuse, until the window holds `limit` requests: the next one is
 * the anomaly.
 */
export function defineBurstDetector(options: BurstOptions = {}, path = 'burst'): BurstDetector {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(path, options, 'an object with limit and window');
  }
  const policy = definePolicy(
    {
      name: options.name ?? 'burst',
      limit: options.limit ?? 50,
      window: options.window ?? 10_000,
      algorithm: options.algorithm ?? 'sliding-log',
      mode: 'observe',
    },
    path,
  );
  const severity = severityOption(`${path}.severity`, options.severity ?? 'warning');
  const name = policy.name;
  return Object.freeze({
    policy,
    severity,
    inspect(decision: Decision, cost = 1): number | undefined {
      if (decision.degraded) return undefined;
      const observed = decision.observed;
      for (let i = 0; i < observed.length; i++) {
        const result = observed[i]!;
        if (result.policy !== name) continue;
        return result.allowed ? undefined : result.limit - result.remaining + cost;
      }
      return undefined;
    },
  });
}
