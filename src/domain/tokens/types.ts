import type { CallOptions } from '../../ports/call-options.ts';
import type { JsonWebKeySet, KeyRing } from './keys.ts';

/** Claims of a verified access token (RFC 9068 profile), custom claims included. */
export interface AccessTokenClaims {
  /** Issuer. */
  readonly iss: string;
  /** Subject: the user id. */
  readonly sub: string;
  /** Audience. */
  readonly aud: string | readonly string[];
  /** OAuth client the token was issued to. */
  readonly client_id: string;
  /** Issued at, NumericDate seconds. */
  readonly iat: number;
  /** Not before, NumericDate seconds. */
  readonly nbf?: number | undefined;
  /** Expiry, NumericDate seconds. */
  readonly exp: number;
  /** Token id: what `revokeAccessToken` deny-lists. */
  readonly jti: string;
  /** Session id. */
  readonly sid: string;
  /** Space-separated scopes, when given at issue. */
  readonly scope?: string | undefined;
  /** Roles, when given at issue. */
  readonly roles?: readonly string[] | undefined;
  /** Custom claims. */
  readonly [claim: string]: unknown;
}

/** Claims of a verified purpose token. */
export interface PurposeTokenClaims {
  /** Issuer. */
  readonly iss: string;
  /** Subject: the user id. */
  readonly sub: string;
  /** Audience. */
  readonly aud: string | readonly string[];
  /** The purpose, such as `password_reset`. */
  readonly pur: string;
  /** Issued at, NumericDate seconds. */
  readonly iat: number;
  /** Not before, NumericDate seconds. */
  readonly nbf?: number | undefined;
  /** Expiry, NumericDate seconds. */
  readonly exp: number;
  /** Token id. */
  readonly jti: string;
  /** Custom claims (such as the new address of an email change). */
  readonly [claim: string]: unknown;
}

/** A token that passed every check. */
export interface VerifiedToken<C> {
  /** Its claims. */
  readonly claims: C;
  /** The key that verified it. */
  readonly kid: string;
  /** Its algorithm. */
  readonly alg: string;
  /**
   * True when the store could not be asked and the `open` failure policy let
   * the token through without the revocation check.
   */
  readonly degraded: boolean;
}

/**
 * A custom check of a token's claims, run after every built-in check and
 * before the revocation lookup. Returning `false` or throwing rejects the
 * token as `token_invalid`.
 */
export type ClaimValidator = (
  claims: Readonly<Record<string, unknown>>,
  kind: 'access' | `purpose:${string}`,
) => boolean | undefined | Promise<boolean | undefined>;

/** An access token and the refresh token that renews it. */
export interface TokenPair {
  /** Always `Bearer`. */
  readonly tokenType: 'Bearer';
  /** The access token (a JWT). */
  readonly accessToken: string;
  /** The refresh token (opaque). */
  readonly refreshToken: string;
  /** Seconds until the access token expires (OAuth `expires_in`). */
  readonly expiresIn: number;
  /** When the access token expires, epoch ms. */
  readonly accessExpiresAt: number;
  /** When the refresh token expires, epoch ms. */
  readonly refreshExpiresAt: number;
  /** The session. */
  readonly sessionId: string;
  /** The user. */
  readonly userId: string;
}

/** Options of {@link SessionManager.issue}. */
export interface IssueOptions extends CallOptions {
  /** Custom claims; reserved names (iss, sub, aud, exp, sid, scope, roles, ...) are refused. */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
  /** OAuth scopes: a space-separated string or an array. */
  readonly scope?: string | readonly string[] | undefined;
  /** Roles. */
  readonly roles?: readonly string[] | undefined;
  /** `client_id`; the manager's `clientId` by default. */
  readonly clientId?: string | undefined;
  /** Audience; the first configured audience by default (must be one of them). */
  readonly audience?: string | undefined;
  /** Client IP, kept with the session. */
  readonly ip?: string | undefined;
  /** Client user agent, kept with the session. */
  readonly userAgent?: string | undefined;
}

/** Options of {@link SessionManager.refresh}. */
export interface RefreshOptions extends CallOptions {
  /** Client IP of this refresh, kept as the session's last IP. */
  readonly ip?: string | undefined;
}

/** Options of {@link SessionManager.verify}. */
export interface VerifyOptions extends CallOptions {
  /** Scopes the token must all grant; `insufficient_scope` otherwise. */
  readonly scope?: string | readonly string[] | undefined;
  /** One more claim check for this call. */
  readonly validate?: ClaimValidator | undefined;
}

/** Options of {@link SessionManager.issuePurposeToken}. */
export interface PurposeIssueOptions extends CallOptions {
  /** Lifetime; the purpose's by default (at most 30 days, whatever the purpose's; `logoutAll` covers it). */
  readonly ttl?: number | string | undefined;
  /** Custom claims (reserved names refused). */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
}

/** Options of {@link SessionManager.verifyPurposeToken}. */
export interface PurposeVerifyOptions extends CallOptions {
  /** For a single-use purpose: mark the token used (default true); false only looks. */
  readonly consume?: boolean | undefined;
  /** One more claim check for this call. */
  readonly validate?: ClaimValidator | undefined;
}

/** A purpose token just issued. */
export interface IssuedPurposeToken {
  /** The token. */
  readonly token: string;
  /** Its id. */
  readonly jti: string;
  /** When it expires, epoch ms. */
  readonly expiresAt: number;
}

/** A session as listed to its user. */
export interface SessionInfo {
  /** Session id. */
  readonly id: string;
  /** Created, epoch ms. */
  readonly createdAt: number;
  /** Last created or refreshed, epoch ms. */
  readonly lastUsedAt: number;
  /** When its refresh token expires, epoch ms. */
  readonly expiresAt: number;
  /** IP at creation, when given. */
  readonly ip?: string | undefined;
  /** User agent at creation, when given. */
  readonly userAgent?: string | undefined;
  /** IP of the last refresh, when given. */
  readonly lastIp?: string | undefined;
  /** Rotations so far. */
  readonly generation: number;
  /** True for the session named as current in the call. */
  readonly current: boolean;
}

/** What identifies an access token for revocation: its verified claims will do. */
export interface AccessTokenRef {
  /** User. */
  readonly sub: string;
  /** Token id. */
  readonly jti: string;
  /** Expiry, NumericDate seconds: the deny-list entry lives until then. */
  readonly exp: number;
  /** Session id. */
  readonly sid?: string | undefined;
}

/**
 * Issues, verifies, refreshes and revokes sessions. Every method validates
 * its arguments; failures are {@link TokenError}s with stable codes.
 */
export interface SessionManager {
  /** Opens a session for `subject`: a new access token and refresh token. */
  issue(subject: string, options?: IssueOptions): Promise<TokenPair>;
  /** Verifies an access token strictly, revocation included. */
  verify(token: string, options?: VerifyOptions): Promise<VerifiedToken<AccessTokenClaims>>;
  /**
   * Rotates a refresh token: the presented one stops working and a new pair
   * is returned. A rotated token presented again (outside the grace period)
   * revokes its session and fails with `refresh_reused`, except once, within
   * 30 s, after this process's rotation of it failed with its outcome
   * unknown (a timeout): that retry gets the pair the rotation would have returned.
   */
  refresh(refreshToken: string, options?: RefreshOptions): Promise<TokenPair>;
  /** Deny-lists one access token until it expires. */
  revokeAccessToken(token: AccessTokenRef, options?: CallOptions): Promise<void>;
  /**
   * Revokes one session (its refresh token and every access token carrying
   * its `sid`). Returns whether it was live: false for an unknown, expired,
   * revoked or reused session, and for one a `logoutAll` cut-off ended.
   */
  revokeSession(userId: string, sessionId: string, options?: CallOptions): Promise<boolean>;
  /**
   * Logs out one device: given verified access-token claims, revokes their
   * session and deny-lists the token; given a refresh token, revokes its
   * session. Returns whether a session was live.
   */
  logout(target: AccessTokenRef | string, options?: CallOptions): Promise<boolean>;
  /**
   * Logs the user out everywhere: sets the user's cut-off to now (every token
   * issued at or before it, purpose tokens included, is invalid, and so is
   * every session created at or before it, even one stored after this call)
   * and revokes every session. Returns how many of them were still live
   * (sessions an earlier cut-off had ended are not counted). A call that
   * fails may have done part of this: call it again.
   */
  logoutAll(userId: string, options?: CallOptions): Promise<number>;
  /** Revokes every session of the user but `currentSessionId`; returns how many of them were live. */
  revokeOtherSessions(
    userId: string,
    currentSessionId: string,
    options?: CallOptions,
  ): Promise<number>;
  /** Lists the user's live sessions (none a `logoutAll` cut-off ended), newest first. */
  listSessions(
    userId: string,
    options?: CallOptions & { readonly currentSessionId?: string | undefined },
  ): Promise<SessionInfo[]>;
  /** Issues a token for one purpose (password reset, email change, ...), signed with that purpose's key. */
  issuePurposeToken(
    purpose: string,
    subject: string,
    options?: PurposeIssueOptions,
  ): Promise<IssuedPurposeToken>;
  /** Verifies a token for `purpose`; single-use purposes consume it. */
  verifyPurposeToken(
    purpose: string,
    token: string,
    options?: PurposeVerifyOptions,
  ): Promise<VerifiedToken<PurposeTokenClaims>>;
  /** The JWKS document of the public keys that verify now (publish it at `/.well-known/jwks.json`). */
  jwks(): JsonWebKeySet;
  /** The key ring. */
  readonly keyRing: KeyRing;
  /** Closes the store when the manager created it. */
  close(): Promise<void>;
}
