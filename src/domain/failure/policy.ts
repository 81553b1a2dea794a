import { InvalidOptionError } from '../config/errors.ts';
import { choiceOption, integerOption } from '../config/validate.ts';
import {
  type BreakerOptions,
  type BreakerSettings,
  defineBreakerSettings,
} from './circuit-breaker.ts';

/**
 * What a store failure means for a request: `open` admits it (degraded),
 * `closed` denies it with reason `store_unavailable`, `fallback` answers from
 * an in-memory store until the primary recovers.
 */
export type FailureMode = 'open' | 'closed' | 'fallback';

/** Every failure mode, in documentation order. */
export const failureModes: readonly FailureMode[] = ['open', 'closed', 'fallback'];

/** Failure-policy options as a user writes them. */
export interface FailureOptions {
  /** The failure mode; required unless the concern using the store supplies a default. */
  readonly policy?: FailureMode | undefined;
  /** Per-call timeout of the store, ms: an integer from 1 to 10,000; 100 by default. */
  readonly timeoutMs?: number | undefined;
  /** Circuit breaker settings. */
  readonly breaker?: BreakerOptions | undefined;
}

/** A validated, immutable failure policy. */
export interface FailurePolicy {
  /** The failure mode. */
  readonly policy: FailureMode;
  /** Per-call timeout, ms. */
  readonly timeoutMs: number;
  /** Circuit breaker settings. */
  readonly breaker: BreakerSettings;
}

/** Default per-call timeout, ms: a store that is slower than this is treated as down. */
export const defaultTimeoutMs = 100;
/** Largest accepted per-call timeout, ms. */
export const maxTimeoutMs = 10_000;

/**
 * Validates failure options; errors name the option under `path` (such as
 * `failure.timeoutMs`). `defaultPolicy` is the mode used when `policy` is
 * left out (each concern has its own: token revocation uses `closed`).
 */
export function defineFailurePolicy(
  options: FailureOptions | undefined,
  path = 'failure',
  defaultPolicy?: FailureMode,
): FailurePolicy {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidOptionError(path, options, 'an object with policy, timeoutMs and breaker');
  }
  return Object.freeze({
    policy: choiceOption(`${path}.policy`, options?.policy ?? defaultPolicy, failureModes),
    timeoutMs: integerOption(
      `${path}.timeoutMs`,
      options?.timeoutMs ?? defaultTimeoutMs,
      1,
      maxTimeoutMs,
    ),
    breaker: defineBreakerSettings(options?.breaker, `${path}.breaker`),
  });
}
