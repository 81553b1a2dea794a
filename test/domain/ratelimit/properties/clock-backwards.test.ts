// Property 9: a clock going backwards never admits more.
//
// 1. Bounds. Every recorded charge (admitted, cost > 0) is placed at the monotone clamp: the
//    running maximum of the times of the charges recorded so far. Over those clamped times the
//    bounds of properties 1–4 still hold when the clock jumps back. The clamp runs over charges
//    only: a step that charges nothing (a denial, a zero-cost check) must not change the state
//    (property 7), so it cannot leave a trace of its time for later steps to respect.
// 2. Monotonicity. From any reachable state, a request admitted at time t1 is admitted at every
//    later t2 with the same state, and fewer units are available at t1 than at t2: an earlier
//    clock is never more permissive than a later one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { step } from '../../../../src/domain/ratelimit/algorithm.ts';
import { capacityOf } from '../../../../src/domain/ratelimit/policy.ts';
import {
  allAlgorithms,
  boundViolation,
  charges,
  costArb,
  makePolicy,
  run,
  runs,
  scenarioArb,
  simulate,
} from './model.ts';

describe.each(allAlgorithms)('%s: a clock going backwards never admits more', (algorithm) => {
  it('keeps the window bound over the monotone clamp of charge times', () => {
    let backJumps = 0;
    fc.assert(
      fc.property(scenarioArb(algorithm, true), (scenario) => {
        const traces = run(scenario);
        backJumps += traces.filter((t, i) => i > 0 && t.now < traces[i - 1]!.now).length;
        expect(boundViolation(scenario.policy, charges(traces))).toBeUndefined();
      }),
      { numRuns: runs.heavy },
    );
    expect(backJumps).toBeGreaterThan(runs.heavy);
  });

  it('admits at an earlier time only what it admits at a later one, from the same state', () => {
    const arb = scenarioArb(algorithm, true, 40).chain((scenario) =>
      fc.record({
        scenario: fc.constant(scenario),
        probes: fc.array(
          fc.record({
            back: fc.integer({ min: 0, max: 3 * scenario.policy.windowMs }),
            ahead: fc.integer({ min: 0, max: 3 * scenario.policy.windowMs }),
            cost: costArb(capacityOf(scenario.policy)),
          }),
          { minLength: 1, maxLength: 4 },
        ),
      }),
    );
    fc.assert(
      fc.property(arb, ({ scenario, probes }) => {
        const { policy } = scenario;
        for (const t of run(scenario)) {
          for (const { back, ahead, cost } of probes) {
            const t1 = Math.max(0, t.now - back);
            const t2 = t.now + ahead;
            if (step(t.after, t1, policy, cost).allowed) {
              expect(step(t.after, t2, policy, cost).allowed).toBe(true);
            }
            expect(step(t.after, t1, policy, 0).remaining).toBeLessThanOrEqual(
              step(t.after, t2, policy, 0).remaining,
            );
          }
        }
      }),
      { numRuns: runs.light },
    );
  });
});

describe('a zero-cost check at a later time does not reopen the window for an earlier clock', () => {
  // Regressions found by the bound above: sliding-log used to return its pruned log and
  // fixed-window to drop a past window on a step that charged nothing; `evaluate` writes the state
  // of an admitted zero-cost step, so a skewed clock's cost-0 check erased charges that a slower
  // clock still had to count.
  it.each([
    ['sliding-log', 1, 1, 1],
    ['fixed-window', 1, 10, 10],
  ] as const)('%s (limit %i, window %i ms)', (algorithm, limit, windowMs, ahead) => {
    const policy = makePolicy(algorithm, limit, windowMs);
    const traces = simulate(policy, 0, [
      { dt: 0, cost: 1 },
      { dt: ahead, cost: 0 },
      { dt: -ahead, cost: 1 },
    ]);
    expect(traces.map((t) => t.result.allowed)).toEqual([true, true, false]);
  });
});
