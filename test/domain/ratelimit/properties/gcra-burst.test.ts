// Property 2: gcra admits at most burst + (t − s)·limit/window units in any closed interval [s, t].
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { charges, gcraViolation, run, runs, scenarioArb } from './model.ts';

describe('gcra: at most burst + (t − s)·limit/window units in [s, t]', () => {
  it('holds for every pair s ≤ t of a run with a monotone clock (integer form)', () => {
    fc.assert(
      fc.property(scenarioArb('gcra', false), (scenario) => {
        expect(gcraViolation(charges(run(scenario)), scenario.policy)).toBeUndefined();
      }),
      { numRuns: runs.heavy },
    );
  });

  it('admits the whole burst at once from an empty state', () => {
    fc.assert(
      fc.property(scenarioArb('gcra', false, 0), fc.nat(1_000_000), (scenario, now) => {
        const { burst } = scenario.policy;
        const traces = run({
          ...scenario,
          start: now,
          offers: Array.from({ length: burst + 1 }, () => ({ dt: 0, cost: 1 })),
        });
        expect(traces.map((t) => t.result.allowed)).toEqual([
          ...Array.from({ length: burst }, () => true),
          false,
        ]);
      }),
      { numRuns: runs.light },
    );
  });
});
