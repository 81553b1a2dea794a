/**
 * Shared generators and runners for the property tests of the pure rate-limit
 * step functions. Not a test file: the `*.test.ts` files of this directory
 * import it.
 */
import fc from 'fast-check';
import { step, type WindowState } from '../../../../src/domain/ratelimit/algorithm.ts';
import { algorithms, capacityOf, definePolicy } from '../../../../src/domain/ratelimit/policy.ts';
import type { StepResult } from '../../../../src/domain/ratelimit/step.ts';
import type { Algorithm, Policy, PolicyMode } from '../../../../src/domain/ratelimit/types.ts';

/** fast-check run counts: small enough for the whole directory to stay far below 20 s on 2 cores. */
export const runs = { light: 200, normal: 300, heavy: 500 } as const;

/** Longest generated sequence. */
export const maxSteps = 60;

/** Every algorithm, for `describe.each`. */
export const allAlgorithms: readonly Algorithm[] = algorithms;

/** One offered request: the clock moves by `dt` ms (negative: the clock went back), then `cost` is offered. */
export interface Offer {
  /** Clock movement before the request; negative means the clock went back. */
  readonly dt: number;
  /** Units requested. */
  readonly cost: number;
}

/** A policy, a start time and the requests offered to it. */
export interface Scenario {
  /** The policy under test. */
  readonly policy: Policy;
  /** Clock value before the first offer, epoch ms. */
  readonly start: number;
  /** The offers, in order. */
  readonly offers: readonly Offer[];
}

/** One step as it happened in a simulated run. */
export interface Trace {
  /** Clock value of the step. */
  readonly now: number;
  /** Units offered. */
  readonly cost: number;
  /** The stored state the step saw. */
  readonly before: WindowState | undefined;
  /** What the step function returned. */
  readonly result: StepResult<WindowState>;
  /** The stored state after the step (the result's state when allowed, as `evaluate` writes it). */
  readonly after: WindowState | undefined;
}

/** A charge that was recorded: admitted with a positive cost, at the monotone-clamped time. */
export interface Charge {
  /** Running maximum of the times of all recorded charges up to and including this one. */
  readonly at: number;
  /** Units charged. */
  readonly cost: number;
}

let nameSeq = 0;

/** Builds a validated policy through the public constructor. */
export function makePolicy(
  algorithm: Algorithm,
  limit: number,
  windowMs: number,
  burst?: number,
  mode: PolicyMode = 'enforce',
): Policy {
  nameSeq = (nameSeq + 1) % 1_000_000;
  return definePolicy({
    name: `p${nameSeq}`,
    limit,
    window: windowMs,
    algorithm,
    burst: algorithm === 'gcra' ? burst : undefined,
    mode,
  });
}

const limitArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 5 }), weight: 4 },
  { arbitrary: fc.integer({ min: 1, max: 30 }), weight: 2 },
  { arbitrary: fc.integer({ min: 1, max: 1000 }), weight: 1 },
);

const windowArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 12 }), weight: 3 },
  { arbitrary: fc.integer({ min: 1, max: 1000 }), weight: 3 },
  { arbitrary: fc.constantFrom(1000, 60_000), weight: 1 },
);

/** A policy of `algorithm` (any algorithm when omitted), small limits favoured so limits are hit often. */
export function policyArb(
  algorithm?: Algorithm,
  mode: PolicyMode = 'enforce',
): fc.Arbitrary<Policy> {
  const algorithmArb =
    algorithm === undefined ? fc.constantFrom(...algorithms) : fc.constant(algorithm);
  return fc
    .record({
      algorithm: algorithmArb,
      limit: limitArb,
      windowMs: windowArb,
      burstFactor: fc.nat(400),
    })
    .map(({ algorithm: a, limit, windowMs, burstFactor }) => {
      // About a third of gcra policies keep the default burst (= limit); the others range over 1..4·limit.
      const burst =
        burstFactor < 130 ? undefined : Math.max(1, Math.round((limit * (burstFactor - 130)) / 67));
      return makePolicy(a, limit, windowMs, burst, mode);
    });
}

/** Clock movements scaled to the window: mostly small steps, some whole windows, optionally going back. */
export function dtArb(windowMs: number, backwards: boolean): fc.Arbitrary<number> {
  const options: fc.WeightedArbitrary<number>[] = [
    { arbitrary: fc.constant(0), weight: 3 },
    { arbitrary: fc.integer({ min: 1, max: Math.max(1, Math.floor(windowMs / 4)) }), weight: 4 },
    { arbitrary: fc.integer({ min: 0, max: 2 * windowMs }), weight: 2 },
    { arbitrary: fc.integer({ min: 2 * windowMs, max: 5 * windowMs }), weight: 1 },
  ];
  if (backwards)
    options.push({ arbitrary: fc.integer({ min: -2 * windowMs, max: -1 }), weight: 2 });
  return fc.oneof(...options);
}

/** Costs: mostly 1, often anything up to the capacity (0 included), sometimes above it. */
export function costArb(capacity: number): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: fc.constant(1), weight: 4 },
    { arbitrary: fc.integer({ min: 0, max: capacity }), weight: 3 },
    { arbitrary: fc.integer({ min: capacity + 1, max: capacity + 3 }), weight: 1 },
  );
}

/** Offers for `policy`. */
export function offersArb(
  policy: Policy,
  backwards: boolean,
  maxLength = maxSteps,
): fc.Arbitrary<Offer[]> {
  return fc.array(
    fc.record({ dt: dtArb(policy.windowMs, backwards), cost: costArb(capacityOf(policy)) }),
    // size 'max': lengths spread over 0..maxLength instead of fast-check's default of ~10.
    { maxLength, size: 'max' },
  );
}

/** A scenario: a policy, a start time and up to `maxSteps` offers; `backwards` lets the clock go back. */
export function scenarioArb(
  algorithm: Algorithm | undefined,
  backwards: boolean,
  maxLength = maxSteps,
): fc.Arbitrary<Scenario> {
  return policyArb(algorithm).chain((policy) =>
    fc.record({
      policy: fc.constant(policy),
      start: fc.integer({ min: 0, max: 20 * policy.windowMs }),
      offers: offersArb(policy, backwards, maxLength),
    }),
  );
}

/**
 * Runs offers against one stored state, writing the step's state whenever it
 * admits (as `evaluate` does); the clock never goes below 0 (epoch time).
 */
export function simulate(
  policy: Policy,
  start: number,
  offers: readonly Offer[],
  initial: WindowState | undefined = undefined,
): Trace[] {
  const traces: Trace[] = [];
  let state = initial;
  let now = start;
  for (const { dt, cost } of offers) {
    now = Math.max(0, now + dt);
    const result = step(state, now, policy, cost);
    const after = result.allowed ? result.state : state;
    traces.push({ now, cost, before: state, result, after });
    state = after;
  }
  return traces;
}

/** Simulates a scenario. */
export function run(scenario: Scenario): Trace[] {
  return simulate(scenario.policy, scenario.start, scenario.offers);
}

/**
 * The recorded charges of a run, each at the running maximum of the recorded
 * charge times (the monotone clamp). With a monotone clock that is simply the
 * time of the charge.
 */
export function charges(traces: readonly Trace[]): Charge[] {
  const out: Charge[] = [];
  let clamp = Number.NEGATIVE_INFINITY;
  for (const t of traces) {
    if (!t.result.allowed || t.cost === 0) continue;
    clamp = Math.max(clamp, t.now);
    out.push({ at: clamp, cost: t.cost });
  }
  return out;
}

/** The decision-relevant part of a step result, for comparing two runs. */
export function observable(result: StepResult<WindowState>) {
  return {
    allowed: result.allowed,
    remaining: result.remaining,
    resetMs: result.resetMs,
    retryAfterMs: result.retryAfterMs,
  };
}

/** Decisions of `offers` starting at `start` from `state` (state written on admission). */
export function futureDecisions(
  policy: Policy,
  state: WindowState | undefined,
  start: number,
  offers: readonly Offer[],
) {
  return simulate(policy, start, offers, state).map((t) => ({
    now: t.now,
    ...observable(t.result),
  }));
}

/** True when nothing is held against the policy at `now`: a zero-cost step sees the full capacity. */
export function isFull(policy: Policy, state: WindowState | undefined, now: number): boolean {
  return step(state, now, policy, 0).remaining === capacityOf(policy);
}

// Window bounds, each returning a description of the first violation or undefined. `charges` are
// in non-decreasing order of `at`, as `charges()` produces them.

/** Exact sliding bound: in every interval [t, t + window) at most `limit` units (sliding-log). */
export function slidingIntervalViolation(
  list: readonly Charge[],
  limit: number,
  windowMs: number,
): string | undefined {
  for (let i = 0; i < list.length; i++) {
    let sum = 0;
    for (let j = i; j < list.length && list[j]!.at < list[i]!.at + windowMs; j++)
      sum += list[j]!.cost;
    if (sum > limit)
      return `${sum} units in [${list[i]!.at}, ${list[i]!.at + windowMs}), limit ${limit}`;
  }
  return undefined;
}

/** GCRA bound: for all s ≤ t, units in [s, t] times window ≤ burst·window + (t − s)·limit. */
export function gcraViolation(list: readonly Charge[], policy: Policy): string | undefined {
  const { limit, windowMs, burst } = policy;
  for (let i = 0; i < list.length; i++) {
    if (i > 0 && list[i - 1]!.at === list[i]!.at) continue;
    let sum = 0;
    for (let j = i; j < list.length; j++) {
      sum += list[j]!.cost;
      if (j + 1 < list.length && list[j + 1]!.at === list[j]!.at) continue;
      const span = list[j]!.at - list[i]!.at;
      if (sum * windowMs > burst * windowMs + span * limit) {
        return `${sum} units in [${list[i]!.at}, ${list[j]!.at}], burst ${burst}, ${limit}/${windowMs}ms`;
      }
    }
  }
  return undefined;
}

/** Aligned bound: in every window [k·window, (k+1)·window) at most `limit` units. */
export function alignedWindowViolation(
  list: readonly Charge[],
  limit: number,
  windowMs: number,
): string | undefined {
  const sums = new Map<number, number>();
  for (const c of list) {
    const k = Math.floor(c.at / windowMs);
    const sum = (sums.get(k) ?? 0) + c.cost;
    if (sum > limit) return `${sum} units in aligned window ${k} of ${windowMs}ms, limit ${limit}`;
    sums.set(k, sum);
  }
  return undefined;
}

/**
 * The two-counter approximation's sliding bound, derived from its admission
 * rule `previous·(window − elapsed) + current·window ≤ limit·window`: an
 * interval of one window starting `a` ms into aligned window k holds at most
 * `previous` units of window k plus `current` units of window k + 1 admitted
 * at elapsed ≤ a − 1, so units·window ≤ limit·window + previous·(a − 1)
 * ≤ limit·max(window, 2·window − 2). Always strictly less than 2·limit for
 * window ≥ 2; exactly `limit` for windows of 1 or 2 ms.
 */
export function slidingWindowBound(limit: number, windowMs: number): number {
  return limit * Math.max(windowMs, 2 * windowMs - 2);
}

/** Sliding-window approximation: in every interval of one window, units·window ≤ slidingWindowBound. */
export function approximateIntervalViolation(
  list: readonly Charge[],
  limit: number,
  windowMs: number,
): string | undefined {
  const bound = slidingWindowBound(limit, windowMs);
  for (let i = 0; i < list.length; i++) {
    let sum = 0;
    for (let j = i; j < list.length && list[j]!.at < list[i]!.at + windowMs; j++)
      sum += list[j]!.cost;
    if (sum * windowMs > bound) {
      return `${sum} units in [${list[i]!.at}, ${list[i]!.at + windowMs}), limit ${limit}, bound ${bound}/${windowMs}`;
    }
  }
  return undefined;
}

/** The bound of the policy's algorithm over a run's recorded charges. */
export function boundViolation(policy: Policy, list: readonly Charge[]): string | undefined {
  const { limit, windowMs } = policy;
  switch (policy.algorithm) {
    case 'sliding-log':
      return slidingIntervalViolation(list, limit, windowMs);
    case 'gcra':
      return gcraViolation(list, policy);
    case 'fixed-window':
      return alignedWindowViolation(list, limit, windowMs);
    case 'sliding-window':
      return (
        alignedWindowViolation(list, limit, windowMs) ??
        approximateIntervalViolation(list, limit, windowMs)
      );
  }
}
