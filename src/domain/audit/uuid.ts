/** Fills `bytes` with cryptographically strong random values (the Web Crypto `getRandomValues` shape). */
export type RandomFill = (bytes: Uint8Array) => void;

/** Makes UUIDv7 strings from a millisecond time; one generator per logger. */
export type UuidV7Generator = (timestampMs: number) => string;

const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

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
  let prefix = '';

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
      // The time part is the same for every id of one millisecond: built once per millisecond.
      const high = Math.floor(ms / 0x1000000);
      const low = ms % 0x1000000;
      prefixMs = ms;
      prefix = `${hex[(high >>> 16) & 0xff]}${hex[(high >>> 8) & 0xff]}${hex[high & 0xff]}${hex[(low >>> 16) & 0xff]}-${hex[(low >>> 8) & 0xff]}${hex[low & 0xff]}-`;
    }
    // Pieces under 13 characters are joined into flat strings; only the last two joins make
    // rope nodes. One rope per hex pair measured at twice the cost when a sink or a check
    // first reads the id (flattening a 13-node rope).
    const middle =
      hex[0x70 | (counter >>> 8)]! +
      hex[counter & 0xff]! +
      '-' +
      hex[0x80 | (take() & 0x3f)]! +
      hex[take()]! +
      '-';
    const last =
      hex[take()]! + hex[take()]! + hex[take()]! + hex[take()]! + hex[take()]! + hex[take()]!;
    return prefix + middle + last;
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
