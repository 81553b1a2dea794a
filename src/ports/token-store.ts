import type { CallOptions } from './call-options.ts';

/**
 * A login session: one refresh-token family on one device. Every record is
 * addressed by its user and its id together, so a store can keep all of a
 * user's records side by side (one Redis Cluster hash slot, one index range).
 */
export interface SessionRecord {
  /** Session id, carried as `sid` in access tokens. */
  readonly id: string;
  /** The user the session belongs to (`sub`). */
  readonly userId: string;
  /** Hash of the family secret every refresh token of this session carries; proves a token belongs here. */
  readonly familyHash: string;
  /** Hash of the current refresh token (never the token itself). */
  readonly refreshHash: string;
  /** Hash of the refresh token this one replaced, kept for the reuse grace period. */
  readonly previousHash?: string | undefined;
  /** When the previous refresh token was rotated away, epoch ms. */
  readonly rotatedAt?: number | undefined;
  /** Rotations so far (0 for a new session). */
  readonly generation: number;
  /** Creation time, epoch ms. */
  readonly createdAt: number;
  /** Last time the session was created or refreshed, epoch ms. */
  readonly lastUsedAt: number;
  /** When the session's current refresh token expires, epoch ms. */
  readonly expiresAt: number;
  /** Client IP at creation, when known. */
  readonly ip?: string | undefined;
  /** Client user agent at creation, when known. */
  readonly userAgent?: string | undefined;
  /** Client IP of the last refresh, when known. */
  readonly lastIp?: string | undefined;
  /** Opaque text the session manager keeps with the session (the claims it re-issues on refresh). */
  readonly data?: string | undefined;
}

/** A rotation request: the presented refresh token's hashes and its successor's. */
export interface RotateRequest {
  /** The session's user. */
  readonly userId: string;
  /** The session id. */
  readonly sessionId: string;
  /** Family hash of the presented token; must equal the session's for anything to happen. */
  readonly familyHash: string;
  /** Hash of the presented refresh token. */
  readonly presentedHash: string;
  /** Hash of the successor token, stored when the presented one is current. */
  readonly nextHash: string;
  /** Clock time of the request, epoch ms. */
  readonly now: number;
  /** Expiry of the successor, epoch ms; capped at the session's creation plus `maxLifetimeMs`. */
  readonly expiresAt: number;
  /** Absolute session lifetime from its creation, ms. */
  readonly maxLifetimeMs: number;
  /**
   * How far from a rotation, before or after (clocks of servers sharing the
   * store disagree), the replaced token still answers `grace`, ms (0: never).
   */
  readonly graceMs: number;
  /** Client IP of this refresh, when known. */
  readonly ip?: string | undefined;
}

/**
 * Outcome of presenting a refresh token, decided atomically by the store
 * (the rule: src/domain/tokens/rotation.ts, `rotationStep`):
 *
 * - `rotated`: it was the current token of a live session; the successor
 *   replaced it (`session` is the record after the change).
 * - `grace`: it is the token replaced less than `graceMs` from its rotation
 *   (either side), `graceMs` > 0; nothing changed
 *   (`session` is the record as it stands, whose `refreshHash` is the successor's).
 * - `reused`: it belongs to the session's family but is neither; the session
 *   is revoked, and the family answers `reused` until the session would have expired.
 * - `not_found`: no live session of that user and id with that family.
 */
export type RotateOutcome =
  | { readonly kind: 'rotated'; readonly session: SessionRecord }
  | { readonly kind: 'grace'; readonly session: SessionRecord }
  | { readonly kind: 'reused'; readonly sessionId: string; readonly userId: string }
  | { readonly kind: 'not_found' };

/** Identifiers checked when a token is verified, in one store call. */
export interface RevocationQuery {
  /** User id (`sub`). */
  readonly userId: string;
  /** Token id (`jti`). */
  readonly jti: string;
  /** Session id (`sid`), when the token belongs to a session. */
  readonly sessionId?: string | undefined;
  /** Clock time of the check, epoch ms. */
  readonly now: number;
}

/** What the store knows about a token's identifiers. */
export interface RevocationState {
  /** The `jti` is on the deny-list. */
  readonly jtiRevoked: boolean;
  /**
   * The session was asked about and is not live: revoked, logged out (also
   * by a user cut-off at or after its creation), reused or expired.
   */
  readonly sessionRevoked: boolean;
  /** Tokens issued at or before this time (epoch ms) are invalid; undefined when unset. */
  readonly userCutoff?: number | undefined;
}

/**
 * Stores sessions, refresh-token hashes and revocations. Every method is
 * atomic on its own; rotation in particular never hands out two successors
 * for one refresh token. Times are the caller's clock (epoch ms), passed in,
 * so that every store answers alike under a manual clock; entries whose
 * expiry has passed are treated as absent whether or not they are gone yet.
 */
export interface TokenStore {
  /**
   * True when the store lives in this process and cannot fail or stall for
   * I/O reasons: failure policies (timeouts, breakers) pass its calls
   * straight through.
   */
  readonly inProcess?: boolean | undefined;
  /** Stores a new session (a session id is never reused). */
  createSession(session: SessionRecord, options?: CallOptions): Promise<void>;
  /** Decides a presented refresh token; see {@link RotateOutcome}. */
  rotateRefresh(request: RotateRequest, options?: CallOptions): Promise<RotateOutcome>;
  /**
   * Reads one live session, or undefined: an expired, revoked or reused one,
   * or one created at or before the user's cut-off in force at `now`, is not live.
   */
  getSession(
    userId: string,
    sessionId: string,
    now: number,
    options?: CallOptions,
  ): Promise<SessionRecord | undefined>;
  /** Lists a user's live sessions (none created at or before a live cut-off), newest first (by creation time, then id). */
  listSessions(userId: string, now: number, options?: CallOptions): Promise<SessionRecord[]>;
  /**
   * Revokes one session; returns whether it was live (as {@link getSession}
   * means it: one the user's cut-off logged out is removed and answers false).
   */
  revokeSession(
    userId: string,
    sessionId: string,
    now: number,
    options?: CallOptions,
  ): Promise<boolean>;
  /**
   * Revokes every session of a user except `keepSessionId` (tombstones stay);
   * returns how many of them were live (as {@link getSession} means it: none
   * the user's cut-off in force at `now` logged out).
   */
  revokeUserSessions(
    userId: string,
    keepSessionId: string | undefined,
    now: number,
    options?: CallOptions,
  ): Promise<number>;
  /** Puts an access-token id of `userId` on the deny-list until `expiresAt`. */
  denyJti(
    userId: string,
    jti: string,
    expiresAt: number,
    now: number,
    options?: CallOptions,
  ): Promise<void>;
  /**
   * Sets the user's cut-off: tokens issued, and sessions created, at or
   * before `at` are invalid. A
   * cut-off never moves back; it is kept until `expiresAt` (when every token
   * it could apply to has expired anyway).
   */
  setUserCutoff(
    userId: string,
    at: number,
    expiresAt: number,
    now: number,
    options?: CallOptions,
  ): Promise<void>;
  /** Reads every revocation that applies to one token. */
  revocationState(query: RevocationQuery, options?: CallOptions): Promise<RevocationState>;
  /**
   * In-process stores may also answer {@link revocationState} synchronously,
   * which spares verification a promise on the hot path. Same answer, same errors.
   */
  revocationStateSync?(query: RevocationQuery): RevocationState;
  /** Marks a single-use token id of `userId` as used; false when it was used already. */
  consumeOnce(
    userId: string,
    id: string,
    expiresAt: number,
    now: number,
    options?: CallOptions,
  ): Promise<boolean>;
  /** Deletes what expired before `now` where the backend does not expire entries by itself; returns how many went. */
  purgeExpired(now: number, options?: CallOptions): Promise<number>;
  /** Releases what the store holds; later calls reject with `store_closed`. */
  close(): Promise<void>;
}
