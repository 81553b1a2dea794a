import { expect } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import type { TokenStore } from '../../../src/ports/token-store.ts';
import { uniqueUser } from '../../contracts/token-store/harness.ts';
import { codeOf, testManager } from './support.ts';

/**
 * Two app servers share `store`; B's clock runs 2 s behind A's. The user
 * logs in twice, A runs logoutAll, then B logs the user in twice more: B's
 * sessions count as created before the cut-off (docs/tokens.md), so only
 * the cut-off ends them. Every call that reports session state must say
 * they are ended, and logoutAll must count only sessions still live.
 */
export async function expectCutoffEndsSessions(store: TokenStore): Promise<void> {
  const clockA = createManualClock(1_700_000_000_000);
  const clockB = createManualClock(clockA.now() - 2000);
  const failure = { timeoutMs: 5000 };
  const { manager: a } = await testManager({ store, clock: clockA, failure });
  const { manager: b } = await testManager({ store, clock: clockB, failure });
  const user = uniqueUser('cutoff');

  await a.issue(user);
  await a.issue(user);
  clockA.advance(500);
  clockB.advance(500);
  expect(await a.logoutAll(user)).toBe(2);
  const lagging = [await b.issue(user), await b.issue(user), await b.issue(user)];
  clockA.advance(10);
  const fresh = await a.issue(user);
  clockA.advance(10);
  const now = clockA.now();

  // Verification and refresh already honoured the cut-off.
  expect(await codeOf(a.verify(lagging[0]!.accessToken))).toBe('token_revoked');
  // Listing leaves them out.
  expect((await a.listSessions(user)).map((s) => s.id)).toEqual([fresh.sessionId]);
  // The store's read says not live.
  expect(await store.getSession(user, lagging[0]!.sessionId, now)).toBeUndefined();
  expect(await store.getSession(user, fresh.sessionId, now)).toMatchObject({
    id: fresh.sessionId,
  });
  // Ending them again is what it is for a revoked session: false.
  expect(await a.logout(lagging[0]!.refreshToken)).toBe(false);
  expect(await a.revokeSession(user, lagging[1]!.sessionId)).toBe(false);
  expect(await a.revokeSession(user, lagging[1]!.sessionId)).toBe(false);
  // "Log out my other devices" finds no other live one.
  expect(await a.revokeOtherSessions(user, fresh.sessionId)).toBe(0);
  await a.verify(fresh.accessToken);
  // Another ended login, then a second logoutAll: only the fresh session was live.
  await b.issue(user);
  expect(await a.logoutAll(user)).toBe(1);
  expect(await a.logoutAll(user)).toBe(0);
  expect(await codeOf(a.verify(fresh.accessToken))).toBe('token_revoked');
  expect(await a.listSessions(user)).toEqual([]);
}
