/** Retry delays of the audit logger. */
export interface BackoffSettings {
  /** Delay before the first retry, ms. */
  readonly initialMs: number;
  /** Longest delay, ms. */
  readonly maxMs: number;
}

/**
 * Delay before retry number `attempt` (1 for the first): exponential from
 * `initialMs`, capped at `maxMs`, with "equal jitter" (half fixed, half
 * random) so that many processes that lost the same database do not come
 * back in step, while none retries sooner than half the nominal delay.
 */
export function backoffDelay(attempt: number, settings: BackoffSettings, random: number): number {
  const nominal = Math.min(settings.maxMs, settings.initialMs * 2 ** Math.min(attempt - 1, 30));
  const half = nominal / 2;
  return Math.round(half + half * Math.min(Math.max(random, 0), 1));
}
