import type { CryptoKey } from 'jose';
import { maxClaimLength } from './claims.ts';
import {
  decodeBase64url,
  decodeUtf8,
  encodeBase64url,
  isBase64url,
  utf8Bytes,
} from './encoding.ts';
import { TokenInvalidError, TokenWrongPurposeError } from './errors.ts';
import { hmac, randomId } from './secrets.ts';
import { isStorableText } from './store-arguments.ts';

/**
 * A refresh token: `lwr1.<user>.<sid>.<family>.<secret>`, all base64url.
 * `user` and `sid` locate the session; `family` (128 random bits, the same
 * for every token of the session, never in an access token) proves the
 * holder once held a genuine token of this session, so presenting an old
 * one is reuse, not a guess; `secret` (256 random bits) changes on every
 * rotation. Only hashes of the token and of the family are stored.
 */
export interface RefreshParts {
  /** The session's user. */
  readonly userId: string;
  /** Session id. */
  readonly sessionId: string;
  /** Family secret. */
  readonly family: string;
  /** Per-rotation secret. */
  readonly secret: string;
}

const prefix = 'lwr1';
const idLength = 22; // 16 bytes
const secretLength = 43; // 32 bytes
/** Longest refresh token accepted: a user id of 256 characters of 4-byte UTF-8 and the rest. */
export const maxRefreshTokenLength = 1500;

/** Formats a refresh token. */
export function formatRefresh(parts: RefreshParts): string {
  return `${prefix}.${encodeBase64url(utf8Bytes(parts.userId))}.${parts.sessionId}.${parts.family}.${parts.secret}`;
}

/** New random session id (128 bits, base64url). */
export function newSessionId(): string {
  return randomId(16);
}

/** New random family secret (128 bits). */
export function newFamily(): string {
  return randomId(16);
}

/** New random per-rotation secret (256 bits). */
export function newSecret(): string {
  return randomId(32);
}

/**
 * The secret of the token that succeeds `token`: HMAC of the token under the
 * derived refresh key, so every server sharing the master secret computes
 * the same successor (what lets a grace period hand all concurrent callers
 * one pair), and nobody without the key can.
 */
export async function successorSecret(key: CryptoKey, token: string): Promise<string> {
  return encodeBase64url(await hmac(key, `next:${token}`));
}

/** Access-token id that goes with the successor of `token` (same derivation, other label). */
export async function successorJti(key: CryptoKey, token: string): Promise<string> {
  return encodeBase64url((await hmac(key, `jti:${token}`)).subarray(0, 16));
}

/**
 * Parses a refresh token, checking its shape only. A compact JWT given
 * instead is `token_wrong_purpose`; anything else malformed is `token_invalid`.
 */
export function parseRefresh(token: unknown): RefreshParts {
  if (typeof token !== 'string') throw new TokenInvalidError('refresh.type');
  if (token.length > maxRefreshTokenLength) throw new TokenInvalidError('refresh.size');
  const parts = token.split('.');
  if (parts.length !== 5 || parts[0] !== prefix) {
    if (parts.length === 3 && parts.every((p) => p.length > 0 && isBase64url(p))) {
      throw new TokenWrongPurposeError('refresh.jwt');
    }
    throw new TokenInvalidError('refresh.format');
  }
  const [, user, sessionId, family, secret] = parts as [string, string, string, string, string];
  if (
    sessionId.length !== idLength ||
    family.length !== idLength ||
    secret.length !== secretLength ||
    !isBase64url(sessionId) ||
    !isBase64url(family) ||
    !isBase64url(secret)
  ) {
    throw new TokenInvalidError('refresh.format');
  }
  const userBytes = user.length === 0 ? undefined : decodeBase64url(user);
  const userId = userBytes === undefined ? undefined : decodeUtf8(userBytes);
  if (
    userId === undefined ||
    userId.length === 0 ||
    userId.length > maxClaimLength ||
    !isStorableText(userId)
  ) {
    throw new TokenInvalidError('refresh.user');
  }
  return { userId, sessionId, family, secret };
}
