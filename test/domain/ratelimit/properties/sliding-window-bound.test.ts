// Property 4: the two-counter sliding window is an approximation. Its documented bound: at most
// `limit` units per aligned window, and in any interval of one window units·window ≤
// limit·max(window, 2·window − 2) — always below 2·limit, and exactly `limit` for 1 or 2 ms
// windows (see `slidingWindowBound` in model.ts for the derivation).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  alignedWindowViolation,
  approximateIntervalViolation,
  charges,
  makePolicy,
  run,
  runs,
  scenarioArb,
  simulate,
  slidingWindowBound,
} from './model.ts';

describe('sliding-window: the approximation bound', () => {
  it('admits at most limit units per aligned window', () => {
    fc.assert(
      fc.property(scenarioArb('sliding-window', false), (scenario) => {
        const { limit, windowMs } = scenario.policy;
        expect(alignedWindowViolation(charges(run(scenario)), limit, windowMs)).toBeUndefined();
      }),
      { numRuns: runs.heavy },
    );
  });

  it('admits units·window ≤ limit·max(window, 2·window − 2) in any interval of one window', () => {
    fc.assert(
      fc.property(scenarioArb('sliding-window', false), (scenario) => {
        const { limit, windowMs } = scenario.policy;
        expect(
          approximateIntervalViolation(charges(run(scenario)), limit, windowMs),
        ).toBeUndefined();
      }),
      { numRuns: runs.heavy },
    );
  });

  it('reaches that bound: it is an approximation, more than limit can pass in one sliding window', () => {
    // limit 3 per 3 ms: 3 units at the last ms of window 0, then 1 more at 1 ms into window 1
    // (3·(3 − 1) + 1·3 = 9 ≤ 9): 4 units inside [2, 5), which is limit·(2·3 − 2)/3.
    const policy = makePolicy('sliding-window', 3, 3);
    const traces = simulate(policy, 2, [
      { dt: 0, cost: 3 },
      { dt: 1, cost: 1 },
      { dt: 1, cost: 1 },
    ]);
    expect(traces.map((t) => t.result.allowed)).toEqual([true, false, true]);
    const inWindow = charges(traces).reduce((sum, c) => sum + c.cost, 0);
    expect(inWindow * policy.windowMs).toBe(slidingWindowBound(3, 3));
  });
});
