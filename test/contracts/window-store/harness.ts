import type { ManualClock } from '../../../src/adapters/clock/manual.ts';
import type { WindowStore } from '../../../src/ports/window-store.ts';

/** A store under test, with whatever must be torn down after it. */
export interface WindowStoreHarness {
  /** The store; it must take its time from the manual clock it was created with. */
  readonly store: WindowStore;
  /** Releases what the factory started (clients, servers); the store itself is closed by the suite. */
  readonly close?: () => Promise<void>;
}

/** Builds a fresh store on a manual clock; called once per test. */
export type WindowStoreFactory = (clock: ManualClock) => Promise<WindowStoreHarness>;

let counter = 0;

/** A subject no other test uses, so tests can share a store backend. */
export function uniqueSubject(label = 's'): string {
  counter += 1;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
