/** Rate-limit algorithms; see docs/rate-limiting.md for their trade-offs. */
export type Algorithm = 'gcra' | 'sliding-window' | 'fixed-window' | 'sliding-log';

/** `enforce` denies over the limit; `observe` counts and reports but never denies. */
export type PolicyMode = 'enforce' | 'observe';

/** A validated, immutable rate-limit policy; build one with `definePolicy`. */
export interface Policy {
  /** Unique name; part of store keys and of the `RateLimit-Policy` header. */
  readonly name: string;
  /** Units admitted per window (for gcra: the sustained rate is limit per window). */
  readonly limit: number;
  /** Window length, integer ms. */
  readonly windowMs: number;
  /** Algorithm. */
  readonly algorithm: Algorithm;
  /** gcra only: units that may arrive at once; equals `limit` unless set. */
  readonly burst: number;
  /** Enforce or observe. */
  readonly mode: PolicyMode;
}

/** Why a decision came out as it did. */
export type DecisionReason =
  /** Admitted. */
  | 'ok'
  /** An enforce policy's limit was reached. */
  | 'limit'
  /** The cost is larger than a policy could ever admit. */
  | 'cost_exceeds_limit'
  /** The store failed and the `closed` failure policy denied. */
  | 'store_unavailable';

/** One policy's view of one check. */
export interface PolicyResult {
  /** Policy name. */
  readonly policy: string;
  /** The policy's mode. */
  readonly mode: PolicyMode;
  /** This policy alone would admit the request. */
  readonly allowed: boolean;
  /** The policy's limit (for gcra: its burst). */
  readonly limit: number;
  /** Units still available right after this check. */
  readonly remaining: number;
  /** Ms until the policy's state is empty again (fully replenished). */
  readonly resetMs: number;
  /** Ms to wait before the same cost would be admitted; 0 when allowed. */
  readonly retryAfterMs: number;
  /** Policy window, ms. */
  readonly windowMs: number;
}

/** The outcome of checking one subject against its policies. */
export interface Decision {
  /** The request may proceed. */
  readonly allowed: boolean;
  /** Why. */
  readonly reason: DecisionReason;
  /** The deciding policy: the denying one with the longest wait, or the most constrained one. */
  readonly policy: string;
  /** The deciding policy's limit. */
  readonly limit: number;
  /** The deciding policy's remaining units. */
  readonly remaining: number;
  /** Ms until the deciding policy is replenished. */
  readonly resetMs: number;
  /** Ms until the request would be admitted; 0 when allowed; -1 when it never will (cost too large). */
  readonly retryAfterMs: number;
  /** The answer did not come from the primary store (failure policy `open` or `fallback`). */
  readonly degraded: boolean;
  /** Every enforce-mode policy's result, in policy order. */
  readonly results: readonly PolicyResult[];
  /** Every observe-mode policy's result, in policy order; `allowed: false` means exceeded. */
  readonly observed: readonly PolicyResult[];
}
