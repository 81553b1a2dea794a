// Property 5: every offered request gets exactly one verdict (admitted + rejected = offered), the
// verdict's fields agree with it, and at one instant the quota consumed equals the admitted cost.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capacityOf } from '../../../../src/domain/ratelimit/policy.ts';
import { allAlgorithms, costArb, policyArb, run, runs, scenarioArb } from './model.ts';

describe.each(allAlgorithms)('%s: admitted + rejected = offered', (algorithm) => {
  it('classifies every offer exactly once, count-wise and cost-wise', () => {
    fc.assert(
      fc.property(scenarioArb(algorithm, true), (scenario) => {
        const traces = run(scenario);
        const admitted = traces.filter((t) => t.result.allowed);
        const rejected = traces.filter((t) => !t.result.allowed);
        expect(admitted.length + rejected.length).toBe(scenario.offers.length);
        const units = (list: typeof traces) => list.reduce((sum, t) => sum + t.cost, 0);
        expect(units(admitted) + units(rejected)).toBe(
          scenario.offers.reduce((sum, o) => sum + o.cost, 0),
        );
        for (const t of admitted) expect(t.result.retryAfterMs).toBe(0);
        for (const t of rejected) {
          if (t.cost > capacityOf(scenario.policy)) expect(t.result.retryAfterMs).toBe(-1);
          else expect(t.result.retryAfterMs).toBeGreaterThan(0);
        }
      }),
      { numRuns: runs.normal },
    );
  });

  it('at a single instant, remaining = capacity − admitted units, and rejected ones count for nothing', () => {
    const scenario = policyArb(algorithm).chain((policy) =>
      fc.record({
        policy: fc.constant(policy),
        now: fc.nat(10_000_000),
        costs: fc.array(costArb(capacityOf(policy)), { maxLength: 60 }),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ policy, now, costs }) => {
        const capacity = capacityOf(policy);
        const traces = run({ policy, start: now, offers: costs.map((cost) => ({ dt: 0, cost })) });
        let used = 0;
        for (const t of traces) {
          expect(t.result.allowed).toBe(used + t.cost <= capacity);
          if (t.result.allowed) used += t.cost;
          expect(t.result.remaining).toBe(capacity - used);
        }
      }),
      { numRuns: runs.normal },
    );
  });
});
