/**
 * Strict base64url and JSON for token parsing: one canonical encoding per
 * byte string, valid UTF-8, and no duplicate member names (RFC 7515 §5.2
 * and RFC 7519 §7.2 let a parser take the last of two names; a verifier that
 * does so can be made to read a claim another component read differently).
 */

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const values = new Int8Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;

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
  if (tail === 1) return false;
  for (let i = 0; i < length; i++) if (sextet(text, i) < 0) return false;
  if (tail === 2) return (sextet(text, length - 1) & 15) === 0;
  if (tail === 3) return (sextet(text, length - 1) & 3) === 0;
  return true;
}

/** Encodes bytes as unpadded base64url. */
export function encodeBase64url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out +=
      alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]!;
  }
  return out;
}

/** UTF-8 bytes of a string. */
export function utf8Bytes(text: string): Uint8Array {
  return utf8.encode(text);
}

/** Decodes UTF-8 strictly; undefined on any malformed sequence. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  // Pure ASCII is by far the common case and needs no decoder.
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! > 127) {
      ascii = false;
      break;
    }
  }
  if (ascii) return bytes.length < 4096 ? String.fromCharCode(...bytes) : strictUtf8.decode(bytes);
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
  if (hasDuplicateNames(text)) return { ok: false, reason: 'duplicate' };
  return { ok: true, value: value as Record<string, unknown> };
}

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;

/**
 * Scans JSON text that `JSON.parse` accepted and reports whether some object
 * has a member name twice. In valid JSON a string is a member name exactly
 * when the next non-blank character is a colon.
 */
export function hasDuplicateNames(text: string): boolean {
  // One entry per open container: a set of names for objects, null for arrays.
  const stack: (Set<string> | null)[] = [];
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) {
      const start = i + 1;
      let escaped = false;
      i++;
      for (; i < length; i++) {
        const c = text.charCodeAt(i);
        if (c === BACKSLASH) {
          escaped = true;
          i++;
        } else if (c === QUOTE) break;
      }
      let j = i + 1;
      while (j < length && isBlank(text.charCodeAt(j))) j++;
      if (j < length && text.charCodeAt(j) === COLON) {
        const names = stack[stack.length - 1];
        if (names) {
          const raw = text.slice(start, i);
          const name = escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
          if (names.has(name)) return true;
          names.add(name);
        }
      }
    } else if (code === OPEN_OBJECT) stack.push(new Set());
    else if (code === OPEN_ARRAY) stack.push(null);
    else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) stack.pop();
  }
  return false;
}

function isBlank(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}
