import type { Clock } from '../../ports/clock.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { integerOption } from '../config/validate.ts';

/** `closed`: calls go through; `open`: calls are refused; `half-open`: one probe call at a time goes through. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Circuit-breaker options as a user writes them. */
export interface BreakerOptions {
  /** Consecutive failed calls that open the breaker: an integer from 1 to 1,000; 5 by default. */
  readonly failureThreshold?: number | undefined;
  /** How long the breaker stays open before it lets a probe through, ms: 1 to 600,000; 5,000 by default. */
  readonly cooldownMs?: number | undefined;
}

/** Validated circuit-breaker settings. */
export interface BreakerSettings {
  /** Consecutive failed calls that open the breaker. */
  readonly failureThreshold: number;
  /** Ms the breaker stays open before it lets a probe through. */
  readonly cooldownMs: number;
}

/** A state change of a breaker. */
export interface BreakerTransition {
  /** State before. */
  readonly from: BreakerState;
  /** State after. */
  readonly to: BreakerState;
  /** Clock time of the change, epoch ms. */
  readonly at: number;
}

/** Leave to make one call; hand it back with exactly one of `succeeded`, `failed` or `released`. */
export interface BreakerPermit {
  /** This call is the half-open probe: its outcome closes or re-opens the breaker. */
  readonly probe: boolean;
}

/** The answer of {@link CircuitBreaker.admit}. */
export type BreakerAdmission =
  | { readonly allowed: true; readonly permit: BreakerPermit }
  | {
      readonly allowed: false;
      /** When a call may next go through, epoch ms (`now` while a probe is under way). */
      readonly retryAt: number;
    };

/**
 * A circuit breaker as a pure state machine over a {@link Clock}: it keeps no
 * timer, and moves from `open` to `half-open` when it is next asked (by
 * {@link CircuitBreaker.admit} or {@link CircuitBreaker.state}) after the
 * cooldown.
 */
export interface CircuitBreaker {
  /** Current state. */
  readonly state: BreakerState;
  /** When a call may next go through, epoch ms: now unless open (then the end of the cooldown). */
  readonly retryAt: number;
  /** Failures counted towards the threshold since the last success or state change. */
  readonly consecutiveFailures: number;
  /** The settings in force. */
  readonly settings: BreakerSettings;
  /** Asks to make a call. Refused while open, and in half-open while the probe is under way. */
  admit(): BreakerAdmission;
  /** The call answered: resets the failure count; a probe closes the breaker. */
  succeeded(permit: BreakerPermit): void;
  /** The call failed (the store's fault): counts towards the threshold; a failed probe re-opens. */
  failed(permit: BreakerPermit): void;
  /** The call ended without telling anything about the store (the caller aborted): changes nothing but frees the probe slot. */
  released(permit: BreakerPermit): void;
}

/** Options of {@link createCircuitBreaker}. */
export interface CircuitBreakerOptions extends BreakerOptions {
  /** Time source. */
  readonly clock: Clock;
  /** Told of every state change, synchronously, after the change took effect. */
  readonly onStateChange?: ((transition: BreakerTransition) => void) | undefined;
}

/** Default consecutive failures that open a breaker. */
export const defaultFailureThreshold = 5;
/** Default cooldown of an open breaker, ms. */
export const defaultCooldownMs = 5_000;

/** Validates breaker options; errors name the option under `path` (such as `failure.breaker.cooldownMs`). */
export function defineBreakerSettings(
  options: BreakerOptions | undefined,
  path = 'failure.breaker',
): BreakerSettings {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidOptionError(path, options, 'an object with failureThreshold and cooldownMs');
  }
  return Object.freeze({
    failureThreshold: integerOption(
      `${path}.failureThreshold`,
      options?.failureThreshold ?? defaultFailureThreshold,
      1,
      1_000,
    ),
    cooldownMs: integerOption(
      `${path}.cooldownMs`,
      options?.cooldownMs ?? defaultCooldownMs,
      1,
      600_000,
    ),
  });
}

interface Permit extends BreakerPermit {
  readonly generation: number;
  settled: boolean;
}

/**
 * Creates a circuit breaker. Rule: `failureThreshold` consecutive failures
 * while closed open it; after `cooldownMs` it is half-open and admits one
 * probe at a time, refusing every other call; the probe's success closes it,
 * its failure opens it for another cooldown. Outcomes of calls admitted
 * before the last state change are ignored, so a slow call from an earlier
 * period can neither close nor re-open the breaker.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const { clock, onStateChange } = options;
  const settings = defineBreakerSettings(options);
  let state: BreakerState = 'closed';
  let generation = 0;
  let failures = 0;
  let openUntil = 0;
  let probing = false;

  const move = (to: BreakerState, now: number) => {
    const from = state;
    state = to;
    generation++;
    failures = 0;
    probing = false;
    if (to === 'open') openUntil = now + settings.cooldownMs;
    onStateChange?.({ from, to, at: now });
  };

  const refresh = (now: number) => {
    if (state === 'open' && now >= openUntil) move('half-open', now);
  };

  /** Takes the permit back; false when it is stale or was handed back already. */
  const settle = (permit: BreakerPermit): boolean => {
    const own = permit as Permit;
    if (own.settled) return false;
    own.settled = true;
    if (own.probe && own.generation === generation) probing = false;
    return own.generation === generation;
  };

  return {
    get state() {
      refresh(clock.now());
      return state;
    },
    get retryAt() {
      const now = clock.now();
      refresh(now);
      return state === 'open' ? openUntil : now;
    },
    get consecutiveFailures() {
      return failures;
    },
    settings,
    admit() {
      // Closed is the hot path: no clock read, one small object.
      if (state !== 'closed') {
        const now = clock.now();
        refresh(now);
        if (state === 'open') return { allowed: false, retryAt: openUntil };
        if (state === 'half-open') {
          if (probing) return { allowed: false, retryAt: now };
          probing = true;
        }
      }
      const permit: Permit = { probe: state === 'half-open', generation, settled: false };
      return { allowed: true, permit };
    },
    succeeded(permit) {
      if (!settle(permit)) return;
      if (permit.probe) move('closed', clock.now());
      else failures = 0;
    },
    failed(permit) {
      if (!settle(permit)) return;
      const now = clock.now();
      if (permit.probe) move('open', now);
      else if (++failures >= settings.failureThreshold) move('open', now);
    },
    released(permit) {
      settle(permit);
    },
  };
}
