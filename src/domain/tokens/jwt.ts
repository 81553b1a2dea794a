import { CompactSign, type CryptoKey, compactVerify } from 'jose';
import {
  decodeBase64url,
  decodeBase64urlText,
  isBase64url,
  parseJsonObject,
  utf8Bytes,
} from './encoding.ts';
import { TokenInvalidError } from './errors.ts';
import type { TokenAlgorithm } from './keys.ts';

/** The protected header of a LockWatch token: exactly these three members. */
export interface TokenHeader {
  /** Signature algorithm. */
  readonly alg: string;
  /** Token type, such as `at+jwt`. */
  readonly typ: string;
  /** Key id. */
  readonly kid: string;
}

/** A compact JWT split and decoded, before any signature check. */
export interface ParsedToken {
  /** The protected header. */
  readonly header: TokenHeader;
  /** Its base64url text, as it appears in the token. */
  readonly headerSegment: string;
  /** The claims, parsed strictly. */
  readonly payload: Record<string, unknown>;
}

/** Default size cap of a token, bytes. */
export const defaultMaxTokenBytes = 8192;

const headerMembers = new Set(['alg', 'typ', 'kid']);

/**
 * Splits and decodes a compact JWT without trusting anything in it. Refused
 * before any cryptography: anything but a string, more than `maxBytes`,
 * other than three canonical base64url segments, malformed UTF-8 or JSON,
 * duplicate member names, and a header with members other than `alg`, `typ`
 * and `kid` (so `jwk`, `jku`, `x5u`, `x5c`, `crit`, `b64`, `zip` and the
 * rest never reach a library that might act on them). `headers` holds
 * header segments already seen valid in a verified token, parsed: tokens
 * signed with one key share one header, so most tokens skip its decoding.
 */
export function parseCompact(
  token: unknown,
  maxBytes: number,
  headers?: ReadonlyMap<string, TokenHeader>,
): ParsedToken {
  if (typeof token !== 'string') throw new TokenInvalidError('format.type');
  if (token.length > maxBytes) throw new TokenInvalidError('format.size');
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) {
    throw new TokenInvalidError('format.segments');
  }
  const headerSegment = token.slice(0, first);
  const header = headers?.get(headerSegment) ?? parseHeader(headerSegment);
  const payloadText = segmentText(token.slice(first + 1, second), 'payload');
  const signature = token.slice(second + 1);
  if (signature.length === 0 || !isBase64url(signature)) {
    throw new TokenInvalidError('format.signature');
  }
  const payload = parseJsonObject(payloadText);
  if (!payload.ok) throw new TokenInvalidError(`payload.${payload.reason}`);
  return { header, headerSegment, payload: payload.value };
}

function parseHeader(segment: string): TokenHeader {
  const header = parseJsonObject(segmentText(segment, 'header'));
  if (!header.ok) throw new TokenInvalidError(`header.${header.reason}`);
  const h = header.value;
  for (const name in h) {
    if (!headerMembers.has(name)) throw new TokenInvalidError(`header.${safeName(name)}`);
  }
  if (typeof h.alg !== 'string') throw new TokenInvalidError('header.alg');
  if (typeof h.typ !== 'string') throw new TokenInvalidError('header.typ');
  if (typeof h.kid !== 'string') throw new TokenInvalidError('header.kid');
  return h as unknown as TokenHeader;
}

function segmentText(segment: string, part: 'header' | 'payload'): string {
  const text = segment.length === 0 ? undefined : decodeBase64urlText(segment);
  if (text === undefined) {
    const malformed = segment.length === 0 || decodeBase64url(segment) === undefined;
    throw new TokenInvalidError(malformed ? `format.${part}` : `format.${part}.utf8`);
  }
  return text;
}

/** A header name fit for a log line: short and without control characters. */
function safeName(name: string): string {
  return /^[A-Za-z0-9_]{1,16}$/.test(name) ? name : 'unknown';
}

/**
 * Checks the signature with jose, accepting only `alg` (the key's own). The
 * token has passed {@link parseCompact}; jose re-reads the same bytes, so
 * the claims parsed there are the ones signed.
 */
export async function verifySignature(
  token: string,
  alg: TokenAlgorithm,
  key: CryptoKey,
): Promise<void> {
  try {
    await compactVerify(token, key, { algorithms: [alg] });
  } catch (error) {
    throw new TokenInvalidError('signature', { cause: error });
  }
}

/** Signs `payload` with `header` as a compact JWT. */
export function signCompact(
  header: TokenHeader,
  payload: Record<string, unknown>,
  key: CryptoKey,
): Promise<string> {
  return new CompactSign(utf8Bytes(JSON.stringify(payload)))
    .setProtectedHeader({ alg: header.alg, typ: header.typ, kid: header.kid })
    .sign(key);
}
