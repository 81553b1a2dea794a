import { type Duration, durationOption } from '../../domain/config/duration.ts';
import { integerOption } from '../../domain/config/validate.ts';
import { refund as refundStep, type WindowState } from '../../domain/ratelimit/algorithm.ts';
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
  /** Subjects sampled to choose one to evict when full: 1 to 1,000; 16 by default. */
  readonly evictionSample?: number | undefined;
}

/** A {@link WindowStore} in this process's memory, with a hard cap on subjects. */
export interface MemoryWindowStore extends WindowStore {
  /** Number of subjects held now (expired ones not yet swept included). */
  readonly size: number;
  /** Number of live subjects evicted because the store was full. */
  readonly evictions: number;
}

/** Everything held for one subject: a state per policy name, kept in parallel arrays. */
interface Slot {
  names: string[];
  states: (WindowState | undefined)[];
  /** Share of capacity in use per policy after its last charge, 0..1; -1 marks an empty state. */
  pressures: number[];
  /** When every state of the slot is empty, epoch ms. */
  expiresAt: number;
  /** Largest of `pressures`: what eviction compares; -1 once emptied on expiry. */
  pressure: number;
}

/**
 * Creates an in-memory window store. State is kept per subject (one map
 * lookup per check, whatever the number of policies). There is no timer per
 * key: expired subjects are dropped when read and by a sweep that inspects a
 * few entries on every write. When the store is full it evicts, among a
 * rotating sample, the subject using the least of its capacity, and of those
 * the one expiring soonest, so a flood of fresh keys pushes out other fresh
 * keys, never a busy counter.
 */
export function createMemoryWindowStore(options: MemoryWindowStoreOptions = {}): MemoryWindowStore {
  const clock = options.clock ?? systemClock;
  const maxKeys = integerOption('maxKeys', options.maxKeys ?? 100_000, 1, 100_000_000);
  const sweepBatch = integerOption('sweepBatch', options.sweepBatch ?? 1, 1, 1000);
  const idleMs = durationOption('idleMs', options.idleMs ?? 10_000, 0, 86_400_000);
  const evictionSample = integerOption('evictionSample', options.evictionSample ?? 16, 1, 1000);
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

  const makeRoom = (now: number) => {
    let victim: [string, Slot] | undefined;
    let freed = false;
    for (let i = 0; i < evictionSample && slots.size > 0; i++) {
      const item = nextEntry();
      if (item === undefined) break;
      const [key, slot] = item;
      if (slot.expiresAt <= now) {
        slots.delete(key);
        freed = true;
      } else if (
        victim === undefined ||
        slot.pressure < victim[1].pressure ||
        (slot.pressure === victim[1].pressure && slot.expiresAt < victim[1].expiresAt)
      ) {
        victim = item;
      }
    }
    if (!freed && victim !== undefined) {
      slots.delete(victim[0]);
      evictions++;
    }
  };

  /**
   * The slot of `subject`, emptied when it has expired. An expired slot is
   * reused rather than deleted: a client below its rate empties its GCRA state
   * between requests, and re-inserting it each time would churn the map.
   */
  const liveSlot = (subject: string, now: number): Slot | undefined => {
    const slot = slots.get(subject);
    if (slot !== undefined && slot.expiresAt <= now && slot.pressure >= 0) {
      // Keep the records to overwrite later; a pressure of -1 marks each one empty.
      for (let i = 0; i < slot.pressures.length; i++) slot.pressures[i] = -1;
      slot.pressure = -1;
    }
    return slot;
  };

  const stateOf = (slot: Slot | undefined, name: string): WindowState | undefined => {
    if (slot === undefined) return undefined;
    const index = slot.names.indexOf(name);
    return index < 0 || slot.pressures[index]! < 0 ? undefined : slot.states[index];
  };

  /** Stores the new state of one policy; returns the subject's slot (created when needed). */
  const put = (
    subject: string,
    slot: Slot | undefined,
    policy: Policy,
    change: StepResult<WindowState>,
    now: number,
  ): Slot | undefined => {
    const name = policy.name;
    const capacity = capacityOf(policy);
    const pressure = (capacity - change.remaining) / capacity;
    if (slot === undefined) {
      if (change.state === undefined || change.expiresAt <= now) return undefined;
      if (slots.size >= maxKeys) makeRoom(now);
      const created: Slot = {
        names: [name],
        states: [ownCopy(change.state)],
        pressures: [pressure],
        expiresAt: change.expiresAt,
        pressure: pressure,
      };
      slots.set(subject, created);
      return created;
    }
    const index = slot.names.indexOf(name);
    if (index < 0) {
      slot.names.push(name);
      slot.states.push(ownCopy(change.state));
      slot.pressures.push(pressure);
    } else {
      slot.states[index] = overwrite(slot.states[index], change.state);
      slot.pressures[index] = pressure;
    }
    if (change.expiresAt > slot.expiresAt) slot.expiresAt = change.expiresAt;
    let highest = 0;
    for (let i = 0; i < slot.pressures.length; i++) {
      if (slot.pressures[i]! > highest) highest = slot.pressures[i]!;
    }
    slot.pressure = highest;
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
    let slot = liveSlot(subject, now);
    const states: (WindowState | undefined)[] = [];
    for (let i = 0; i < policies.length; i++) states.push(stateOf(slot, policies[i]!.name));
    const { decision, steps, charged } = evaluate(states, now, policies, cost, charge);
    for (let i = 0; i < steps.length; i++) {
      if (charged[i]) slot = put(subject, slot, policies[i]!, steps[i]!, now);
    }
    if (charge) sweep(now);
    return decision;
  };

  return {
    check: async (subject, policies, cost) => run(subject, policies, cost, true),
    peek: async (subject, policies, cost) => run(subject, policies, cost, false),
    async refund(subject, policies, cost) {
      if (closed) throw new StoreClosedError('memory window store');
      validateCall(subject, policies, cost);
      const now = clock.now();
      const slot = liveSlot(subject, now);
      if (slot === undefined) return;
      for (const policy of policies) {
        if (policy.mode !== 'enforce') continue;
        const index = slot.names.indexOf(policy.name);
        if (index >= 0 && slot.pressures[index]! >= 0) {
          slot.states[index] = refundStep(slot.states[index], now, policy, cost);
        }
      }
    },
    async reset(subject, policies) {
      if (closed) throw new StoreClosedError('memory window store');
      validateCall(subject, policies, 0);
      const slot = slots.get(subject);
      if (slot === undefined) return;
      for (const policy of policies) {
        const index = slot.names.indexOf(policy.name);
        if (index >= 0) slot.states[index] = undefined;
      }
      if (slot.states.every((state) => state === undefined)) slots.delete(subject);
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
  if (next === undefined) return undefined;
  if (current === undefined) return ownCopy(next);
  if (current === next) return current;
  const target = current as unknown as Record<string, unknown>;
  const source = next as unknown as Record<string, unknown>;
  for (const field in source) target[field] = source[field];
  return current;
}
