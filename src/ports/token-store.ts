import type { CallOptions } from './call-options.ts';

/** A login session: one refresh-token family on one device. */
export interface SessionRecord {
  /** Session id, carried as `sid` in access tokens. */
  readonly id: string;
  /** The user the session belongs to (`sub`). */
  readonly userId: string;
  /** Hash of the current refresh token (never the token itself). */
  readonly refreshHash: string;
  /** Hash of the refresh token this one replaced, kept for the reuse grace period. */
  readonly previousHash?: string | undefined;
  /** When the previous refresh token was rotated away, epoch ms. */
  readonly rotatedAt?: number | undefined;
  /** Creation time, epoch ms. */
  readonly createdAt: number;
  /** Last time the session was refreshed, epoch ms. */
  readonly lastUsedAt: number;
  /** When the session's refresh token expires, epoch ms. */
  readonly expiresAt: number;
  /** Client IP at creation, when known. */
  readonly ip?: string | undefined;
  /** Client user agent at creation, when known. */
  readonly userAgent?: string | undefined;
}

/** Outcome of presenting a refresh-token hash for rotation. */
export type RotateOutcome =
  | { readonly kind: 'rotated'; readonly session: SessionRecord }
  | { readonly kind: 'grace'; readonly session: SessionRecord }
  | { readonly kind: 'reused'; readonly sessionId: string; readonly userId: string }
  | { readonly kind: 'not_found' };

/** Identifiers checked when an access token is verified, in one store call. */
export interface RevocationQuery {
  /** Token id (`jti`). */
  readonly jti: string;
  /** Session id (`sid`), when the token has one. */
  readonly sessionId?: string | undefined;
  /** User id (`sub`). */
  readonly userId: string;
}

/** What the store knows about a token's identifiers. */
export interface RevocationState {
  /** The `jti` is on the deny-list. */
  readonly jtiRevoked: boolean;
  /** The session is gone (revoked, logged out or expired). */
  readonly sessionRevoked: boolean;
  /** Tokens issued at or before this time (epoch ms) are invalid; undefined when unset. */
  readonly userCutoff?: number | undefined;
}

/**
 * Stores sessions, refresh-token hashes and revocations. Every method is
 * atomic on its own; rotation in particular must never hand out two successors
 * for one refresh token.
 */
export interface TokenStore {
  /** Stores a new session. */
  createSession(session: SessionRecord, options?: CallOptions): Promise<void>;
  /**
   * Replaces the session's refresh hash `presentedHash` with `nextHash`.
   * A hash that was already rotated away is `reused` (outside `graceMs`) and
   * the store deletes that session.
   */
  rotateRefresh(
    request: {
      readonly sessionId: string;
      readonly presentedHash: string;
      readonly nextHash: string;
      readonly now: number;
      readonly expiresAt: number;
      readonly graceMs: number;
    },
    options?: CallOptions,
  ): Promise<RotateOutcome>;
  /** Reads one session, or undefined when it does not exist. */
  getSession(sessionId: string, options?: CallOptions): Promise<SessionRecord | undefined>;
  /** Lists a user's live sessions, newest first. */
  listSessions(userId: string, now: number, options?: CallOptions): Promise<SessionRecord[]>;
  /** Deletes one session; returns whether it existed. */
  revokeSession(sessionId: string, options?: CallOptions): Promise<boolean>;
  /** Deletes every session of a user except `keepSessionId`; returns how many went. */
  revokeUserSessions(
    userId: string,
    keepSessionId?: string,
    options?: CallOptions,
  ): Promise<number>;
  /** Puts an access-token id on the deny-list until `expiresAt` (epoch ms). */
  denyJti(jti: string, expiresAt: number, options?: CallOptions): Promise<void>;
  /** Sets the user's cut-off: tokens issued at or before `at` are invalid. */
  setUserCutoff(userId: string, at: number, options?: CallOptions): Promise<void>;
  /** Reads every revocation that applies to one access token. */
  revocationState(query: RevocationQuery, options?: CallOptions): Promise<RevocationState>;
  /** Marks a single-use id as used; false when it was used already. */
  consumeOnce(id: string, expiresAt: number, options?: CallOptions): Promise<boolean>;
  /** Releases what the store holds. */
  close(): Promise<void>;
}
