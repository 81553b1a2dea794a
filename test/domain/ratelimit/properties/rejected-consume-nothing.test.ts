// Property 7: rejected requests consume nothing. The state a denied step returns leads to the same
// future decisions as the state it was given, for any future, including one where the clock goes
// back before the denial. The same holds for a zero-cost check, which charges nothing either
// (`evaluate` writes its state when it admits, so it must not change anything). A zero-cost check
// is usually admitted, but not always: after the clock went back, gcra's debt or the sliding
// window's fully weighted previous window can exceed the capacity at that instant, and then even
// cost 0 is refused (with an exact retry-after); either way nothing may change.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WindowState } from '../../../../src/domain/ratelimit/algorithm.ts';
import { step } from '../../../../src/domain/ratelimit/algorithm.ts';
import { allAlgorithms, futureDecisions, offersArb, run, runs, scenarioArb } from './model.ts';

const probe = (algorithm: (typeof allAlgorithms)[number]) =>
  scenarioArb(algorithm, true, 40).chain((scenario) =>
    fc.record({ scenario: fc.constant(scenario), future: offersArb(scenario.policy, true, 30) }),
  );

describe.each(allAlgorithms)('%s: a step that charges nothing changes nothing', (algorithm) => {
  it('a denied step leaves a state with the same future decisions', () => {
    let denials = 0;
    fc.assert(
      fc.property(probe(algorithm), ({ scenario, future }) => {
        const { policy } = scenario;
        const denied = run(scenario).filter((t) => !t.result.allowed);
        for (const t of denied.slice(0, 4)) {
          denials++;
          const kept = futureDecisions(policy, t.before, t.now, future);
          const returned = futureDecisions(policy, t.result.state, t.now, future);
          expect(returned).toEqual(kept);
        }
      }),
      { numRuns: runs.normal },
    );
    expect(denials).toBeGreaterThan(runs.normal);
  });

  it('a client retrying after each denial gets the same decisions as one that waited', () => {
    fc.assert(
      fc.property(
        probe(algorithm),
        fc.integer({ min: 1, max: 5 }),
        ({ scenario, future }, retries) => {
          const { policy } = scenario;
          for (const t of run(scenario)
            .filter((x) => !x.result.allowed)
            .slice(0, 2)) {
            // Replay the denied request `retries` times at the same instant, writing whatever the
            // step returns, as a careless store would.
            let state: WindowState | undefined = t.before;
            for (let i = 0; i < retries; i++) {
              const again = step(state, t.now, policy, t.cost);
              expect(again.allowed).toBe(false);
              state = again.state;
            }
            expect(futureDecisions(policy, state, t.now, future)).toEqual(
              futureDecisions(policy, t.before, t.now, future),
            );
          }
        },
      ),
      { numRuns: runs.light },
    );
  });

  it('a zero-cost check leaves a state with the same future decisions', () => {
    fc.assert(
      fc.property(probe(algorithm), ({ scenario, future }) => {
        const { policy } = scenario;
        for (const t of run(scenario).slice(0, 6)) {
          const zero = step(t.after, t.now, policy, 0);
          expect(futureDecisions(policy, zero.state, t.now, future)).toEqual(
            futureDecisions(policy, t.after, t.now, future),
          );
        }
      }),
      { numRuns: runs.normal },
    );
  });
});
