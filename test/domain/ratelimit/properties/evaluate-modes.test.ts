// Property 10: observe mode never denies, and `evaluate` over several policies charges every
// enforce-mode policy or none of them (an observe-mode policy is charged whenever it alone admits).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { step, type WindowState } from '../../../../src/domain/ratelimit/algorithm.ts';
import { evaluate } from '../../../../src/domain/ratelimit/evaluate.ts';
import { capacityOf } from '../../../../src/domain/ratelimit/policy.ts';
import type { Policy, PolicyMode } from '../../../../src/domain/ratelimit/types.ts';
import { allAlgorithms, costArb, dtArb, maxSteps, policyArb, runs } from './model.ts';

interface Call {
  readonly dt: number;
  readonly cost: number;
  readonly charge: boolean;
}

function subjectArb(modes: fc.Arbitrary<PolicyMode>) {
  return fc
    .array(fc.record({ algorithm: fc.constantFrom(...allAlgorithms), mode: modes }), {
      minLength: 1,
      maxLength: 4,
    })
    .chain((specs) => fc.tuple(...specs.map((s) => policyArb(s.algorithm, s.mode))))
    .chain((policies: Policy[]) => {
      const windowMs = Math.min(...policies.map((p) => p.windowMs));
      const capacity = Math.max(...policies.map(capacityOf));
      const call: fc.Arbitrary<Call> = fc.record({
        dt: dtArb(windowMs, true),
        cost: costArb(capacity),
        charge: fc.oneof(
          { arbitrary: fc.constant(true), weight: 5 },
          { arbitrary: fc.constant(false), weight: 1 },
        ),
      });
      return fc.record({
        policies: fc.constant(policies),
        start: fc.integer({ min: 0, max: 20 * windowMs }),
        calls: fc.array(call, { maxLength: maxSteps, size: 'max' }),
      });
    });
}

/** Runs the calls through `evaluate`, writing changed states as a store does, checking each call. */
function drive(
  { policies, start, calls }: { policies: Policy[]; start: number; calls: Call[] },
  check: (ctx: {
    before: (WindowState | undefined)[];
    after: (WindowState | undefined)[];
    ev: ReturnType<typeof evaluate>;
    alone: ReturnType<typeof step>[];
    call: Call;
  }) => void,
) {
  let states: (WindowState | undefined)[] = policies.map(() => undefined);
  let now = start;
  for (const call of calls) {
    now = Math.max(0, now + call.dt);
    const ev = evaluate(states, now, policies, call.cost, call.charge);
    const alone = policies.map((p, i) => step(states[i], now, p, call.cost));
    const after = states.map((s, i) => (ev.charged[i] ? ev.steps[i]!.state : s));
    check({ before: states, after, ev, alone, call });
    states = after;
  }
}

describe('evaluate: modes and atomicity', () => {
  it('observe mode never denies, even when every observe policy is exceeded', () => {
    let exceeded = 0;
    fc.assert(
      fc.property(subjectArb(fc.constant('observe')), (subject) => {
        drive(subject, ({ ev, alone }) => {
          expect(ev.decision.allowed).toBe(true);
          expect(ev.decision.reason).toBe('ok');
          expect(ev.decision.retryAfterMs).toBe(0);
          expect(ev.decision.results).toEqual([]);
          expect(ev.decision.observed.map((r) => r.allowed)).toEqual(alone.map((a) => a.allowed));
          if (alone.some((a) => !a.allowed)) exceeded++;
        });
      }),
      { numRuns: runs.light },
    );
    expect(exceeded).toBeGreaterThan(runs.light);
  });

  it('charges all enforce policies or none; observe ones whenever they alone admit', () => {
    let denied = 0;
    let partial = 0;
    fc.assert(
      fc.property(subjectArb(fc.constantFrom('enforce', 'observe')), (subject) => {
        const { policies } = subject;
        drive(subject, ({ before, after, ev, alone, call }) => {
          const enforce = policies.flatMap((p, i) => (p.mode === 'enforce' ? [i] : []));
          const admits = enforce.every((i) => alone[i]!.allowed);
          expect(ev.decision.allowed).toBe(admits);
          if (!admits) denied++;
          if (!admits && enforce.some((i) => alone[i]!.allowed)) partial++;
          for (const i of enforce) {
            const charged = call.charge && admits;
            expect(ev.charged[i]).toBe(charged);
            // Compare states: all moved to what the step alone computes, or all left untouched.
            if (charged) expect(after[i]).toEqual(alone[i]!.state);
            else expect(after[i]).toBe(before[i]);
          }
          policies.forEach((p, i) => {
            if (p.mode !== 'observe') return;
            expect(ev.charged[i]).toBe(call.charge && alone[i]!.allowed);
            if (ev.charged[i]) expect(after[i]).toEqual(alone[i]!.state);
          });
          if (enforce.length === 0) expect(ev.decision.allowed).toBe(true);
          if (!admits) {
            const waits = enforce
              .filter((i) => !alone[i]!.allowed)
              .map((i) => alone[i]!.retryAfterMs);
            const never = waits.includes(-1);
            expect(ev.decision.reason).toBe(never ? 'cost_exceeds_limit' : 'limit');
            expect(ev.decision.retryAfterMs).toBe(never ? -1 : Math.max(...waits));
          }
        });
      }),
      { numRuns: runs.normal },
    );
    // Denials where some enforce policy admitted alone are the case atomicity is about.
    expect(denied).toBeGreaterThan(runs.normal);
    expect(partial).toBeGreaterThan(runs.normal / 10);
  });
});
