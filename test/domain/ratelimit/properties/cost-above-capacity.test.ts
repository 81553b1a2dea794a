// Property 8: a cost above the capacity (limit; burst for gcra) is always rejected, with
// retryAfterMs −1, whatever the state and the time; through `evaluate`/`decide` the decision says
// `cost_exceeds_limit` whenever an enforce-mode policy cannot ever admit the cost.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { step } from '../../../../src/domain/ratelimit/algorithm.ts';
import { evaluate } from '../../../../src/domain/ratelimit/evaluate.ts';
import { capacityOf } from '../../../../src/domain/ratelimit/policy.ts';
import {
  allAlgorithms,
  futureDecisions,
  offersArb,
  policyArb,
  run,
  runs,
  scenarioArb,
} from './model.ts';

describe.each(allAlgorithms)('%s: a cost above capacity', (algorithm) => {
  it('is rejected with retryAfterMs −1 from any reachable state, and charges nothing', () => {
    const arb = scenarioArb(algorithm, true, 40).chain((scenario) =>
      fc.record({
        scenario: fc.constant(scenario),
        excess: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 1_000_000 })),
        future: offersArb(scenario.policy, true, 20),
      }),
    );
    fc.assert(
      fc.property(arb, ({ scenario, excess, future }) => {
        const { policy } = scenario;
        const cost = capacityOf(policy) + excess;
        for (const t of [undefined, ...run(scenario)]) {
          const now = t?.now ?? scenario.start;
          const r = step(t?.after, now, policy, cost);
          expect(r.allowed).toBe(false);
          expect(r.retryAfterMs).toBe(-1);
          expect(r.remaining).toBeGreaterThanOrEqual(0);
          expect(futureDecisions(policy, r.state, now, future)).toEqual(
            futureDecisions(policy, t?.after, now, future),
          );
        }
      }),
      { numRuns: runs.light },
    );
  });
});

describe('evaluate: a cost above an enforce policy capacity', () => {
  const policiesArb = fc
    .array(
      fc.record({
        algorithm: fc.constantFrom(...allAlgorithms),
        mode: fc.constantFrom('enforce' as const, 'observe' as const),
      }),
      { minLength: 1, maxLength: 4 },
    )
    .chain((specs) => fc.tuple(...specs.map((s) => policyArb(s.algorithm, s.mode))));

  it('denies with reason cost_exceeds_limit and retryAfterMs −1, charging no enforce policy', () => {
    fc.assert(
      fc.property(policiesArb, fc.nat(10_000_000), fc.nat(3), (policies, now, extra) => {
        const enforce = policies.filter((p) => p.mode === 'enforce');
        const smallest = Math.min(...policies.map(capacityOf));
        const cost = smallest + 1 + extra;
        const ev = evaluate(
          policies.map(() => undefined),
          now,
          policies,
          cost,
        );
        const exceeded = enforce.some((p) => capacityOf(p) < cost);
        if (exceeded) {
          expect(ev.decision.allowed).toBe(false);
          expect(ev.decision.reason).toBe('cost_exceeds_limit');
          expect(ev.decision.retryAfterMs).toBe(-1);
          const deciding = policies.find((p) => p.name === ev.decision.policy)!;
          expect(deciding.mode).toBe('enforce');
          expect(capacityOf(deciding)).toBeLessThan(cost);
          policies.forEach((p, i) => {
            if (p.mode === 'enforce') expect(ev.charged[i]).toBe(false);
          });
        } else {
          // Only observe policies are exceeded: they report it, the request is not denied for it.
          expect(ev.decision.reason).not.toBe('cost_exceeds_limit');
          expect(ev.decision.allowed).toBe(true);
        }
        ev.decision.observed.forEach((r) => {
          const p = policies.find((x) => x.name === r.policy)!;
          if (capacityOf(p) < cost) expect([r.allowed, r.retryAfterMs]).toEqual([false, -1]);
        });
      }),
      { numRuns: runs.normal },
    );
  });
});
