import { integerOption } from '../../domain/config/validate.ts';
import { refund as refundStep, type WindowState } from '../../domain/ratelimit/algorithm.ts';
import { validateCall } from '../../domain/ratelimit/arguments.ts';
import { StoreClosedError } from '../../domain/ratelimit/errors.ts';
import { evaluate } from '../../domain/ratelimit/evaluate.ts';
import type { Decision, Policy } from '../../domain/ratelimit/types.ts';
import type { Clock } from '../../ports/clock.ts';
import type { WindowStore } from '../../ports/window-store.ts';
import { systemClock } from '../clock/system.ts';

/** Options of {@link createMemoryWindowStore}. */
export interface MemoryWindowStoreOptions {
  /** Time source; the system clock by default. */
  readonly clock?: Clock | undefined;
  /** Most (subject, policy) entries held at once: 1 to 100,000,000; 100,000 by default. */
  readonly maxKeys?: number | undefined;
  /** Entries the incremental sweep inspects per write: 1 to 1,000; 4 by default. */
  readonly sweepBatch?: number | undefined;
  /** Entries sampled to choose one to evict when full: 1 to 1,000; 16 by default. */
  readonly evictionSample?: number | undefined;
}

/** A {@link WindowStore} in this process's memory, with a hard cap on entries. */
export interface MemoryWindowStore extends WindowStore {
  /** Number of entries held now (expired ones not yet swept included). */
  readonly size: number;
  /** Number of live entries evicted because the store was full. */
  readonly evictions: number;
}

interface Entry {
  state: WindowState;
  expiresAt: number;
  pressure: number;
}

/**
 * Creates an in-memory window store. There is no timer per key: expired
 * entries are dropped when read and by a sweep that inspects a few entries on
 * every write. When the store is full it evicts, among a rotating sample, the
 * entry using the least of its capacity, and of those the one expiring
 * soonest, so a flood of fresh keys pushes out other fresh keys, never a busy
 * counter.
 */
export function createMemoryWindowStore(options: MemoryWindowStoreOptions = {}): MemoryWindowStore {
  const clock = options.clock ?? systemClock;
  const maxKeys = integerOption('maxKeys', options.maxKeys ?? 100_000, 1, 100_000_000);
  const sweepBatch = integerOption('sweepBatch', options.sweepBatch ?? 4, 1, 1000);
  const evictionSample = integerOption('evictionSample', options.evictionSample ?? 16, 1, 1000);
  const entries = new Map<string, Entry>();
  let cursor: MapIterator<[string, Entry]> = entries.entries();
  let closed = false;
  let evictions = 0;

  const keyOf = (subject: string, policy: Policy) => `${policy.name}\u0000${subject}`;

  /** Next entry of the rotating cursor, restarting it at the end. */
  const nextEntry = (): [string, Entry] | undefined => {
    let item = cursor.next();
    if (item.done) {
      cursor = entries.entries();
      item = cursor.next();
    }
    return item.done ? undefined : item.value;
  };

  const sweep = (now: number, budget: number) => {
    for (let i = 0; i < budget && entries.size > 0; i++) {
      const item = nextEntry();
      if (item !== undefined && item[1].expiresAt <= now) entries.delete(item[0]);
    }
  };

  const makeRoom = (now: number) => {
    let victim: [string, Entry] | undefined;
    let freed = false;
    for (let i = 0; i < evictionSample && entries.size > 0; i++) {
      const item = nextEntry();
      if (item === undefined) break;
      const [key, entry] = item;
      if (entry.expiresAt <= now) {
        entries.delete(key);
        freed = true;
      } else if (
        victim === undefined ||
        entry.pressure < victim[1].pressure ||
        (entry.pressure === victim[1].pressure && entry.expiresAt < victim[1].expiresAt)
      ) {
        victim = item;
      }
    }
    if (!freed && victim !== undefined) {
      entries.delete(victim[0]);
      evictions++;
    }
  };

  const read = (key: string, now: number): WindowState | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      entries.delete(key);
      return undefined;
    }
    return entry.state;
  };

  const write = (
    key: string,
    state: WindowState | undefined,
    expiresAt: number,
    pressure: number,
    now: number,
  ) => {
    if (state === undefined || expiresAt <= now) {
      entries.delete(key);
      return;
    }
    const entry = entries.get(key);
    if (entry !== undefined) {
      entry.state = state;
      entry.expiresAt = expiresAt;
      entry.pressure = pressure;
      return;
    }
    if (entries.size >= maxKeys) makeRoom(now);
    entries.set(key, { state, expiresAt, pressure });
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
    const keys = policies.map((policy) => keyOf(subject, policy));
    const states = keys.map((key) => read(key, now));
    const { decision, changes } = evaluate(states, now, policies, cost, charge);
    for (let i = 0; i < changes.length; i++) {
      const change = changes[i]!;
      if (change.changed) write(keys[i]!, change.state, change.expiresAt, change.pressure, now);
    }
    if (charge) sweep(now, sweepBatch);
    return decision;
  };

  return {
    check: async (subject, policies, cost) => run(subject, policies, cost, true),
    peek: async (subject, policies, cost) => run(subject, policies, cost, false),
    async refund(subject, policies, cost) {
      if (closed) throw new StoreClosedError('memory window store');
      validateCall(subject, policies, cost);
      const now = clock.now();
      for (const policy of policies) {
        if (policy.mode !== 'enforce') continue;
        const key = keyOf(subject, policy);
        const entry = entries.get(key);
        const state = refundStep(read(key, now), now, policy, cost);
        if (entry !== undefined) write(key, state, entry.expiresAt, entry.pressure, now);
      }
    },
    async reset(subject, policies) {
      if (closed) throw new StoreClosedError('memory window store');
      validateCall(subject, policies, 0);
      for (const policy of policies) entries.delete(keyOf(subject, policy));
    },
    async close() {
      closed = true;
      entries.clear();
      cursor = entries.entries();
    },
    get size() {
      return entries.size;
    },
    get evictions() {
      return evictions;
    },
  };
}
