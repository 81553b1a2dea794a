import { base64url } from '../crypto/sha256.ts';

/**
 * Strict base64url and JSON for token parsing: one canonical encoding per
 * byte string, valid UTF-8, and no duplicate member names (RFC 7515 §5.2
 * and RFC 7519 §7.2 let a parser take the last of two names; a verifier that
 * does so can be made to read a claim another component read differently).
 */

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const values = new Int8Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;

const base64urlText = /^[A-Za-z0-9_-]*$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8 = new TextEncoder();

/**
 * Decodes unpadded base64url, or returns undefined when `text` has a
 * character outside the alphabet, a length that no byte string encodes to,
 * or non-zero unused bits in its last character (a second spelling of the
 * same bytes).
 */
export function decodeBase64url(text: string): Uint8Array | undefined {
  const length = text.length;
  const tail = length & 3;
  if (tail === 1) return undefined;
  const bytes = new Uint8Array((length >> 2) * 3 + (tail === 0 ? 0 : tail - 1));
  let o = 0;
  let i = 0;
  const whole = length - tail;
  for (; i < whole; i += 4) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = sextet(text, i + 2);
    const d = sextet(text, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    bytes[o++] = (a << 2) | (b >> 4);
    bytes[o++] = ((b & 15) << 4) | (c >> 2);
    bytes[o++] = ((c & 3) << 6) | d;
  }
  if (tail === 2) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    if ((a | b) < 0 || (b & 15) !== 0) return undefined;
    bytes[o] = (a << 2) | (b >> 4);
  } else if (tail === 3) {
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = sextet(text, i + 2);
    if ((a | b | c) < 0 || (c & 3) !== 0) return undefined;
    bytes[o++] = (a << 2) | (b >> 4);
    bytes[o] = ((b & 15) << 4) | (c >> 2);
  }
  return bytes;
}

function sextet(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code < 128 ? values[code]! : -1;
}

/** True when `text` is canonical unpadded base64url (see {@link decodeBase64url}), without decoding it. */
export function isBase64url(text: string): boolean {
  const length = text.length;
  const tail = length & 3;
  if (tail === 1 || !base64urlText.test(text)) return false;
  if (tail === 2) return (sextet(text, length - 1) & 15) === 0;
  if (tail === 3) return (sextet(text, length - 1) & 3) === 0;
  return true;
}

// Anything above U+007F: the binary string holds a multi-byte UTF-8 sequence.
const nonAscii = /[\u0080-\uffff]/;

/**
 * Decodes a canonical base64url segment holding UTF-8 text (a JWT header or
 * payload); undefined when it is not canonical base64url or not valid
 * UTF-8. The native `atob` does the decoding; pure-ASCII text (nearly every
 * token) needs no further step.
 */
export function decodeBase64urlText(segment: string): string | undefined {
  if (!base64urlText.test(segment)) return undefined;
  const tail = segment.length & 3;
  if (tail === 1) return undefined;
  if (tail !== 0) {
    const last = sextet(segment, segment.length - 1);
    if ((last & (tail === 2 ? 15 : 3)) !== 0) return undefined;
  }
  const binary = atob(segment.replaceAll('-', '+').replaceAll('_', '/'));
  if (!nonAscii.test(binary)) return binary;
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return decodeUtf8(bytes);
}

/** Encodes bytes as unpadded base64url. */
export const encodeBase64url: (bytes: Uint8Array) => string = base64url;

/** UTF-8 bytes of a string. */
export function utf8Bytes(text: string): Uint8Array {
  return utf8.encode(text);
}

/** Decodes UTF-8 strictly; undefined on any malformed sequence. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Outcome of {@link parseJsonObject}. */
export type JsonObjectResult =
  | { readonly ok: true; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly reason: 'syntax' | 'not_object' | 'duplicate' };

/**
 * Parses JSON text that must be an object, rejecting duplicate member names
 * at any depth (compared after unescaping, so `"a"` and `"\u0061"` clash).
 */
export function parseJsonObject(text: string): JsonObjectResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'syntax' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'not_object' };
  }
  // Parsed objects hold each name once: fewer members than names in the text means a duplicate.
  if (countMembers(value) !== countNames(text)) return { ok: false, reason: 'duplicate' };
  return { ok: true, value: value as Record<string, unknown> };
}

/** True when some object in `text` (JSON that `JSON.parse` accepts) has a member name twice. */
export function hasDuplicateNames(text: string): boolean {
  return countMembers(JSON.parse(text)) !== countNames(text);
}

/**
 * Members of every object in a parsed JSON value. Iterative: nesting is
 * bounded only by the token size (`maxTokenBytes` allows ~30,000 levels),
 * far deeper than the call stack, and this runs before the signature check.
 */
function countMembers(root: unknown): number {
  if (typeof root !== 'object' || root === null) return 0;
  let count = 0;
  const pending: object[] = [root];
  while (pending.length > 0) {
    const value = pending.pop()!;
    if (Array.isArray(value)) {
      for (const item of value) {
        if (typeof item === 'object' && item !== null) pending.push(item);
      }
      continue;
    }
    for (const key in value) {
      count++;
      const member = (value as Record<string, unknown>)[key];
      if (typeof member === 'object' && member !== null) pending.push(member);
    }
  }
  return count;
}

const BACKSLASH = 92;
const COLON = 58;

/**
 * Member names in valid JSON text: in valid JSON a string is a member name
 * exactly when the next non-blank character is a colon. Jumps from quote to
 * quote with `indexOf`, so the cost is per string, not per character.
 */
function countNames(text: string): number {
  let names = 0;
  let i = text.indexOf('"');
  while (i >= 0) {
    let end = text.indexOf('"', i + 1);
    // A quote preceded by an odd run of backslashes is escaped: keep looking.
    while (end > 0 && text.charCodeAt(end - 1) === BACKSLASH) {
      let run = 1;
      while (text.charCodeAt(end - 1 - run) === BACKSLASH) run++;
      if (run % 2 === 0) break;
      end = text.indexOf('"', end + 1);
    }
    if (end < 0) return -1;
    let j = end + 1;
    let code = text.charCodeAt(j);
    while (code === 32 || code === 9 || code === 10 || code === 13) code = text.charCodeAt(++j);
    if (code === COLON) names++;
    i = text.indexOf('"', j);
  }
  return names;
}
