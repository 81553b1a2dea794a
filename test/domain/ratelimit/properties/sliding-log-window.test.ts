// Property 1: sliding-log is exact — no interval of one window ever holds more than `limit` units.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  charges,
  makePolicy,
  offersArb,
  run,
  runs,
  scenarioArb,
  simulate,
  slidingIntervalViolation,
} from './model.ts';

describe('sliding-log: at most limit units in any interval of one window', () => {
  it('holds for every interval [t, t + window) of a run with a monotone clock', () => {
    fc.assert(
      fc.property(scenarioArb('sliding-log', false), (scenario) => {
        const { limit, windowMs } = scenario.policy;
        expect(slidingIntervalViolation(charges(run(scenario)), limit, windowMs)).toBeUndefined();
      }),
      { numRuns: runs.heavy },
    );
  });

  it('is tight: one unit offered every ms fills the last window to exactly min(limit, window)', () => {
    const scenario = fc
      .record({ limit: fc.integer({ min: 1, max: 12 }), windowMs: fc.integer({ min: 1, max: 40 }) })
      .map(({ limit, windowMs }) => makePolicy('sliding-log', limit, windowMs))
      .chain((policy) =>
        fc.record({
          policy: fc.constant(policy),
          start: fc.nat(1_000),
          offers: offersArb(policy, false, 20),
        }),
      );
    fc.assert(
      fc.property(scenario, ({ policy, start, offers }) => {
        // Whatever the history, after one window of probes the log is in its steady state.
        const probes = Array.from({ length: 2 * policy.windowMs }, () => ({ dt: 1, cost: 1 }));
        const traces = simulate(policy, start, [...offers, ...probes]);
        const lastWindow = traces.slice(traces.length - policy.windowMs);
        const admitted = lastWindow.filter((t) => t.result.allowed).length;
        expect(admitted).toBe(Math.min(policy.limit, policy.windowMs));
      }),
      { numRuns: runs.light },
    );
  });
});
