/** Fills `bytes` with cryptographically strong random values (the Web Crypto `getRandomValues` shape). */
export type RandomFill = (bytes: Uint8Array) => void;

/** Makes UUIDv7 strings from a millisecond time; one generator per logger. */
export type UuidV7Generator = (timestampMs: number) => string;

/** Character codes of the lower-case hex digits. */
const hexDigits = Uint8Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));

/** Largest time a UUIDv7 can carry: 48 bits of milliseconds. */
const maxTimestamp = 2 ** 48 - 1;

/** Bytes drawn from the random source at once: one call serves 409 ids. */
const poolSize = 4096;

/**
 * Creates a UUIDv7 generator (RFC 9562): 48 bits of Unix milliseconds, then
 * a 12-bit counter (`rand_a`) and 62 random bits. Within one millisecond the
 * counter goes up from a random start, so ids made by one generator sort in
 * the order they were made; a time earlier than the last one gets a fresh
 * random counter. Random bytes are drawn in blocks to keep the cost per id
 * low on the request path.
 */
export function createUuidV7Generator(
  fill: RandomFill = (bytes) => crypto.getRandomValues(bytes),
): UuidV7Generator {
  const pool = new Uint8Array(poolSize);
  let offset = poolSize;
  let lastMs = -1;
  let counter = 0;

  const take = (): number => {
    if (offset >= poolSize) {
      fill(pool);
      offset = 0;
    }
    return pool[offset++]!;
  };

  // Set while ids are borrowed from later milliseconds: times from here up to lastMs continue the sequence.
  let borrowedFrom = -1;
  let prefixMs = -1;
  // The id's 36 character codes, rewritten in place; the dashes never move.
  const codes = new Uint16Array(36);
  for (const at of [8, 13, 18, 23]) codes[at] = 45;
  const put = (at: number, byte: number): void => {
    codes[at] = hexDigits[byte >>> 4]!;
    codes[at + 1] = hexDigits[byte & 0xf]!;
  };

  return (timestampMs) => {
    let ms = Math.trunc(timestampMs);
    if (!(ms >= 0)) ms = 0;
    if (ms > maxTimestamp) ms = maxTimestamp;
    if (ms < lastMs && ms >= borrowedFrom && borrowedFrom >= 0) ms = lastMs;
    if (ms === lastMs && counter < 0xfff) counter++;
    else if (ms === lastMs) {
      // 4,096 ids in one millisecond: borrow the next millisecond, as RFC 9562 allows.
      if (borrowedFrom < 0) borrowedFrom = ms;
      ms = ++lastMs;
      counter = ((take() << 8) | take()) & 0x7ff;
    } else {
      // A fresh start below 2,048 leaves room to count up within this millisecond.
      counter = ((take() << 8) | take()) & 0x7ff;
      if (ms > lastMs) {
        lastMs = ms;
        borrowedFrom = -1;
      }
    }
    if (ms !== prefixMs) {
      // The time part is the same for every id of one millisecond: written once per millisecond.
      prefixMs = ms;
      const high = Math.floor(ms / 0x1000000);
      const low = ms % 0x1000000;
      put(0, (high >>> 16) & 0xff);
      put(2, (high >>> 8) & 0xff);
      put(4, high & 0xff);
      put(6, (low >>> 16) & 0xff);
      put(9, (low >>> 8) & 0xff);
      put(11, low & 0xff);
    }
    put(14, 0x70 | (counter >>> 8));
    put(16, counter & 0xff);
    put(19, 0x80 | (take() & 0x3f));
    put(21, take());
    for (let i = 24; i < 36; i += 2) put(i, take());
    // One flat string from the character codes: joined pieces make a rope that a sink or a check
    // flattens when it first reads the id (measured at twice the cost of the id itself).
    const c = codes;
    // biome-ignore format: the 36 codes, nine to a line
    return String.fromCharCode(
      c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!,
      c[9]!, c[10]!, c[11]!, c[12]!, c[13]!, c[14]!, c[15]!, c[16]!, c[17]!,
      c[18]!, c[19]!, c[20]!, c[21]!, c[22]!, c[23]!, c[24]!, c[25]!, c[26]!,
      c[27]!, c[28]!, c[29]!, c[30]!, c[31]!, c[32]!, c[33]!, c[34]!, c[35]!,
    );
  };
}

/**
 * True for a UUIDv7 in the lower-case form the generator makes (RFC 9562:
 * version 7, variant 10), checked without a regex. Upper case is refused:
 * text columns and cursors compare ids as text, so one UUID in two cases
 * would be two records.
 */
export function isUuidV7(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = value.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  // Version 7, and variant bits 10: the fourth group starts with 8, 9, a or b.
  const variant = value.charCodeAt(19);
  return (
    value.charCodeAt(14) === 55 &&
    (variant === 56 || variant === 57 || variant === 97 || variant === 98)
  );
}

/** Reads the millisecond time out of a UUIDv7 string (either case); undefined when `id` is not one. */
export function uuidV7Timestamp(id: string): number | undefined {
  if (typeof id !== 'string' || !isUuidV7(id.toLowerCase())) return undefined;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
