import { StoreTimeoutError } from '../../domain/failure/errors.ts';
import type { CallOptions } from '../../ports/call-options.ts';
import type { Clock } from '../../ports/clock.ts';

/** How a guarded call ended. */
export type GuardedOutcome<T> =
  /** The call resolved in time. */
  | { readonly kind: 'ok'; readonly value: T }
  /** The caller's signal aborted first: says nothing about the store. */
  | { readonly kind: 'aborted'; readonly reason: unknown }
  /** The call rejected, threw, or timed out (`StoreTimeoutError`). */
  | { readonly kind: 'error'; readonly error: unknown };

/**
 * Deadlines of calls made with one timeout on one clock. They fall due in the
 * order the calls started, so one timer for the oldest pending call serves
 * them all: no timer is created or cleared per call. Deadlines and callbacks
 * sit in parallel arrays addressed by a call's sequence number, so a settled
 * call leaves nothing behind for the collector to promote.
 */
class DeadlineQueue {
  private deadlines: number[] = [];
  private fires: ((() => void) | undefined)[] = [];
  private head = 0;
  private base = 0;
  private armed = false;
  private cancelTimer: () => void = () => {};
  private lastNow = Number.NEGATIVE_INFINITY;
  private readonly clock: Clock;
  private readonly timeoutMs: number;

  constructor(clock: Clock, timeoutMs: number) {
    this.clock = clock;
    this.timeoutMs = timeoutMs;
  }

  /**
   * The clock's time. When it stepped back (an NTP correction), the pending
   * deadlines move back with it and the timer is set again: each call still
   * times out `timeoutMs` after it started, not after the step is made up.
   */
  private now(): number {
    const now = this.clock.now();
    if (now < this.lastNow) {
      const step = now - this.lastNow;
      for (let i = this.head; i < this.deadlines.length; i++) this.deadlines[i]! += step;
      if (this.armed) {
        this.cancelTimer();
        this.armed = false;
        if (this.head < this.deadlines.length) this.arm(this.deadlines[this.head]!, now);
      }
    }
    this.lastNow = now;
    return now;
  }

  /** Schedules `fire` for now + timeout; returns the call's sequence number. */
  add(fire: () => void): number {
    const now = this.now();
    const deadline = now + this.timeoutMs;
    this.deadlines.push(deadline);
    this.fires.push(fire);
    if (!this.armed) this.arm(deadline, now);
    return this.base + this.fires.length - 1;
  }

  /** The call settled: its deadline no longer matters. */
  clear(sequence: number): void {
    const index = sequence - this.base;
    if (index >= this.head && index < this.fires.length) this.fires[index] = undefined;
  }

  private arm(deadline: number, now: number): void {
    this.armed = true;
    this.cancelTimer = this.clock.schedule(deadline - now, this.expire);
  }

  private readonly expire = (): void => {
    this.armed = false;
    const now = this.now();
    const { deadlines, fires } = this;
    while (this.head < fires.length) {
      const fire = fires[this.head];
      if (fire !== undefined && deadlines[this.head]! > now) break;
      fires[this.head] = undefined;
      this.head++;
      fire?.();
    }
    if (this.head === this.fires.length) {
      this.base += this.head;
      this.deadlines = [];
      this.fires = [];
      this.head = 0;
      return;
    }
    if (this.head > 1024) {
      this.base += this.head;
      this.deadlines = this.deadlines.slice(this.head);
      this.fires = this.fires.slice(this.head);
      this.head = 0;
    }
    this.arm(this.deadlines[this.head]!, now);
  };
}

const queues = new WeakMap<Clock, Map<number, DeadlineQueue>>();

function queueFor(clock: Clock, timeoutMs: number): DeadlineQueue {
  let byTimeout = queues.get(clock);
  if (byTimeout === undefined) {
    byTimeout = new Map();
    queues.set(clock, byTimeout);
  }
  let queue = byTimeout.get(timeoutMs);
  if (queue === undefined) {
    queue = new DeadlineQueue(clock, timeoutMs);
    byTimeout.set(timeoutMs, queue);
  }
  return queue;
}

/**
 * Runs `call` under `timeoutMs` of `clock` time and the caller's `signal`,
 * whichever ends first. With `abortsCall` the call gets a signal of its own
 * that aborts then (for a store that stops work on abort); without, it gets
 * no signal at all: the timeout and the caller's abort only stop the waiting,
 * which is all they could do.
 * Never rejects: the outcome says how it ended. A call that settles after
 * the outcome was decided is caught and ignored, so it cannot become an
 * unhandled rejection.
 */
export function callWithTimeout<T>(
  clock: Clock,
  timeoutMs: number,
  options: CallOptions | undefined,
  abortsCall: boolean,
  call: (options: CallOptions | undefined) => Promise<T>,
): Promise<GuardedOutcome<T>> {
  return new Promise((resolve) => {
    const signal = options?.signal;
    if (signal?.aborted) {
      resolve({ kind: 'aborted', reason: signal.reason });
      return;
    }
    const controller = abortsCall ? new AbortController() : undefined;
    let done = false;
    const finish = (outcome: GuardedOutcome<T>) => {
      if (done) return false;
      done = true;
      queue.clear(sequence);
      signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
      return true;
    };
    // Settle first, abort second: whatever the store does on abort must not race the outcome.
    const onAbort = () => {
      if (finish({ kind: 'aborted', reason: signal!.reason })) controller?.abort(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const queue = queueFor(clock, timeoutMs);
    const sequence = queue.add(() => {
      const error = new StoreTimeoutError(timeoutMs);
      if (finish({ kind: 'error', error })) controller?.abort(error);
    });
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(
        call(controller === undefined ? undefined : { signal: controller.signal }),
      );
    } catch (error) {
      finish({ kind: 'error', error });
      return;
    }
    pending.then(
      (value) => finish({ kind: 'ok', value }),
      (error: unknown) => finish({ kind: 'error', error }),
    );
  });
}

/**
 * {@link callWithTimeout} for a call that gets no signal, made by a caller
 * that has none: calls `settle` once, with how `pending` ended or with a
 * `StoreTimeoutError` at `timeoutMs` of `clock` time, whichever comes
 * first; a later settlement is ignored. No promise, controller or outcome
 * object of its own: this is the request path of a store that cannot stop
 * on abort (Redis).
 */
export function settleWithin<T>(
  clock: Clock,
  timeoutMs: number,
  pending: Promise<T>,
  settle: (ok: boolean, result: unknown) => void,
): void {
  let done = false;
  const queue = queueFor(clock, timeoutMs);
  const sequence = queue.add(() => {
    if (done) return;
    done = true;
    // A microtask later, as callWithTimeout's outcome reaches its caller: a clock advanced past
    // the deadline reads the same time on both paths.
    queueMicrotask(() => settle(false, new StoreTimeoutError(timeoutMs)));
  });
  pending.then(
    (value) => {
      if (done) return;
      done = true;
      queue.clear(sequence);
      settle(true, value);
    },
    (error: unknown) => {
      if (done) return;
      done = true;
      queue.clear(sequence);
      settle(false, error);
    },
  );
}
