/** What one algorithm step says about one policy. */
export interface StepResult<S> {
  /** The policy alone would admit this cost now. */
  readonly allowed: boolean;
  /** The state after charging the cost; the given state itself when nothing is charged (denied, cost 0). */
  readonly state: S | undefined;
  /** Units left after this step. */
  readonly remaining: number;
  /** Ms until the state is empty again. */
  readonly resetMs: number;
  /** Ms until this cost would be admitted; 0 when allowed; -1 when never (cost above capacity). */
  readonly retryAfterMs: number;
  /** When the state becomes equivalent to no state at all, epoch ms (store TTL). */
  readonly expiresAt: number;
}

/** Integer ceiling division for non-negative safe integers. */
export function ceilDiv(numerator: number, denominator: number): number {
  return Math.floor((numerator + denominator - 1) / denominator);
}
