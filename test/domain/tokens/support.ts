import { expect } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/adapters/clock/manual.ts';
import { systemClock } from '../../../src/adapters/clock/system.ts';
import { createMemoryTokenStore } from '../../../src/adapters/memory/token-store.ts';
import { isLockWatchError } from '../../../src/domain/errors.ts';
import {
  type GeneratedKey,
  generateSigningKey,
  type TokenAlgorithm,
} from '../../../src/domain/tokens/keys.ts';
import type { SessionManager } from '../../../src/domain/tokens/types.ts';
import type { TokenStore } from '../../../src/ports/token-store.ts';
import { createSessionManager, type SessionManagerOptions } from '../../../src/sessions.ts';

const keys = new Map<string, Promise<GeneratedKey>>();

/** A generated key per algorithm and label, made once per test file (RSA keys take a while). */
export function testKey(alg: TokenAlgorithm = 'ES256', label = 'a'): Promise<GeneratedKey> {
  const id = `${alg}/${label}`;
  let key = keys.get(id);
  if (key === undefined) {
    key = generateSigningKey(alg);
    keys.set(id, key);
  }
  return key;
}

/** A master secret for tests. */
export const testSecret = 'test-master-secret-0123456789-abcdefghij';

/** A session manager, its clock and its store. */
export interface TestManager {
  readonly manager: SessionManager;
  readonly clock: ManualClock;
  readonly store: TokenStore;
}

/** A session manager on a manual clock (or, with `systemClock`, the wall clock: for real timeouts) and a memory store, issuer `https://auth.test`, audience `api`. */
export async function testManager(
  options: Partial<SessionManagerOptions> & { alg?: TokenAlgorithm; systemClock?: boolean } = {},
): Promise<TestManager> {
  const clock = options.systemClock
    ? (systemClock as ManualClock)
    : options.clock
      ? (options.clock as ManualClock)
      : createManualClock(1_700_000_000_000);
  const store = options.store ?? createMemoryTokenStore();
  const { alg, systemClock: _system, ...rest } = options;
  const manager = await createSessionManager({
    issuer: 'https://auth.test',
    audience: 'api',
    keys: [await testKey(alg ?? 'ES256')],
    secret: testSecret,
    ...rest,
    clock,
    store,
  });
  return { manager, clock, store };
}

/** The error code a promise rejects with ('resolved' when it does not). */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isLockWatchError(error) ? error.code : `not a LockWatch error: ${String(error)}`;
  }
  return 'resolved';
}

/** The error a promise rejects with. */
export async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Base64url of a string's UTF-8. */
export function b64(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** The payload of a compact JWT, decoded without checks. */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

/**
 * After a refresh of `token` timed out and the store applied its rotation
 * anyway: the client's retry gets that rotation's pair (one rotation in
 * all), the next refresh works, and a true replay of `token` still ends the
 * session.
 */
export async function expectRetryKeepsSession(
  manager: SessionManager,
  userId: string,
  token: string,
): Promise<void> {
  const retry = await manager.refresh(token);
  await manager.verify(retry.accessToken);
  expect((await manager.listSessions(userId))[0]?.generation).toBe(1);
  const next = await manager.refresh(retry.refreshToken);
  await manager.verify(next.accessToken);
  expect(await codeOf(manager.refresh(token))).toBe('refresh_reused');
  expect(await codeOf(manager.verify(next.accessToken))).toBe('token_revoked');
}
