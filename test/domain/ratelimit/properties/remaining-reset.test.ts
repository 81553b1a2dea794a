// Property 11: `remaining` and `resetMs` are consistent and exact, for all four algorithms.
// - 0 ≤ remaining ≤ capacity (limit; burst for gcra), resetMs ≥ 0, expiresAt = now + resetMs.
// - After an admitted step, a step of cost `remaining` at the same instant is admitted and one of
//   `remaining + 1` is not. This is exact for every algorithm (gcra and the sliding window floor
//   their scaled slack, so `remaining` is the largest integer cost that fits). After a denial it
//   is not always exact: when the clock went back, gcra's debt or the sliding window's fully
//   weighted previous window may exceed the capacity, `remaining` is clamped to 0 and even cost 0
//   is refused; what holds after any denial is remaining < cost or remaining = 0.
// - resetMs is exact: the stored state is fully replenished (a zero-cost step sees the whole
//   capacity) at now + resetMs and, when resetMs > 0, not yet at now + resetMs − 1.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { step } from '../../../../src/domain/ratelimit/algorithm.ts';
import { capacityOf } from '../../../../src/domain/ratelimit/policy.ts';
import { allAlgorithms, isFull, run, runs, scenarioArb } from './model.ts';

describe.each(allAlgorithms)('%s: remaining and resetMs', (algorithm) => {
  it.each([
    ['a monotone clock', false],
    ['a clock that goes back', true],
  ])('are in range and exact with %s', (_label, backwards) => {
    let checked = 0;
    fc.assert(
      fc.property(scenarioArb(algorithm, backwards), (scenario) => {
        const { policy } = scenario;
        const capacity = capacityOf(policy);
        for (const t of run(scenario)) {
          const { remaining, resetMs, expiresAt, allowed } = t.result;
          expect(Number.isInteger(remaining) && remaining >= 0 && remaining <= capacity).toBe(true);
          expect(Number.isInteger(resetMs) && resetMs >= 0).toBe(true);
          expect(expiresAt).toBe(t.now + resetMs);
          if (allowed) {
            checked++;
            expect(step(t.after, t.now, policy, remaining).allowed).toBe(true);
            expect(step(t.after, t.now, policy, remaining + 1).allowed).toBe(false);
          } else {
            expect(remaining < t.cost || remaining === 0).toBe(true);
          }
          expect(isFull(policy, t.after, t.now + resetMs)).toBe(true);
          if (resetMs > 0) expect(isFull(policy, t.after, t.now + resetMs - 1)).toBe(false);
        }
      }),
      { numRuns: runs.normal },
    );
    expect(checked).toBeGreaterThan(runs.normal);
  });
});
