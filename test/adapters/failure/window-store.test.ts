import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import {
  type FailurePolicyStoreOptions,
  withFailurePolicy,
} from '../../../src/adapters/failure/window-store.ts';
import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import { StoreTimeoutError, StoreUnavailableError } from '../../../src/domain/failure/errors.ts';
import type { FailureEvent } from '../../../src/domain/failure/events.ts';
import type { FailureMode } from '../../../src/domain/failure/policy.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import type { WindowStore } from '../../../src/ports/window-store.ts';
import { createSwitchableStore, type SwitchableStore } from '../../support/switchable-store.ts';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  // Node reports unhandled rejections after the microtask queue drains; let it run once.
  await new Promise((resolve) => setImmediate(resolve));
  expect(unhandled.splice(0)).toEqual([]);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

const limit3 = definePolicy({ name: 'three', limit: 3, window: '1m' });
const timeoutMs = 50;
const cooldownMs = 5000;

function setup(
  policy: FailureMode,
  extra: Partial<FailurePolicyStoreOptions> = {},
  prepare: (primary: SwitchableStore) => void = () => {},
) {
  const clock = createManualClock(1_700_006_400_000);
  const primary = createSwitchableStore(clock);
  prepare(primary);
  const events: FailureEvent[] = [];
  const store = withFailurePolicy(primary, {
    policy,
    clock,
    timeoutMs,
    breaker: { failureThreshold: 3, cooldownMs },
    onEvent: (event) => events.push(event),
    ...(policy === 'fallback' ? { fallback: () => createMemoryWindowStore({ clock }) } : {}),
    ...extra,
  });
  return { clock, primary, store, events };
}

/** Makes a primary that an abort cannot stop, as Redis: it says so and ignores signals. */
function unstoppable(primary: SwitchableStore): void {
  primary.ignoreAbort = true;
  Object.assign(primary, { stopsOnAbort: false });
}

/** Lets pending promise callbacks run (no time passes on any clock). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function track<T>(promise: Promise<T>) {
  const state = { settled: false, value: undefined as T | undefined, error: undefined as unknown };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

describe('withFailurePolicy: healthy primary', () => {
  for (const policy of ['open', 'closed', 'fallback'] as const) {
    it(`${policy}: passes decisions through, undegraded, with a signal for the primary`, async () => {
      const { primary, store, events } = setup(policy);
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await store.check('a', [limit3], 1));
      expect(decisions.map((d) => [d.allowed, d.degraded])).toEqual([
        [true, false],
        [true, false],
        [true, false],
        [false, false],
      ]);
      expect(primary.calls.check).toBe(4);
      expect(primary.signals.every((s) => s instanceof AbortSignal && !s.aborted)).toBe(true);
      expect(store.state).toBe('closed');
      expect(events).toEqual([]);
    });
  }
});

describe('withFailurePolicy: failing primary', () => {
  it('open admits, marked degraded, with the policy limits', async () => {
    const { primary, store, events } = setup('open');
    primary.mode = 'fail';
    const decision = await store.check('a', [limit3], 1);
    expect(decision).toMatchObject({ allowed: true, degraded: true, limit: 3, remaining: 2 });
    expect(events.map((e) => e.type)).toEqual(['failure', 'degraded']);
    expect(events[0]).toMatchObject({ operation: 'check' });
    expect((events[0] as { error: unknown }).error).toBeInstanceOf(StoreUnavailableError);
    expect(events[1]).toMatchObject({ operation: 'check', policy: 'open', cause: 'failure' });
  });

  it('closed denies with store_unavailable; retry-after is at least 1 s, then the time to the probe', async () => {
    const { clock, primary, store } = setup('closed');
    primary.mode = 'fail';
    expect(await store.check('a', [limit3], 1)).toMatchObject({
      allowed: false,
      reason: 'store_unavailable',
      degraded: true,
      retryAfterMs: 1000,
    });
    await store.check('a', [limit3], 1);
    expect(await store.check('a', [limit3], 1)).toMatchObject({ retryAfterMs: cooldownMs });
    expect(store.state).toBe('open');
    clock.advance(1500);
    expect(await store.peek('a', [limit3], 1)).toMatchObject({
      allowed: false,
      reason: 'store_unavailable',
      retryAfterMs: cooldownMs - 1500,
    });
  });

  it('fallback applies memory limits during the outage, then returns to the primary', async () => {
    const { clock, primary, store, events } = setup('fallback');
    await store.check('a', [limit3], 2);
    primary.mode = 'fail';
    const outage = [];
    for (let i = 0; i < 5; i++) outage.push(await store.check('a', [limit3], 1));
    expect(outage.map((d) => [d.allowed, d.reason, d.degraded])).toEqual([
      [true, 'ok', true],
      [true, 'ok', true],
      [true, 'ok', true],
      [false, 'limit', true],
      [false, 'limit', true],
    ]);
    expect(await store.peek('a', [limit3], 1)).toMatchObject({ allowed: false, degraded: true });
    expect(primary.calls.check).toBe(4);
    primary.mode = 'ok';
    clock.advance(cooldownMs);
    // The probe: answered by the primary, which still holds its own count of 2.
    expect(await store.check('a', [limit3], 1)).toMatchObject({
      allowed: true,
      remaining: 0,
      degraded: false,
    });
    expect(store.state).toBe('closed');
    expect(events.filter((e) => e.type === 'state').map((e) => e.to)).toEqual([
      'open',
      'half-open',
      'closed',
    ]);
  });

  it('fallback uses the store it is given', async () => {
    const clock = createManualClock();
    const primary = createSwitchableStore(clock, 'fail');
    const fallback = createMemoryWindowStore({ clock });
    const store = withFailurePolicy(primary, { policy: 'fallback', clock, fallback });
    await store.check('a', [limit3], 3);
    expect(await fallback.peek('a', [limit3], 1)).toMatchObject({ allowed: false, remaining: 0 });
    await store.close();
    await expect(fallback.peek('a', [limit3], 1)).rejects.toMatchObject({ code: 'store_closed' });
  });
});

describe('withFailurePolicy: timeout', () => {
  it('fires at exactly timeoutMs of clock time and aborts the primary call', async () => {
    const { clock, primary, store, events } = setup('open');
    primary.mode = 'hang';
    const call = track(store.check('a', [limit3], 1));
    clock.advance(timeoutMs - 1);
    await flush();
    expect(call.settled).toBe(false);
    expect(primary.hanging).toBe(1);
    clock.advance(1);
    await flush();
    expect(call.settled).toBe(true);
    expect(call.value).toMatchObject({ allowed: true, degraded: true });
    const failure = events[0] as Extract<FailureEvent, { type: 'failure' }>;
    expect(failure.error).toBeInstanceOf(StoreTimeoutError);
    expect((failure.error as StoreTimeoutError).timeoutMs).toBe(timeoutMs);
    expect(failure.at).toBe(1_700_006_400_000 + timeoutMs);
    expect(primary.signals[0]!.aborted).toBe(true);
    expect(primary.signals[0]!.reason).toBe(failure.error);
    expect(primary.hanging).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('still times out each call timeoutMs after it started when the clock steps back', async () => {
    const { clock, primary, store } = setup('open');
    primary.mode = 'hang';
    const first = track(store.check('a', [limit3], 1));
    await flush();
    // An NTP correction: ten seconds back, with a call in flight.
    clock.set(clock.now() - 10_000);
    const second = track(store.check('b', [limit3], 1));
    clock.advance(timeoutMs);
    await flush();
    expect(first.settled).toBe(true);
    expect(second.settled).toBe(true);
    expect(second.value).toMatchObject({ allowed: true, degraded: true });
    expect(clock.pendingTimers).toBe(0);
  });

  it('gives a primary that an abort cannot stop no signal, and still answers at timeoutMs and on abort', async () => {
    const clock = createManualClock(1_700_006_400_000);
    const primary = createSwitchableStore(clock, 'hang');
    primary.ignoreAbort = true;
    Object.assign(primary, { stopsOnAbort: false });
    const store = withFailurePolicy(primary, { policy: 'closed', clock, timeoutMs });
    const caller = new AbortController();
    const calls = [
      track(store.check('a', [limit3], 1)),
      track(store.check('b', [limit3], 1, { signal: caller.signal })),
    ];
    const aborted = new AbortController();
    const abortedCall = track(store.check('c', [limit3], 1, { signal: aborted.signal }));
    await flush();
    expect(primary.signals).toEqual([undefined, undefined, undefined]);
    const reason = new Error('caller gave up');
    aborted.abort(reason);
    await flush();
    expect([abortedCall.settled, abortedCall.error]).toEqual([true, reason]);
    clock.advance(timeoutMs - 1);
    await flush();
    expect(calls.map((c) => c.settled)).toEqual([false, false]);
    clock.advance(1);
    await flush();
    for (const call of calls) expect(call.value).toMatchObject({ allowed: false, degraded: true });
    expect(caller.signal.aborted).toBe(false);
    expect(clock.pendingTimers).toBe(0);
    primary.failHung(); // the late answers are ignored
    await flush();
  });

  it('defaults to 100 ms', async () => {
    const clock = createManualClock();
    const primary = createSwitchableStore(clock, 'hang');
    const store = withFailurePolicy(primary, { policy: 'closed', clock });
    const call = track(store.check('a', [limit3], 1));
    clock.advance(99);
    await flush();
    expect(call.settled).toBe(false);
    clock.advance(1);
    await flush();
    expect(call.value).toMatchObject({ reason: 'store_unavailable' });
  });

  it('keeps one timer for all calls, not one per call, and it fires harmlessly', async () => {
    const { clock, store, events } = setup('open');
    for (let i = 0; i < 100; i++) await store.check(`a${i}`, [limit3], 1);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(timeoutMs);
    expect(clock.pendingTimers).toBe(0);
    expect(events).toEqual([]);
    expect(store.state).toBe('closed');
  });

  it('a call that times out and rejects later, ignoring the abort, is caught', async () => {
    const { clock, primary, store, events } = setup('closed');
    primary.mode = 'hang';
    primary.ignoreAbort = true;
    const calls = [1, 2].map(() => track(store.check('a', [limit3], 1)));
    clock.advance(timeoutMs);
    await flush();
    expect(calls.every((c) => c.settled)).toBe(true);
    expect(primary.hanging).toBe(2);
    primary.failHung();
    await flush();
    expect(primary.hanging).toBe(0);
    expect(events.filter((e) => e.type === 'failure')).toHaveLength(2);
  });
});

describe('withFailurePolicy: circuit breaker', () => {
  it('after threshold failures the primary is not called until the cooldown ends', async () => {
    const { clock, primary, store } = setup('open');
    primary.mode = 'fail';
    for (let i = 0; i < 3; i++) await store.check('a', [limit3], 1);
    expect(store.state).toBe('open');
    expect(primary.totalCalls).toBe(3);
    for (let i = 0; i < 20; i++) {
      expect(await store.check('a', [limit3], 1)).toMatchObject({ allowed: true, degraded: true });
    }
    await store.peek('a', [limit3], 1);
    await store.refund('a', [limit3], 1);
    await store.reset('a', [limit3]);
    expect(primary.totalCalls).toBe(3);
    clock.advance(cooldownMs - 1);
    await store.check('a', [limit3], 1);
    expect(primary.totalCalls).toBe(3);
  });

  it('a hanging store costs one timeout per breaker period, not one per request', async () => {
    const { clock, primary, store } = setup('closed');
    primary.mode = 'hang';
    for (let i = 0; i < 3; i++) {
      const call = store.check('a', [limit3], 1);
      clock.advance(timeoutMs);
      await call;
    }
    expect(store.state).toBe('open');
    // No clock time passes: every answer comes at once.
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => store.check('a', [limit3], 1)),
    );
    expect(answers.every((d) => d.reason === 'store_unavailable')).toBe(true);
    expect(primary.totalCalls).toBe(3);
    clock.advance(cooldownMs);
    const probe = track(store.check('a', [limit3], 1));
    const others = await Promise.all([
      store.check('b', [limit3], 1),
      store.check('c', [limit3], 1),
    ]);
    expect(others.map((d) => d.reason)).toEqual(['store_unavailable', 'store_unavailable']);
    expect(primary.totalCalls).toBe(4);
    expect(probe.settled).toBe(false);
    clock.advance(timeoutMs);
    await flush();
    expect(probe.settled).toBe(true);
    expect(store.state).toBe('open');
  });

  it('after the cooldown one probe goes through; its success closes the breaker', async () => {
    const { clock, primary, store } = setup('open');
    primary.mode = 'fail';
    for (let i = 0; i < 3; i++) await store.check('a', [limit3], 1);
    primary.mode = 'ok';
    clock.advance(cooldownMs);
    expect(store.state).toBe('half-open');
    const results = await Promise.all([
      store.check('a', [limit3], 1),
      store.check('b', [limit3], 1),
      store.check('c', [limit3], 1),
    ]);
    expect(results.map((d) => d.degraded)).toEqual([false, true, true]);
    expect(primary.calls.check).toBe(4);
    expect(store.state).toBe('closed');
    expect(await store.check('b', [limit3], 1)).toMatchObject({ degraded: false });
    expect(primary.calls.check).toBe(5);
  });

  it('emits events in order: failures, state changes, degraded answers', async () => {
    const { clock, primary, store, events } = setup('open');
    const at = clock.now();
    primary.mode = 'fail';
    for (let i = 0; i < 4; i++) await store.check('a', [limit3], 1);
    primary.mode = 'ok';
    clock.advance(cooldownMs);
    await store.check('a', [limit3], 1);
    expect(events.map((e) => (e.type === 'state' ? `${e.from}>${e.to}` : e.type))).toEqual([
      'failure',
      'degraded',
      'failure',
      'degraded',
      'failure',
      'closed>open',
      'degraded',
      'degraded',
      'open>half-open',
      'half-open>closed',
    ]);
    expect(events[5]).toEqual({ type: 'state', from: 'closed', to: 'open', at, shard: '' });
    expect(events[7]).toMatchObject({ cause: 'circuit_open' });
    expect(events[9]).toEqual({
      type: 'state',
      from: 'half-open',
      to: 'closed',
      at: at + cooldownMs,
      shard: '',
    });
  });

  it('on() adds and removes listeners; a throwing listener changes nothing', async () => {
    const { primary, store } = setup('open');
    const seen: string[] = [];
    const off = store.on((e) => seen.push(e.type));
    store.on(() => {
      throw new Error('listener bug');
    });
    primary.mode = 'fail';
    expect(await store.check('a', [limit3], 1)).toMatchObject({ allowed: true });
    off();
    await store.check('a', [limit3], 1);
    expect(seen).toEqual(['failure', 'degraded']);
  });
});

describe('withFailurePolicy: aborts and usage errors', () => {
  it("a caller's abort rejects with its reason and never trips the breaker", async () => {
    const { primary, store, events } = setup('closed');
    primary.mode = 'hang';
    for (let i = 0; i < 5; i++) {
      const controller = new AbortController();
      const call = store.check('a', [limit3], 1, { signal: controller.signal });
      const reason = new Error(`gave up ${i}`);
      controller.abort(reason);
      await expect(call).rejects.toBe(reason);
      expect(primary.signals[i]!.aborted).toBe(true);
    }
    expect(store.state).toBe('closed');
    expect(events).toEqual([]);
    expect(primary.hanging).toBe(0);
  });

  it('an already aborted signal rejects without calling the primary', async () => {
    const { primary, store } = setup('open');
    const reason = new Error('too late');
    await expect(store.check('a', [limit3], 1, { signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
    expect(primary.totalCalls).toBe(0);
  });

  it("a caller's abort of the probe lets the next call probe", async () => {
    const { clock, primary, store } = setup('open');
    primary.mode = 'fail';
    for (let i = 0; i < 3; i++) await store.check('a', [limit3], 1);
    clock.advance(cooldownMs);
    primary.mode = 'hang';
    const controller = new AbortController();
    const probe = store.check('a', [limit3], 1, { signal: controller.signal });
    controller.abort();
    await expect(probe).rejects.toMatchObject({ name: 'AbortError' });
    primary.mode = 'ok';
    expect(await store.check('a', [limit3], 1)).toMatchObject({ degraded: false });
    expect(store.state).toBe('closed');
  });

  it('bad arguments are typed errors in every state and never reach the primary', async () => {
    const { primary, store } = setup('open');
    primary.mode = 'fail';
    for (let i = 0; i < 3; i++) await store.check('a', [limit3], 1);
    const calls = primary.totalCalls;
    await expect(store.check('a', [limit3], -1)).rejects.toMatchObject({
      code: 'invalid_option',
      option: 'cost',
    });
    await expect(store.check('a', [], 1)).rejects.toBeInstanceOf(InvalidOptionError);
    expect(primary.totalCalls).toBe(calls);
  });

  it('a closed primary is a usage error: rethrown, not counted', async () => {
    const { primary, store, events } = setup('open');
    await primary.close();
    for (let i = 0; i < 4; i++) {
      await expect(store.check('a', [limit3], 1)).rejects.toMatchObject({ code: 'store_closed' });
    }
    expect(store.state).toBe('closed');
    expect(events).toEqual([]);
  });
});

describe('withFailurePolicy: a primary that an abort cannot stop (Redis) is answered as one that can', () => {
  /** Runs one scenario on a primary of each kind and returns what the caller saw, step by step. */
  async function transcript(policy: FailureMode, stopsOnAbort: boolean): Promise<unknown[]> {
    const { clock, primary, store, events } = setup(
      policy,
      {},
      stopsOnAbort ? undefined : unstoppable,
    );
    const seen: unknown[] = [];
    const start = clock.now();
    const times: number[] = [];
    store.on((event) => times.push(event.at - start));
    const answer = async (call: Promise<unknown>, advanceMs = 0) => {
      const tracked = track(call);
      await flush();
      if (advanceMs > 0) {
        clock.advance(advanceMs);
        await flush();
      }
      const value = tracked.value as
        | { allowed: boolean; remaining: number; degraded?: boolean }
        | undefined;
      seen.push({
        settled: tracked.settled,
        allowed: value?.allowed,
        remaining: value?.remaining,
        degraded: value?.degraded,
        error: (tracked.error as { code?: string } | undefined)?.code,
        events: events
          .splice(0)
          .map((e) =>
            e.type === 'state'
              ? `${e.from}>${e.to}`
              : e.type === 'degraded'
                ? `degraded:${e.cause}:${e.operation}`
                : `${e.type}:${e.operation}`,
          ),
        // When each event happened, from the scenario's start.
        times: times.splice(0),
        state: store.state,
      });
    };
    await answer(store.check('a', [limit3], 1));
    await answer(store.peek('a', [limit3], 1));
    primary.mode = 'fail';
    for (let i = 0; i < 4; i++) await answer(store.check('a', [limit3], 1));
    await answer(store.peek('a', [limit3], 1));
    clock.advance(cooldownMs);
    primary.mode = 'ok';
    await answer(store.check('a', [limit3], 1));
    primary.mode = 'hang';
    await answer(store.check('b', [limit3], 1), timeoutMs);
    primary.failHung(); // a late answer changes nothing
    // One step of the clock far past the deadline: the timeout is handled at the same time.
    await answer(store.check('c', [limit3], 1), timeoutMs + cooldownMs);
    primary.failHung();
    primary.mode = 'ok';
    await answer(store.check('b', [limit3], 1));
    await answer(store.check('b', [limit3], -1));
    await primary.close();
    await answer(store.check('a', [limit3], 1));
    await answer(store.peek('a', [limit3], 1));
    await store.close();
    return seen;
  }

  for (const policy of ['open', 'closed', 'fallback'] as const) {
    it(`${policy}: the same decisions, errors, events and breaker states at every step`, async () => {
      const abortable = await transcript(policy, true);
      const unstoppable = await transcript(policy, false);
      expect(unstoppable).toEqual(abortable);
      // The scenario reaches each case: failures, the open breaker, a timeout, usage errors.
      const events = abortable.flatMap((step) => (step as { events: string[] }).events);
      expect(events).toEqual(
        expect.arrayContaining([
          'failure:check',
          'degraded:failure:check',
          'closed>open',
          'degraded:circuit_open:check',
          'degraded:circuit_open:peek',
          'half-open>closed',
        ]),
      );
      expect(abortable.map((step) => (step as { error?: string }).error)).toEqual(
        expect.arrayContaining(['invalid_option', 'store_closed']),
      );
    });
  }
});

describe('withFailurePolicy: a throwing fallback factory at recovery', () => {
  for (const stopsOnAbort of [true, false]) {
    it(`rejects the probe that recovered, with the factory's error (${stopsOnAbort ? 'abortable' : 'unstoppable'} primary)`, async () => {
      let made = 0;
      const { clock, primary, store } = setup(
        'fallback',
        {
          fallback: () => {
            made++;
            if (made > 1) throw new Error('factory failed');
            return createMemoryWindowStore();
          },
        },
        stopsOnAbort ? undefined : unstoppable,
      );
      primary.mode = 'fail';
      for (let i = 0; i < 3; i++) await store.check('a', [limit3], 1);
      expect(store.state).toBe('open');
      clock.advance(cooldownMs);
      primary.mode = 'ok';
      await expect(store.check('a', [limit3], 1)).rejects.toThrow('factory failed');
      expect(store.state).toBe('closed');
    });
  }
});

describe('withFailurePolicy: refund and reset under failure', () => {
  for (const policy of ['open', 'closed'] as const) {
    it(`${policy}: refund and reset are dropped without an error`, async () => {
      const { primary, store, events } = setup(policy);
      primary.mode = 'fail';
      await expect(store.refund('a', [limit3], 1)).resolves.toBeUndefined();
      await expect(store.reset('a', [limit3])).resolves.toBeUndefined();
      expect(
        events
          .filter((e) => e.type === 'degraded')
          .map((e) => (e as { operation: string }).operation),
      ).toEqual(['refund', 'reset']);
    });
  }

  it('fallback: refund goes to the fallback store while the primary is down', async () => {
    const { primary, store } = setup('fallback');
    primary.mode = 'fail';
    await store.check('a', [limit3], 3);
    expect((await store.check('a', [limit3], 1)).allowed).toBe(false);
    await store.refund('a', [limit3], 2);
    expect(await store.check('a', [limit3], 2)).toMatchObject({ allowed: true, degraded: true });
  });

  it('fallback: reset clears the fallback store too, even while the primary is healthy', async () => {
    const { clock, primary, store } = setup('fallback');
    primary.mode = 'fail';
    for (let i = 0; i < 3; i++) await store.check('a', [limit3], 1);
    primary.mode = 'ok';
    clock.advance(cooldownMs);
    await store.check('a', [limit3], 1);
    expect(store.state).toBe('closed');
    await store.reset('a', [limit3]);
    primary.mode = 'fail';
    for (let i = 0; i < 3; i++) {
      expect(await store.check('a', [limit3], 1)).toMatchObject({ allowed: true, degraded: true });
    }
  });
});

describe('withFailurePolicy: options and lifecycle', () => {
  it('validates options, naming them', () => {
    const clock = createManualClock();
    const primary = createSwitchableStore(clock);
    const optionOf = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return (error as InvalidOptionError).option;
      }
    };
    expect(optionOf(() => withFailurePolicy(primary, { policy: 'open', timeoutMs: 0 }))).toBe(
      'failure.timeoutMs',
    );
    expect(
      optionOf(() => withFailurePolicy(primary, { policy: 'open', breaker: { cooldownMs: -5 } })),
    ).toBe('failure.breaker.cooldownMs');
    expect(
      optionOf(() =>
        withFailurePolicy(primary, {
          policy: 'closed',
          fallback: createMemoryWindowStore({ clock }),
          path: 'rateLimit.failure',
        }),
      ),
    ).toBe('rateLimit.failure.fallback');
    expect(optionOf(() => withFailurePolicy(primary, {}))).toBe('failure.policy');
    expect(optionOf(() => withFailurePolicy(primary, { policy: 'fallback' }))).toBe(
      'failure.fallback',
    );
    expect(optionOf(() => withFailurePolicy(null as never, { policy: 'open' }))).toBe('store');
  });

  it('exposes the validated policy', () => {
    const { store } = setup('fallback');
    expect(store.policy).toEqual({
      policy: 'fallback',
      timeoutMs,
      breaker: { failureThreshold: 3, cooldownMs },
    });
  });

  it('close() closes the primary, refuses later calls, and may be called twice', async () => {
    const { primary, store } = setup('open');
    await store.close();
    await store.close();
    await expect(primary.inner.check('a', [limit3], 1)).rejects.toMatchObject({
      code: 'store_closed',
    });
    await expect(store.check('a', [limit3], 1)).rejects.toMatchObject({ code: 'store_closed' });
    await expect(store.reset('a', [limit3])).rejects.toMatchObject({ code: 'store_closed' });
    expect(primary.totalCalls).toBe(0);
  });
});

describe('withFailurePolicy: shards and recovery', () => {
  const policies = [definePolicy({ name: 'sharded', limit: 2, window: '1h' })];

  /** A switchable store whose subjects starting with `b` live on a second shard that can fail alone. */
  function twoShards(clock: ReturnType<typeof createManualClock>) {
    const a = createSwitchableStore(clock);
    const b = createSwitchableStore(clock);
    const pick = (subject: string) => (subject.startsWith('b') ? b : a);
    const primary: WindowStore = {
      shardOf: (subject) => (subject.startsWith('b') ? 'node-b' : 'node-a'),
      check: (s, p, c, o) => pick(s).check(s, p, c, o),
      peek: (s, p, c, o) => pick(s).peek(s, p, c, o),
      refund: (s, p, c, o) => pick(s).refund(s, p, c, o),
      reset: (s, p, o) => pick(s).reset(s, p, o),
      close: async () => {
        await a.close();
        await b.close();
      },
    };
    return { a, b, primary };
  }

  it('keeps one breaker per shard: a dead node does not degrade subjects on a healthy one', async () => {
    const clock = createManualClock();
    const { b, primary } = twoShards(clock);
    const store = withFailurePolicy(primary, {
      policy: 'closed',
      clock,
      breaker: { failureThreshold: 2, cooldownMs: 1000 },
    });
    b.mode = 'fail';
    for (let i = 0; i < 3; i++) {
      expect(await store.check('b-user', policies, 1)).toMatchObject({
        reason: 'store_unavailable',
      });
    }
    expect(store.stateOf('b-user')).toBe('open');
    expect(store.state).toBe('open');
    expect(store.stateOf('a-user')).toBe('closed');
    expect(await store.check('a-user', policies, 1)).toMatchObject({
      allowed: true,
      degraded: false,
    });
    expect(b.calls.check).toBe(2);
  });

  it('forgets the breaker of a shard no subject maps to any more: recovered, with a fresh fallback', async () => {
    const clock = createManualClock();
    const inner = createSwitchableStore(clock);
    let node = 'node-a';
    // After a failover the subject's slot belongs to the promoted replica: a new shard, and the
    // old master serves no slot.
    const primary: WindowStore = {
      ...inner,
      shardOf: () => node,
      shardExists: (shard) => shard === node,
    };
    const store = withFailurePolicy(primary, {
      policy: 'fallback',
      clock,
      timeoutMs: 50,
      breaker: { failureThreshold: 1, cooldownMs: 1000 },
      fallback: () => createMemoryWindowStore({ clock }),
    });
    inner.mode = 'fail';
    await store.check('s', policies, 1);
    await store.check('s', policies, 1);
    expect(await store.check('s', policies, 1)).toMatchObject({ allowed: false, degraded: true });
    expect(store.state).toBe('open');
    node = 'node-b';
    inner.mode = 'ok';
    expect(await store.check('s', policies, 1)).toMatchObject({ allowed: true, degraded: false });
    // node-a's breaker would never be asked again: the store says node-a is gone, so it is forgotten.
    expect(store.state).toBe('closed');
    clock.advance(600_000);
    inner.mode = 'fail';
    // The next outage starts with an empty fallback, not the first outage's two charges.
    expect(await store.check('s', policies, 1)).toMatchObject({ allowed: true, degraded: true });
  });

  it('keeps the fallback counts of a shard that is still down, however long a client pauses', async () => {
    const clock = createManualClock();
    const inner = createSwitchableStore(clock, 'fail');
    const store = withFailurePolicy(inner, {
      policy: 'fallback',
      clock,
      timeoutMs: 50,
      breaker: { failureThreshold: 1, cooldownMs: 1000 },
      fallback: () => createMemoryWindowStore({ clock }),
    });
    const quarterHour = [definePolicy({ name: 'q', limit: 10, window: '15m' })];
    let admitted = 0;
    for (let burst = 0; burst < 4; burst++) {
      for (let i = 0; i < 10; i++) if ((await store.check('s', quarterHour, 1)).allowed) admitted++;
      clock.advance(10_000);
    }
    expect(admitted).toBe(10);
  });

  it('starts a fresh fallback store after every recovery when given a factory', async () => {
    const clock = createManualClock();
    const primary = createSwitchableStore(clock);
    let made = 0;
    const store = withFailurePolicy(primary, {
      policy: 'fallback',
      clock,
      breaker: { failureThreshold: 1, cooldownMs: 1000 },
      fallback: () => {
        made++;
        return createMemoryWindowStore({ clock });
      },
    });
    primary.mode = 'fail';
    await store.check('s', policies, 1);
    await store.check('s', policies, 1);
    expect(await store.check('s', policies, 1)).toMatchObject({ allowed: false, degraded: true });
    primary.mode = 'ok';
    clock.advance(1000);
    expect(await store.check('s', policies, 1)).toMatchObject({ allowed: true, degraded: false });
    expect(made).toBe(2);
    primary.mode = 'fail';
    clock.advance(1);
    // The second outage starts from zero: the first outage's two charges are gone.
    expect(await store.check('s', policies, 1)).toMatchObject({ allowed: true, degraded: true });
    expect(await store.check('s', policies, 1)).toMatchObject({ allowed: true, degraded: true });
  });
});
