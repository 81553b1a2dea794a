/**
 * Escaping of rate-limit subjects before they become store keys. A subject is
 * client-influenced (a user id, a header value); the store key format
 * `{prefix}:{<subject>}:<policy>` relies on `{`, `}` and `:` never appearing
 * raw inside it.
 */

// Characters that pass through unchanged; everything else, `%` included, is escaped.
const plain = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@/-') {
  plain[c.charCodeAt(0)] = 1;
}

const hex = Array.from(
  { length: 256 },
  (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
);

/**
 * Escapes `subject` into `A-Z a-z 0-9 . _ @ / -` plus `%XX` (upper-case hex of
 * one UTF-8 byte), so `{`, `}`, `:`, `%`, spaces and control characters never
 * appear raw. Returns the input itself when nothing needs escaping.
 *
 * Injective for every JavaScript string: a lone surrogate (which UTF-8 cannot
 * encode) is escaped as its 3-byte generalized UTF-8 form (WTF-8, `%ED%A0%80`
 * to `%ED%BF%BF`), a byte sequence no well-formed string produces.
 */
export function escapeSubject(subject: string): string {
  const n = subject.length;
  let i = 0;
  while (i < n) {
    const c = subject.charCodeAt(i);
    if (c >= 128 || plain[c] === 0) break;
    i++;
  }
  if (i === n) return subject;
  let out = subject.slice(0, i);
  for (; i < n; i++) {
    let c = subject.charCodeAt(i);
    if (c < 128) {
      out += plain[c] === 1 ? subject[i] : hex[c];
      continue;
    }
    if (c < 0x800) {
      out += hex[0xc0 | (c >> 6)]! + hex[0x80 | (c & 0x3f)]!;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const low = subject.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
        out +=
          hex[0xf0 | (c >> 18)]! +
          hex[0x80 | ((c >> 12) & 0x3f)]! +
          hex[0x80 | ((c >> 6) & 0x3f)]! +
          hex[0x80 | (c & 0x3f)]!;
        continue;
      }
    }
    // Any other code unit, a lone surrogate included, as three bytes.
    out += hex[0xe0 | (c >> 12)]! + hex[0x80 | ((c >> 6) & 0x3f)]! + hex[0x80 | (c & 0x3f)]!;
  }
  return out;
}
