import { afterEach, beforeEach } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/adapters/clock/manual.ts';
import type { SessionRecord, TokenStore } from '../../../src/ports/token-store.ts';

/** A store under test, with whatever must be torn down after it. */
export interface TokenStoreHarness {
  /** The store; every time it sees comes from the calls (the contract passes the clock's time). */
  readonly store: TokenStore;
  /** Releases what the factory started; the store itself is closed by the suite. */
  readonly close?: () => Promise<void>;
}

/** Builds a fresh store; called once per test. */
export type TokenStoreFactory = (clock: ManualClock) => Promise<TokenStoreHarness>;

/** Per-test store and clock. */
export interface TokenContractContext {
  store: TokenStore;
  clock: ManualClock;
}

/** Registers hooks that give every test of the calling describe block a fresh store. */
export function useTokenStore(create: TokenStoreFactory): TokenContractContext {
  const context = {} as TokenContractContext;
  let harness: TokenStoreHarness | undefined;
  beforeEach(async () => {
    context.clock = createManualClock(1_700_000_000_000);
    harness = await create(context.clock);
    context.store = harness.store;
  });
  afterEach(async () => {
    await harness?.store.close();
    await harness?.close?.();
    harness = undefined;
  });
  return context;
}

let counter = 0;

/** A user id no other test uses, so tests can share a backend. */
export function uniqueUser(label = 'u'): string {
  counter += 1;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** A session record for `userId` at `now`, lasting `ttlMs`. */
export function sessionAt(
  userId: string,
  now: number,
  overrides: Partial<SessionRecord> = {},
  ttlMs = 3_600_000,
): SessionRecord {
  counter += 1;
  return {
    id: `sid-${counter}`,
    userId,
    familyHash: `fam-${counter}`,
    refreshHash: `h0-${counter}`,
    generation: 0,
    createdAt: now,
    lastUsedAt: now,
    expiresAt: now + ttlMs,
    ...overrides,
  };
}

/** A rotation request presenting `presented` for `session`, with successor `next`. */
export function rotation(
  session: SessionRecord,
  presented: string,
  next: string,
  now: number,
  extra: {
    graceMs?: number;
    familyHash?: string;
    ttlMs?: number;
    maxLifetimeMs?: number;
    ip?: string;
  } = {},
) {
  return {
    userId: session.userId,
    sessionId: session.id,
    familyHash: extra.familyHash ?? session.familyHash,
    presentedHash: presented,
    nextHash: next,
    now,
    expiresAt: now + (extra.ttlMs ?? 3_600_000),
    maxLifetimeMs: extra.maxLifetimeMs ?? 86_400_000,
    graceMs: extra.graceMs ?? 0,
    ip: extra.ip,
  };
}
