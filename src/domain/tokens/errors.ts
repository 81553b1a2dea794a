import { isLockWatchError, LockWatchError } from '../errors.ts';

/**
 * Stable codes of token and session errors. A client may be told the code
 * (and the fixed message that goes with it); which check failed inside is
 * kept in {@link TokenError.reason} for logs only.
 */
export type TokenErrorCode =
  | 'token_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_revoked'
  | 'token_wrong_purpose'
  | 'token_already_used'
  | 'insufficient_scope'
  | 'refresh_reused'
  | 'session_not_found'
  | 'invalid_credentials'
  | 'token_store_unavailable';

/** Every token error code, in documentation order. */
export const tokenErrorCodes: readonly TokenErrorCode[] = [
  'token_invalid',
  'token_expired',
  'token_not_yet_valid',
  'token_revoked',
  'token_wrong_purpose',
  'token_already_used',
  'insufficient_scope',
  'refresh_reused',
  'session_not_found',
  'invalid_credentials',
  'token_store_unavailable',
];

const messages: Record<TokenErrorCode, string> = {
  token_invalid: 'The token is invalid.',
  token_expired: 'The token has expired.',
  token_not_yet_valid: 'The token is not valid yet.',
  token_revoked: 'The token has been revoked.',
  token_wrong_purpose: 'The token is not meant for this use.',
  token_already_used: 'The token has already been used.',
  insufficient_scope: 'The token does not grant this access.',
  refresh_reused: 'The refresh token was used before; the session has been revoked.',
  session_not_found: 'The session does not exist or has ended.',
  invalid_credentials: 'The credentials are invalid.',
  token_store_unavailable: 'Tokens cannot be checked right now.',
};

const statuses: Record<TokenErrorCode, 401 | 403 | 503> = {
  token_invalid: 401,
  token_expired: 401,
  token_not_yet_valid: 401,
  token_revoked: 401,
  token_wrong_purpose: 401,
  token_already_used: 401,
  insufficient_scope: 403,
  refresh_reused: 401,
  session_not_found: 401,
  invalid_credentials: 401,
  token_store_unavailable: 503,
};

/**
 * The base of every token and session error. `message` is fixed per code
 * and safe to show; `reason` (not enumerable, left out of JSON) names the
 * failed check for logs.
 */
export class TokenError extends LockWatchError {
  /** Stable code. */
  declare readonly code: TokenErrorCode;
  /** HTTP status that fits: 401, 403 for `insufficient_scope`, 503 when the store is down. */
  readonly status: 401 | 403 | 503;
  /** Which check failed, such as `header.kid` or `claim.iss`: for logs, never for clients. */
  declare readonly reason: string;

  constructor(code: TokenErrorCode, reason: string, options?: ErrorOptions) {
    super(code, messages[code], options);
    this.status = statuses[code];
    Object.defineProperty(this, 'reason', { value: reason, enumerable: false });
  }

  /** What may be sent to a client: the code and its fixed message. */
  toJSON(): { code: TokenErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** The token is malformed, forged, oversized, or fails a claim check (`token_invalid`). */
export class TokenInvalidError extends TokenError {
  constructor(reason: string, options?: ErrorOptions) {
    super('token_invalid', reason, options);
  }
}

/** The token's `exp` has passed, tolerance included (`token_expired`). */
export class TokenExpiredError extends TokenError {
  constructor(reason = 'claim.exp') {
    super('token_expired', reason);
  }
}

/** The token's `nbf` is still ahead, tolerance included (`token_not_yet_valid`). */
export class TokenNotYetValidError extends TokenError {
  constructor(reason = 'claim.nbf') {
    super('token_not_yet_valid', reason);
  }
}

/** The token's `jti`, session or user cut-off revokes it (`token_revoked`). */
export class TokenRevokedError extends TokenError {
  constructor(reason: string) {
    super('token_revoked', reason);
  }
}

/** A token of another kind or purpose was presented (`token_wrong_purpose`). */
export class TokenWrongPurposeError extends TokenError {
  constructor(reason: string) {
    super('token_wrong_purpose', reason);
  }
}

/** A single-use token was presented a second time (`token_already_used`). */
export class TokenAlreadyUsedError extends TokenError {
  constructor() {
    super('token_already_used', 'single_use');
  }
}

/** The token is valid but lacks a required scope (`insufficient_scope`, HTTP 403). */
export class InsufficientScopeError extends TokenError {
  /** The scopes that were required. */
  readonly required: readonly string[];

  constructor(required: readonly string[]) {
    super('insufficient_scope', 'scope');
    this.required = required;
  }
}

/** A rotated refresh token was presented again; its session was revoked (`refresh_reused`). */
export class RefreshReusedError extends TokenError {
  /** The revoked session. */
  readonly sessionId: string;
  /** Its user. */
  readonly userId: string;

  constructor(userId: string, sessionId: string) {
    super('refresh_reused', 'refresh.reused');
    this.userId = userId;
    this.sessionId = sessionId;
  }
}

/** The refresh token names no live session, or not with that family (`session_not_found`). */
export class SessionNotFoundError extends TokenError {
  constructor(reason = 'session') {
    super('session_not_found', reason);
  }
}

/** A password (or other credential) did not match (`invalid_credentials`). */
export class InvalidCredentialsError extends TokenError {
  constructor(reason = 'password') {
    super('invalid_credentials', reason);
  }
}

/**
 * The token store could not answer in time (HTTP 503). Verification raises
 * it under the `closed` failure policy; issuing, refreshing and revoking
 * raise it under every policy. `cause` is the store's error.
 */
export class TokenStoreUnavailableError extends TokenError {
  constructor(operation: string, options?: ErrorOptions) {
    super('token_store_unavailable', `store.${operation}`, options);
  }
}

/** True for any token error, also one from another copy of the package. */
export function isTokenError(value: unknown): value is TokenError {
  return (
    value instanceof TokenError ||
    (isLockWatchError(value) && (tokenErrorCodes as readonly string[]).includes(value.code))
  );
}
