import { type Duration, durationOption } from '../../domain/config/duration.ts';
import { integerOption } from '../../domain/config/validate.ts';
import { refund as refundStep, step, type WindowState } from '../../domain/ratelimit/algorithm.ts';
import { validateCall } from '../../domain/ratelimit/arguments.ts';
import { StoreClosedError } from '../../domain/ratelimit/errors.ts';
import { evaluate } from '../../domain/ratelimit/evaluate.ts';
import { capacityOf } from '../../domain/ratelimit/policy.ts';
import type { StepResult } from '../../domain/ratelimit/step.ts';
import type { Decision, Policy } from '../../domain/ratelimit/types.ts';
import type { Clock } from '../../ports/clock.ts';
import type { WindowStore } from '../../ports/window-store.ts';
import { systemClock } from '../clock/system.ts';

/** Options of {@link createMemoryWindowStore}. */
export interface MemoryWindowStoreOptions {
  /** Time source; the system clock by default. */
  readonly clock?: Clock | undefined;
  /** Most subjects held at once: 1 to 100,000,000; 100,000 by default. */
  readonly maxKeys?: number | undefined;
  /** Subjects the incremental sweep inspects per write: 1 to 1,000; 1 by default. */
  readonly sweepBatch?: number | undefined;
  /**
   * How long the sweep keeps a subject whose state has emptied, so a client
   * below its rate (whose GCRA state empties between requests) keeps its slot
   * instead of being removed and re-inserted: 0 to 1 day; 10 s by default.
   * When the store is full, empty subjects go first regardless.
   */
  readonly idleMs?: Duration | undefined;
  /** Subjects sampled when full; the least used quarter of them is evicted: 1 to 1,000; 32 by default. */
  readonly evictionSample?: number | undefined;
}

/** A {@link WindowStore} in this process's memory, with a hard cap on subjects. */
export interface MemoryWindowStore extends WindowStore {
  /** Number of subjects held now (expired ones not yet swept included). */
  readonly size: number;
  /** Number of live subjects evicted because the store was full. */
  readonly evictions: number;
}

/** Everything held for one subject: a state per policy, kept in parallel arrays. */
interface Slot {
  /** The policy each state was written under (its name finds it, its algorithm must match). */
  policies: Policy[];
  /** The store's own records, overwritten in place. */
  states: (WindowState | undefined)[];
  /** False for a record kept only for reuse after its state emptied. */
  live: boolean[];
  /** When each state is empty, epoch ms: read at or after it, the state is gone (as in the pure model). */
  expires: number[];
  /** When every state of the slot is empty, epoch ms. */
  expiresAt: number;
}

/**
 * Creates an in-memory window store. State is kept per subject (one map
 * lookup per check, whatever the number of policies). There is no timer per
 * key: expired state reads as empty and an incremental sweep drops subjects
 * idle for `idleMs`. When the store is full it evicts, among a rotating
 * sample, the subjects holding the fewest units right now (computed
 * from its states at eviction time, so a spike that has drained counts for
 * nothing), and of those the one expiring soonest: a flood of fresh keys
 * pushes out other fresh keys, never a busy counter.
 */
export function createMemoryWindowStore(options: MemoryWindowStoreOptions = {}): MemoryWindowStore {
  const clock = options.clock ?? systemClock;
  const maxKeys = integerOption('maxKeys', options.maxKeys ?? 100_000, 1, 100_000_000);
  const sweepBatch = integerOption('sweepBatch', options.sweepBatch ?? 1, 1, 1000);
  const idleMs = durationOption('idleMs', options.idleMs ?? 10_000, 0, 86_400_000);
  const evictionSample = integerOption('evictionSample', options.evictionSample ?? 32, 1, 1000);
  const slots = new Map<string, Slot>();
  let cursor: MapIterator<[string, Slot]> = slots.entries();
  let closed = false;
  let evictions = 0;

  /** Next entry of the rotating cursor, restarting it at the end. */
  const nextEntry = (): [string, Slot] | undefined => {
    let item = cursor.next();
    if (item.done) {
      cursor = slots.entries();
      item = cursor.next();
    }
    return item.done ? undefined : item.value;
  };

  const sweep = (now: number) => {
    for (let i = 0; i < sweepBatch && slots.size > 0; i++) {
      const item = nextEntry();
      if (item !== undefined && item[1].expiresAt + idleMs <= now) slots.delete(item[0]);
    }
  };

  /**
   * Frees room when full: samples `evictionSample` subjects from the rotating
   * cursor and evicts the quarter of them holding the fewest units right now
   * (ties: soonest expiry); expired ones go first and are not counted as
   * evictions. Evicting a batch spreads the sampling cost over several inserts.
   */
  const makeRoom = (now: number) => {
    const sampled: { key: string; pressure: number; expiresAt: number }[] = [];
    for (let i = 0; i < evictionSample && slots.size > 0; i++) {
      const item = nextEntry();
      if (item === undefined) break;
      const [key, slot] = item;
      if (slot.expiresAt <= now) slots.delete(key);
      else sampled.push({ key, pressure: pressureOf(slot, now), expiresAt: slot.expiresAt });
    }
    const room = maxKeys - slots.size;
    const batch = Math.max(1, evictionSample >> 2) - room;
    if (batch <= 0) return;
    sampled.sort((x, y) => x.pressure - y.pressure || x.expiresAt - y.expiresAt);
    for (let i = 0; i < batch && i < sampled.length; i++) {
      slots.delete(sampled[i]!.key);
      evictions++;
    }
  };

  const put = (
    subject: string,
    slot: Slot | undefined,
    policy: Policy,
    change: StepResult<WindowState>,
    now: number,
  ): Slot | undefined => {
    const state = change.state;
    if (slot === undefined) {
      if (state === undefined || change.expiresAt <= now) return undefined;
      if (slots.size >= maxKeys) makeRoom(now);
      const created: Slot = {
        policies: [policy],
        states: [ownCopy(state)],
        live: [true],
        expires: [change.expiresAt],
        expiresAt: change.expiresAt,
      };
      slots.set(subject, created);
      return created;
    }
    const index = indexOf(slot, policy.name);
    if (index < 0) {
      slot.policies.push(policy);
      slot.states.push(ownCopy(state));
      slot.live.push(state !== undefined && change.expiresAt > now);
      slot.expires.push(change.expiresAt);
    } else {
      const sameShape = slot.policies[index]!.algorithm === policy.algorithm;
      slot.states[index] = sameShape ? overwrite(slot.states[index], state) : ownCopy(state);
      slot.policies[index] = policy;
      slot.live[index] = state !== undefined && change.expiresAt > now;
      slot.expires[index] = change.expiresAt;
    }
    if (change.expiresAt > slot.expiresAt) slot.expiresAt = change.expiresAt;
    return slot;
  };

  const run = (
    subject: string,
    policies: readonly Policy[],
    cost: number,
    charge: boolean,
  ): Decision => {
    if (closed) throw new StoreClosedError('memory window store');
    validateCall(subject, policies, cost);
    const now = clock.now();
    let slot = slots.get(subject);
    const states: (WindowState | undefined)[] = [];
    for (let i = 0; i < policies.length; i++) states.push(stateOf(slot, policies[i]!, now));
    const { decision, steps, charged } = evaluate(states, now, policies, cost, charge);
    for (let i = 0; i < steps.length; i++) {
      if (charged[i]) slot = put(subject, slot, policies[i]!, steps[i]!, now);
    }
    if (charge) sweep(now);
    return decision;
  };

  return {
    inProcess: true,
    check: async (subject, policies, cost) => run(subject, policies, cost, true),
    checkNow: (subject, policies, cost) => run(subject, policies, cost, true),
    peek: async (subject, policies, cost) => run(subject, policies, cost, false),
    async refund(subject, policies, cost) {
      if (closed) throw new StoreClosedError('memory window store');
      validateCall(subject, policies, cost);
      const now = clock.now();
      const slot = slots.get(subject);
      if (slot === undefined) return;
      for (const policy of policies) {
        if (policy.mode !== 'enforce') continue;
        const state = stateOf(slot, policy, now);
        if (state === undefined) continue;
        const index = indexOf(slot, policy.name);
        const refunded = refundStep(state, now, policy, cost);
        slot.states[index] = refunded === undefined ? state : overwrite(state, refunded);
        slot.live[index] = refunded !== undefined;
      }
    },
    async reset(subject, policies) {
      if (closed) throw new StoreClosedError('memory window store');
      validateCall(subject, policies, 0);
      const slot = slots.get(subject);
      if (slot === undefined) return;
      for (const policy of policies) {
        const index = indexOf(slot, policy.name);
        if (index >= 0) slot.live[index] = false;
      }
      if (!slot.live.includes(true)) slots.delete(subject);
    },
    async close() {
      closed = true;
      slots.clear();
      cursor = slots.entries();
    },
    get size() {
      return slots.size;
    },
    get evictions() {
      return evictions;
    },
  };
}

function indexOf(slot: Slot, name: string): number {
  const policies = slot.policies;
  for (let i = 0; i < policies.length; i++) if (policies[i]!.name === name) return i;
  return -1;
}

/**
 * The live state of `policy` in `slot` at `now`; a state past its own expiry,
 * or written by another algorithm under the same name, reads as none. Expiry
 * is per state, as in the pure model: reading one policy past its expiry must
 * not wipe another's, which a clock that steps back would find live again.
 */
function stateOf(slot: Slot | undefined, policy: Policy, now: number): WindowState | undefined {
  if (slot === undefined) return undefined;
  const index = indexOf(slot, policy.name);
  if (index < 0 || !slot.live[index] || slot.policies[index]!.algorithm !== policy.algorithm) {
    return undefined;
  }
  if (slot.expires[index]! <= now) {
    // Gone once read past its expiry, even if the clock later steps back: what the pure model does.
    slot.live[index] = false;
    return undefined;
  }
  return slot.states[index];
}

/**
 * What evicting the slot would forgive: the most units any of its states
 * holds at `now` (capacity minus remaining), -1 when all are empty. Measured
 * in units rather than shares, so a flood key that filled a 10-per-second
 * policy (10 units) ranks below a counter holding 900 of a daily 1,000.
 */
function pressureOf(slot: Slot, now: number): number {
  let highest = -1;
  for (let i = 0; i < slot.states.length; i++) {
    if (!slot.live[i]) continue;
    const policy = slot.policies[i]!;
    const used = capacityOf(policy) - step(slot.states[i], now, policy, 0).remaining;
    if (used > highest) highest = used;
  }
  return highest;
}

/** A copy of `state` the store owns and may overwrite later. */
function ownCopy(state: WindowState | undefined): WindowState | undefined {
  return state === undefined ? undefined : { ...state };
}

/**
 * Copies `next` into the store's own record `current` instead of keeping
 * `next`: with many subjects, replacing long-lived records with fresh objects
 * on every check promotes them all to the old generation and the collector
 * ends up dominating; overwriting fields in place keeps new objects short-lived.
 */
function overwrite(
  current: WindowState | undefined,
  next: WindowState | undefined,
): WindowState | undefined {
  if (next === undefined) return current;
  if (current === undefined) return ownCopy(next);
  if (current === next) return current;
  const target = current as unknown as Record<string, unknown>;
  const source = next as unknown as Record<string, unknown>;
  for (const field in source) target[field] = source[field];
  return current;
}
