import type { RotateOutcome, RotateRequest, SessionRecord } from '../../ports/token-store.ts';

/**
 * A session as a store keeps it: a live record, or the tombstone of a
 * family revoked for reuse (`reusedAt` set), kept until the session would
 * have expired so that every later presentation of the family still says
 * `reused`.
 */
export interface StoredSession extends SessionRecord {
  /** Set on a tombstone: when reuse was detected, epoch ms. */
  readonly reusedAt?: number | undefined;
}

/** What a store must do with its record after a rotation request. */
export type RotationStep =
  /** Replace the record with `record` (a rotation or a tombstone). */
  | { readonly write: 'replace'; readonly record: StoredSession; readonly outcome: RotateOutcome }
  /** Delete the record (it had expired, or the user's cut-off logged it out). */
  | { readonly write: 'delete'; readonly outcome: RotateOutcome }
  /** Leave it as it is. */
  | { readonly write: 'none'; readonly outcome: RotateOutcome };

const notFound: RotateOutcome = Object.freeze({ kind: 'not_found' });

/**
 * True when the user's cut-off (live at the caller's time, or undefined)
 * logs `record` out: a session created at or before it. `logoutAll` revokes
 * the sessions that exist when it runs; this also catches a login that read
 * its clock before the cut-off and stored its session after the revocation.
 */
export function loggedOutByCutoff(record: SessionRecord, userCutoff: number | undefined): boolean {
  return userCutoff !== undefined && record.createdAt <= userCutoff;
}

/**
 * The rotation rule every TokenStore implements (the Redis script is a
 * transliteration of it). `userCutoff` is the user's cut-off live at
 * `request.now`, read in the same atomic step:
 *
 * 1. No record, an expired one, or another family: `not_found`.
 * 2. A tombstone: `reused` again.
 * 3. A session created at or before the cut-off: `not_found`; the record
 *    is deleted (logged out everywhere).
 * 4. The current token: `rotated`; the successor's hash becomes current,
 *    the presented one previous; expiry moves to `expiresAt`, capped at
 *    creation plus `maxLifetimeMs`.
 * 5. The previous token, `graceMs` > 0 and the request less than `graceMs`
 *    from its rotation on either side (clocks of servers sharing the store
 *    disagree): `grace`.
 * 6. Any other token of the family: `reused`; the record becomes a tombstone.
 */
export function rotationStep(
  record: StoredSession | undefined,
  request: RotateRequest,
  userCutoff?: number,
): RotationStep {
  const { now } = request;
  if (record === undefined) return { write: 'none', outcome: notFound };
  if (record.expiresAt <= now) return { write: 'delete', outcome: notFound };
  if (record.familyHash !== request.familyHash) return { write: 'none', outcome: notFound };
  const reused: RotateOutcome = {
    kind: 'reused',
    sessionId: record.id,
    userId: record.userId,
  };
  if (record.reusedAt !== undefined) return { write: 'none', outcome: reused };
  if (loggedOutByCutoff(record, userCutoff)) return { write: 'delete', outcome: notFound };
  if (request.presentedHash === record.refreshHash) {
    const session: StoredSession = {
      ...record,
      refreshHash: request.nextHash,
      previousHash: request.presentedHash,
      rotatedAt: now,
      generation: record.generation + 1,
      lastUsedAt: now,
      expiresAt: Math.min(request.expiresAt, record.createdAt + request.maxLifetimeMs),
      lastIp: request.ip ?? record.lastIp,
    };
    return { write: 'replace', record: session, outcome: { kind: 'rotated', session } };
  }
  if (
    request.graceMs > 0 &&
    request.presentedHash === record.previousHash &&
    record.rotatedAt !== undefined &&
    // Both sides: a server whose clock is behind the rotating one's (or a clock stepped back)
    // sees `now` before `rotatedAt`, which must not read as "just rotated".
    Math.abs(now - record.rotatedAt) < request.graceMs
  ) {
    return { write: 'none', outcome: { kind: 'grace', session: record } };
  }
  const tombstone: StoredSession = {
    ...record,
    refreshHash: '',
    previousHash: undefined,
    reusedAt: now,
  };
  return { write: 'replace', record: tombstone, outcome: reused };
}

/**
 * True when `record` is a live session at `now`: not expired, not a
 * tombstone, and not logged out by `userCutoff` (the user's cut-off in
 * force at `now`, or undefined). Every store method that reports or counts
 * live sessions applies this one rule, so a session the cut-off ended reads
 * as ended everywhere, as it already does for verification and refresh.
 */
export function isLive(
  record: StoredSession | undefined,
  now: number,
  userCutoff?: number,
): record is StoredSession {
  return (
    record !== undefined &&
    record.reusedAt === undefined &&
    record.expiresAt > now &&
    !loggedOutByCutoff(record, userCutoff)
  );
}

/** The record without store-internal fields, as handed out. */
export function publicRecord(record: StoredSession): SessionRecord {
  const { reusedAt: _reusedAt, ...rest } = record;
  return rest;
}

/** Orders sessions newest first: by creation time, then id, both descending. */
export function newestFirst(a: SessionRecord, b: SessionRecord): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
