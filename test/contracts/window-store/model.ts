import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/adapters/clock/manual.ts';
import { refund, type WindowState } from '../../../src/domain/ratelimit/algorithm.ts';
import { evaluate } from '../../../src/domain/ratelimit/evaluate.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import type { Algorithm, Decision, Policy } from '../../../src/domain/ratelimit/types.ts';
import type { Clock } from '../../../src/ports/clock.ts';
import type { WindowStore } from '../../../src/ports/window-store.ts';

/**
 * Model-based test of a WindowStore: random command sequences run on the pure
 * specification (`evaluate` and the refund functions over a map of lazily
 * expiring states) and on the store, which must give identical decisions at
 * every step.
 */

interface Entry {
  state: WindowState;
  expiresAt: number;
}

/** The specification as a store: `evaluate` plus lazily expiring states. */
class Model {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  private key(subject: string, policy: Policy) {
    return `${subject}\u0000${policy.name}`;
  }

  private read(key: string, now: number): WindowState | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.state;
  }

  run(subject: string, policies: readonly Policy[], cost: number, charge: boolean): Decision {
    const now = this.clock.now();
    const keys = policies.map((policy) => this.key(subject, policy));
    const states = keys.map((key) => this.read(key, now));
    const { decision, steps, charged } = evaluate(states, now, policies, cost, charge);
    for (let i = 0; i < keys.length; i++) {
      if (!charged[i]) continue;
      const { state, expiresAt } = steps[i]!;
      if (state === undefined || expiresAt <= now) this.entries.delete(keys[i]!);
      else this.entries.set(keys[i]!, { state, expiresAt });
    }
    return decision;
  }

  refund(subject: string, policies: readonly Policy[], cost: number): void {
    const now = this.clock.now();
    for (const policy of policies) {
      if (policy.mode !== 'enforce') continue;
      const key = this.key(subject, policy);
      const entry = this.entries.get(key);
      const state = refund(this.read(key, now), now, policy, cost);
      if (entry === undefined) continue;
      if (state === undefined || entry.expiresAt <= now) this.entries.delete(key);
      else this.entries.set(key, { state, expiresAt: entry.expiresAt });
    }
  }

  reset(subject: string, policies: readonly Policy[]): void {
    for (const policy of policies) this.entries.delete(this.key(subject, policy));
  }
}

const algorithms: Algorithm[] = ['gcra', 'fixed-window', 'sliding-window', 'sliding-log'];

const policySpecArb = fc
  .record({
    algorithm: fc.constantFrom(...algorithms),
    limit: fc.integer({ min: 1, max: 8 }),
    window: fc.oneof(
      fc.constantFrom(1, 3, 10, 100, 1000, 60_000),
      fc.integer({ min: 1, max: 5000 }),
    ),
    burstFactor: fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
    observe: fc.boolean(),
  })
  .map(({ algorithm, limit, window, burstFactor, observe }) => ({
    algorithm,
    limit,
    window,
    burst:
      algorithm === 'gcra' && burstFactor !== undefined
        ? Math.max(1, Math.floor((limit * burstFactor) / 100))
        : undefined,
    mode: observe ? ('observe' as const) : ('enforce' as const),
  }));

// Limits up to 1e9 and windows up to the 2^52 product bound: the Lua must stay
// integer-exact (fmod for %, %d for output) where doubles lose precision.
const largePolicySpecArb = fc
  .record({
    algorithm: fc.constantFrom(...algorithms),
    limit: fc.oneof(fc.integer({ min: 1, max: 1_000_000_000 }), fc.constantFrom(999_999_937, 3, 7)),
    windowShare: fc.double({ min: 0, max: 1, noNaN: true }),
    observe: fc.boolean(),
  })
  .map(({ algorithm, limit, windowShare, observe }) => {
    const maxWindow = Math.min(366 * 86_400_000, Math.floor(2 ** 52 / limit));
    return {
      algorithm,
      limit,
      window: Math.max(1, Math.floor(maxWindow * windowShare)),
      burst: undefined,
      mode: observe ? ('observe' as const) : ('enforce' as const),
    };
  });

const subjects = ['a', '{b}:c', 'ü\nd', '\ud800e'];

const commandArb = (poolSize: number, costArb: fc.Arbitrary<number>) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constantFrom('check', 'check', 'check', 'peek', 'refund', 'reset'),
        subject: fc.integer({ min: 0, max: subjects.length - 1 }),
        policies: fc.shuffledSubarray(
          Array.from({ length: poolSize }, (_, i) => i),
          { minLength: 1 },
        ),
        cost: costArb,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('advance' as const),
        ms: fc.oneof(
          fc.constantFrom(0, 1, 2),
          fc.integer({ min: 0, max: 300 }),
          fc.integer({ min: 0, max: 70_000 }),
          fc.integer({ min: 0, max: 40 * 86_400_000 }),
          fc.integer({ min: -2000, max: -1 }),
        ),
      }),
    },
  );

const scenarioArb = (specArb: typeof policySpecArb, costArb: fc.Arbitrary<number>) =>
  fc.array(specArb, { minLength: 1, maxLength: 4 }).chain((specs) =>
    fc.record({
      specs: fc.constant(specs),
      start: fc.oneof(
        fc.constant(1_700_006_400_000),
        fc.integer({ min: 1_700_000_000_000, max: 1_700_100_000_000 }),
      ),
      commands: fc.array(commandArb(specs.length, costArb), { minLength: 1, maxLength: 40 }),
    }),
  );

/**
 * Calls made together (not awaited one by one): a store may send them
 * together (the Redis store coalesces a turn's calls on a subject), and must
 * still decide each as if the calls had come one after another, in the order
 * they were made. Two policy lists, each one array used for every call, so
 * identical calls can be recognised as such.
 */
const togetherArb = fc.array(policySpecArb, { minLength: 1, maxLength: 3 }).chain((specs) =>
  fc.record({
    specs: fc.constant(specs),
    start: fc.integer({ min: 1_700_000_000_000, max: 1_700_100_000_000 }),
    rounds: fc.array(
      fc.record({
        calls: fc.array(
          fc.record({
            charge: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, fc.constant(false)),
            subject: fc.integer({ min: 0, max: 1 }),
            list: fc.integer({ min: 0, max: 1 }),
            cost: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, fc.constantFrom(0, 2)),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        advance: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 3000 })),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  }),
);

const smallScenarios = scenarioArb(
  policySpecArb,
  fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 12 })),
);
const largeScenarios = scenarioArb(
  largePolicySpecArb,
  fc.oneof(fc.integer({ min: 0, max: 1_000_000_000 }), fc.integer({ min: 0, max: 100 })),
);

/** Options of {@link windowStoreModelContract}. */
export interface ModelContractOptions {
  /**
   * Let the clock step backwards too. Only for stores whose expiry follows the
   * given clock (memory); a store whose keys expire on the server's own clock
   * keeps state the model has already dropped.
   */
  readonly backwards?: boolean;
  /** Runs of the small-numbers case; 150 by default. */
  readonly numRuns?: number;
}

/**
 * Registers the model-based test for one store. `create` receives a clock the
 * store must read its time from; it is called once, and runs salt subjects.
 */
export function windowStoreModelContract(
  name: string,
  create: (clock: Clock) => WindowStore | Promise<WindowStore>,
  options: ModelContractOptions = {},
): void {
  describe(`${name} against the pure model`, () => {
    // One store for all runs; each run gets a fresh clock (behind this
    // indirection) and subjects salted with the run number.
    let clock: ManualClock = createManualClock();
    const clockView: Clock = {
      now: () => clock.now(),
      schedule: (ms, cb) => clock.schedule(ms, cb),
    };
    let store: WindowStore;
    beforeAll(async () => {
      store = await create(clockView);
    });
    afterAll(() => store.close());

    let run = 0;
    const numRuns = options.numRuns ?? 150;
    const cases = [
      ['small limits and windows', smallScenarios, numRuns],
      [
        'limits up to 1e9 and windows up to the 2^52 bound',
        largeScenarios,
        Math.ceil(numRuns / 2.5),
      ],
    ] as const;
    it.each(cases)(
      'matches evaluate() at every step of random commands: %s',
      async (_, scenarios, runs) => {
        await fc.assert(
          fc.asyncProperty(scenarios, async ({ start, specs, commands }) => {
            run++;
            clock = createManualClock(start);
            const model = new Model(clockView);
            const pool = specs.map((spec, i) => definePolicy({ name: `p${i}`, ...spec }));
            for (const command of commands) {
              if (command.kind === 'advance') {
                if (command.ms >= 0) clock.advance(command.ms);
                else if (options.backwards) clock.set(clock.now() + command.ms);
                continue;
              }
              const subject = `${subjects[command.subject]}#${run}`;
              const policies = command.policies.map((i) => pool[i]!);
              const context = { command, now: clock.now() };
              switch (command.kind) {
                case 'check':
                case 'peek': {
                  const charge = command.kind === 'check';
                  const expected = model.run(subject, policies, command.cost, charge);
                  const actual = await (charge
                    ? store.check(subject, policies, command.cost)
                    : store.peek(subject, policies, command.cost));
                  expect({ ...context, decision: actual }).toEqual({
                    ...context,
                    decision: expected,
                  });
                  break;
                }
                case 'refund':
                  model.refund(subject, policies, command.cost);
                  await store.refund(subject, policies, command.cost);
                  break;
                case 'reset':
                  model.reset(subject, policies);
                  await store.reset(subject, policies);
                  break;
              }
            }
          }),
          { numRuns: runs },
        );
      },
    );

    it('matches evaluate() in call order when calls are made together', async () => {
      await fc.assert(
        fc.asyncProperty(togetherArb, async ({ start, specs, rounds }) => {
          run++;
          clock = createManualClock(start);
          const model = new Model(clockView);
          const pool = specs.map((spec, i) => definePolicy({ name: `p${i}`, ...spec }));
          const lists = [pool, [pool[0]!]];
          for (const round of rounds) {
            const expected: Decision[] = [];
            const pending: Promise<Decision>[] = [];
            for (const { charge, subject: index, list, cost } of round.calls) {
              const subject = `${subjects[index]}#${run}`;
              const policies = lists[list]!;
              expected.push(model.run(subject, policies, cost, charge));
              pending.push(
                charge ? store.check(subject, policies, cost) : store.peek(subject, policies, cost),
              );
            }
            const actual = await Promise.all(pending);
            expect({ now: clock.now(), calls: round.calls, decisions: actual }).toEqual({
              now: clock.now(),
              calls: round.calls,
              decisions: expected,
            });
            clock.advance(round.advance);
          }
        }),
        { numRuns: Math.ceil(numRuns / 2) },
      );
    });
  });
}
