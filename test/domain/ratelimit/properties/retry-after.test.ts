// Property 6: retry-after is exact. After a denial at `now` with retryAfterMs r > 0 and no charge
// in between, the same cost is admitted at now + r and denied at now + r − 1 (and at every earlier
// instant: admission is monotone in time for a fixed state). Required for gcra and sliding-log;
// fixed-window and sliding-window compute it exactly too, so they are held to the same standard.
// Histories include clock jumps backwards, so denials also come from states "in the future".
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { step } from '../../../../src/domain/ratelimit/algorithm.ts';
import { allAlgorithms, run, runs, scenarioArb } from './model.ts';

describe.each(allAlgorithms)('%s: retry-after is exact', (algorithm) => {
  it.each([
    ['a monotone clock', false],
    ['a clock that goes back', true],
  ])('with %s', (_label, backwards) => {
    let denials = 0;
    fc.assert(
      fc.property(scenarioArb(algorithm, backwards), (scenario) => {
        const { policy } = scenario;
        for (const t of run(scenario)) {
          const r = t.result.retryAfterMs;
          if (t.result.allowed || r < 0) continue;
          denials++;
          expect(step(t.before, t.now + r, policy, t.cost).allowed).toBe(true);
          expect(step(t.before, t.now + r - 1, policy, t.cost).allowed).toBe(false);
          // Earlier instants stay denied: the first admission really is at now + r.
          for (let k = 1; k < 8; k++) {
            const at = t.now + Math.floor(((r - 1) * k) / 8);
            expect(step(t.before, at, policy, t.cost).allowed).toBe(false);
          }
        }
      }),
      { numRuns: runs.normal },
    );
    // The generators must actually produce denials, or the property is vacuous.
    expect(denials).toBeGreaterThan(runs.normal);
  });
});
