// Property 3: fixed-window admits at most `limit` units per aligned window [k·window, (k+1)·window).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alignedWindowViolation, charges, run, runs, scenarioArb } from './model.ts';

describe('fixed-window: at most limit units per aligned window', () => {
  it('holds for every aligned window of a run with a monotone clock', () => {
    fc.assert(
      fc.property(scenarioArb('fixed-window', false), (scenario) => {
        const { limit, windowMs } = scenario.policy;
        expect(alignedWindowViolation(charges(run(scenario)), limit, windowMs)).toBeUndefined();
      }),
      { numRuns: runs.heavy },
    );
  });
});
