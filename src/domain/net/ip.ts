/**
 * IP address parsing, formatting, CIDR matching and grouping. Runs on every
 * request (client-IP key builder), so parsing walks char codes by hand instead
 * of using regular expressions and allocates one byte array per address.
 *
 * Accepted text (`parseIp`):
 * - IPv4 dotted quad, exactly four decimal octets 0-255 without leading zeros
 *   (`01.2.3.4`, `1.2.3`, `0x7f.0.0.1` are rejected); optionally `:port`.
 * - IPv6 (RFC 4291 text: `::` compression once, 1-4 hex digits per group, an
 *   embedded IPv4 tail such as `::ffff:1.2.3.4`); optionally in brackets, and
 *   then optionally with `:port` (`[::1]:443`).
 * - A zone id after an IPv6 address (`fe80::1%eth0`, 1-64 characters from
 *   `A-Za-z0-9._~-`) is accepted and dropped: Node reports link-local peers
 *   with one, and the zone names an interface of this host, not the client.
 * - Ports (1-5 digits, at most 65535) are accepted and dropped.
 *
 * An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address a.b.c.d:
 * same bytes, same canonical text, same rate-limit subject.
 */

import { InvalidOptionError } from '../config/errors.ts';
import { integerOption } from '../config/validate.ts';

/** A parsed IP address; IPv4-mapped IPv6 addresses are stored as IPv4. */
export interface IpAddress {
  /** 4 for IPv4 (4 bytes), 6 for IPv6 (16 bytes). */
  readonly family: 4 | 6;
  /** The address in network byte order; do not mutate. */
  readonly bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
  readonly text: string;
}

/** A parsed CIDR range; `bytes` has every bit after `prefix` cleared. */
export interface Cidr {
  /** 4 or 6; an IPv4-mapped range with prefix 96 or more is stored as IPv4. */
  readonly family: 4 | 6;
  /** Network address in network byte order; do not mutate. */
  readonly bytes: Uint8Array;
  /** Prefix length: 0-32 for IPv4, 0-128 for IPv6. */
  readonly prefix: number;
  /** Canonical text, always with the prefix, such as `10.0.0.0/8` or `2001:db8::/32`. */
  readonly text: string;
}

/** Options of {@link groupIp}. */
export interface GroupOptions {
  /** Prefix length that groups IPv4 addresses: 0-32, 32 (one address) by default. */
  readonly ipv4Prefix?: number | undefined;
  /** Prefix length that groups IPv6 addresses: 0-128, 64 (one customer LAN) by default. */
  readonly ipv6Prefix?: number | undefined;
}

// The text is built on first use: the client-IP walk parses several hop
// addresses per request but formats only the one it settles on.
class ParsedIp implements IpAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  #text: string | undefined;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.family = bytes.length === 4 ? 4 : 6;
  }

  get text(): string {
    if (this.#text === undefined) this.#text = formatMasked(this.bytes, this.bytes.length * 8);
    return this.#text;
  }

  toString(): string {
    return this.text;
  }
}

const maxInputLength = 128;
const maxZoneLength = 64;

const hexValue = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) hexValue[48 + c] = c;
for (let c = 0; c < 6; c++) {
  hexValue[65 + c] = 10 + c;
  hexValue[97 + c] = 10 + c;
}

const zoneChar = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-') {
  zoneChar[c.charCodeAt(0)] = 1;
}

/** Parses an IP address (see the module comment for the accepted forms); undefined when malformed. */
export function parseIp(text: string): IpAddress | undefined {
  if (typeof text !== 'string') return undefined;
  const n = text.length;
  if (n === 0 || n > maxInputLength) return undefined;
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    const close = text.indexOf(']', 1);
    if (close < 0) return undefined;
    if (close !== n - 1 && (text.charCodeAt(close + 1) !== 0x3a || !isPort(text, close + 2, n))) {
      return undefined;
    }
    return parseV6WithZone(text, 1, close);
  }
  const colon = text.indexOf(':');
  if (colon < 0) return parseV4(text, 0, n);
  if (text.indexOf(':', colon + 1) < 0) {
    // One colon: IPv4 with a port (an IPv6 address has at least two colons).
    return isPort(text, colon + 1, n) ? parseV4(text, 0, colon) : undefined;
  }
  return parseV6WithZone(text, 0, n);
}

/** Canonical text of `ip`: dotted quad, or RFC 5952 IPv6. */
export function formatIp(ip: IpAddress): string {
  return ip.text;
}

/**
 * An address from 4 or 16 bytes (copied); 16 bytes of an IPv4-mapped address
 * give the IPv4 address. Throws a TypeError for any other length.
 */
export function ipFromBytes(bytes: Uint8Array): IpAddress {
  if (bytes.length === 4) return new ParsedIp(bytes.slice());
  if (bytes.length === 16) return new ParsedIp(isMapped(bytes) ? bytes.slice(12) : bytes.slice());
  throw new TypeError(`An IP address has 4 or 16 bytes, not ${bytes.length}.`);
}

/**
 * Parses an address or CIDR (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.1` as a
 * /32). No brackets, ports or zones; bits after the prefix must be zero.
 * Throws InvalidOptionError naming `option` (such as `trustProxy[2]`).
 */
export function parseCidr(text: string, option = 'cidr'): Cidr {
  const accepted = 'an IPv4 or IPv6 address or CIDR, such as 10.0.0.0/8 or 2001:db8::/32';
  if (typeof text !== 'string' || text.length === 0 || text.length > maxInputLength) {
    throw new InvalidOptionError(option, text, accepted);
  }
  const slash = text.indexOf('/');
  const end = slash < 0 ? text.length : slash;
  let bytes: Uint8Array | undefined;
  if (text.indexOf(':') < 0) {
    bytes = new Uint8Array(4);
    if (!readV4(text, 0, end, bytes, 0)) bytes = undefined;
  } else {
    bytes = new Uint8Array(16);
    if (!readV6(text, 0, end, bytes)) bytes = undefined;
  }
  if (bytes === undefined) throw new InvalidOptionError(option, text, accepted);
  const bits = bytes.length * 8;
  let prefix = bits;
  if (slash >= 0) {
    const parsed = readPrefix(text, slash + 1, text.length);
    if (parsed < 0 || parsed > bits) {
      throw new InvalidOptionError(option, text, `${accepted}; the prefix length is 0 to ${bits}`);
    }
    prefix = parsed;
  }
  if (bits === 128 && prefix >= 96 && isMapped(bytes)) {
    bytes = bytes.slice(12);
    prefix -= 96;
  }
  const network = mask(bytes, prefix);
  if (!equalBytes(network, bytes)) {
    const suggestion = `${formatMasked(network, prefix)}/${slash < 0 ? prefix : text.slice(slash + 1)}`;
    throw new InvalidOptionError(
      option,
      text,
      `a CIDR with no bits set after the prefix (did you mean ${suggestion}?)`,
    );
  }
  return Object.freeze({
    family: network.length === 4 ? 4 : 6,
    bytes: network,
    prefix,
    text: `${formatMasked(network, prefix)}/${prefix}`,
  });
}

// 0.0.0.0: in an IPv6 range exactly when the range holds IPv4-mapped addresses from their start.
const anyIpv4 = ipFromBytes(new Uint8Array(4));

/**
 * Parses the address or CIDR of a trusted proxy as {@link parseCidr} does,
 * refusing ranges wider than /8 (IPv4) or /7 (IPv6), which a proxy network
 * never needs, and IPv6 ranges holding the IPv4-mapped space (`::/64`):
 * `0.0.0.0/0`, `::/0` or two /1 halves hold every address and so trust
 * every hop, and any client could pick its own address by writing a
 * forwarding header — what `trustProxy: true` is refused for.
 */
export function parseProxyCidr(text: string, option: string): Cidr {
  const cidr = parseCidr(text, option);
  // Wider than any proxy network (10.0.0.0/8 and fc00::/7 are the widest private ranges): a few
  // such ranges trust every hop just as well. An IPv6 range holding the IPv4-mapped space (`::/64`) holds
  // every IPv4 client.
  const holdsAllIpv4 = cidr.family === 6 && cidr.prefix <= 96 && cidrContains(cidr, anyIpv4);
  if (cidr.prefix < (cidr.family === 4 ? 8 : 7) || holdsAllIpv4) {
    throw new InvalidOptionError(
      option,
      text,
      `the addresses or CIDRs of your own proxies (such as 10.0.0.0/8), or a hop count such as 1 — ${cidr.text} is ${holdsAllIpv4 ? 'a range holding every IPv4 address' : `wider than /${cidr.family === 4 ? 8 : 7}`}, so clients in it could pick their address with a forwarding header`,
    );
  }
  return cidr;
}

/**
 * True when `ip` lies inside `cidr`. An IPv4 address is also inside an IPv6
 * range that holds its IPv4-mapped form (so `::/0` holds every address).
 */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  const net = cidr.bytes;
  const addr = ip.bytes;
  if (net.length === addr.length) return samePrefix(net, addr, cidr.prefix);
  if (net.length === 4) return false;
  // IPv6 range, IPv4 address: compare with ::ffff:a.b.c.d.
  const prefix = cidr.prefix;
  for (let i = 0; i < 16 && i * 8 < prefix; i++) {
    const b = i < 10 ? 0 : i < 12 ? 0xff : addr[i - 12]!;
    const m = byteMask(prefix - i * 8);
    if (((net[i]! ^ b) & m) !== 0) return false;
  }
  return true;
}

/**
 * The canonical subject of `ip` for rate limiting: the address itself at full
 * length (`203.0.113.7`, `2001:db8::1`), otherwise the network with its prefix
 * (`203.0.113.0/24`, `2001:db8:1:2::/64`). IPv6 is grouped by /64 by default
 * because one customer usually holds a whole /64.
 */
export function groupIp(ip: IpAddress, options: GroupOptions = {}): string {
  const ipv4Prefix = integerOption('ipv4Prefix', options.ipv4Prefix ?? 32, 0, 32);
  const ipv6Prefix = integerOption('ipv6Prefix', options.ipv6Prefix ?? 64, 0, 128);
  return groupWith(ip, ipv4Prefix, ipv6Prefix);
}

/** {@link groupIp} with prefixes the caller has validated; for the per-request path. */
export function groupWith(ip: IpAddress, ipv4Prefix: number, ipv6Prefix: number): string {
  const prefix = ip.family === 4 ? ipv4Prefix : ipv6Prefix;
  if (prefix === ip.bytes.length * 8) return ip.text;
  return `${formatMasked(ip.bytes, prefix)}/${prefix}`;
}

function parseV4(text: string, start: number, end: number): IpAddress | undefined {
  const bytes = new Uint8Array(4);
  return readV4(text, start, end, bytes, 0) ? new ParsedIp(bytes) : undefined;
}

function parseV6WithZone(text: string, start: number, end: number): IpAddress | undefined {
  const percent = text.indexOf('%', start);
  if (percent >= 0 && percent < end) {
    const zoneLength = end - percent - 1;
    if (zoneLength < 1 || zoneLength > maxZoneLength) return undefined;
    for (let i = percent + 1; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128 || zoneChar[c] === 0) return undefined;
    }
    end = percent;
  }
  const bytes = new Uint8Array(16);
  if (!readV6(text, start, end, bytes)) return undefined;
  return new ParsedIp(isMapped(bytes) ? bytes.slice(12) : bytes);
}

// Writes four octets at out[offset..]; true when text[start, end) is exactly a dotted quad.
function readV4(
  text: string,
  start: number,
  end: number,
  out: Uint8Array,
  offset: number,
): boolean {
  let i = start;
  for (let k = 0; k < 4; k++) {
    if (i >= end) return false;
    let digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return false;
    let value = digit;
    i++;
    // A leading zero must stand alone: `01` is octal to some parsers, decimal to others.
    if (value !== 0) {
      for (let d = 0; d < 2 && i < end; d++) {
        digit = text.charCodeAt(i) - 48;
        if (digit < 0 || digit > 9) break;
        value = value * 10 + digit;
        i++;
      }
      if (value > 255) return false;
    }
    out[offset + k] = value;
    if (k < 3) {
      if (i >= end || text.charCodeAt(i) !== 0x2e /* . */) return false;
      i++;
    }
  }
  return i === end;
}

// Fills out (16 zero bytes) from text[start, end); true when it is exactly one IPv6 address.
function readV6(text: string, start: number, end: number, out: Uint8Array): boolean {
  let i = start;
  let groups = 0;
  let gap = -1;
  if (i >= end) return false;
  if (text.charCodeAt(i) === 0x3a) {
    if (i + 1 >= end || text.charCodeAt(i + 1) !== 0x3a) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    const groupStart = i;
    let value = 0;
    let digits = 0;
    while (i < end && digits < 5) {
      const c = text.charCodeAt(i);
      const h = c < 128 ? hexValue[c]! : -1;
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
      i++;
    }
    if (digits === 0) return false;
    if (i < end && text.charCodeAt(i) === 0x2e) {
      // An IPv4 tail: two groups, and nothing may follow it.
      if (groups > 6 || !readV4(text, groupStart, end, out, groups * 2)) return false;
      groups += 2;
      break;
    }
    if (digits > 4 || groups >= 8) return false;
    out[groups * 2] = value >> 8;
    out[groups * 2 + 1] = value & 0xff;
    groups++;
    if (i === end) break;
    if (text.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (i < end && text.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false;
      gap = groups;
      i++;
    } else if (i === end) {
      return false;
    }
  }
  if (gap < 0) return groups === 8;
  if (groups > 7) return false;
  const tail = (groups - gap) * 2;
  const destination = 16 - tail;
  out.copyWithin(destination, gap * 2, groups * 2);
  out.fill(0, gap * 2, destination);
  return true;
}

function isPort(text: string, start: number, end: number): boolean {
  const length = end - start;
  if (length < 1 || length > 5) return false;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return false;
    value = value * 10 + digit;
  }
  return value <= 65535;
}

// A decimal prefix length without sign or leading zeros; -1 when malformed.
function readPrefix(text: string, start: number, end: number): number {
  const length = end - start;
  if (length < 1 || length > 3) return -1;
  if (length > 1 && text.charCodeAt(start) === 48) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function isMapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16 || bytes[10] !== 0xff || bytes[11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return true;
}

// Mask of the leading `bits` bits of one byte (bits clamped to 0..8).
function byteMask(bits: number): number {
  if (bits >= 8) return 0xff;
  if (bits <= 0) return 0;
  return (0xff << (8 - bits)) & 0xff;
}

function mask(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i]! & byteMask(prefix - i * 8);
  return out;
}

function samePrefix(a: Uint8Array, b: Uint8Array, prefix: number): boolean {
  const whole = prefix >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = prefix & 7;
  if (rest === 0) return true;
  return ((a[whole]! ^ b[whole]!) & byteMask(rest)) === 0;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const groupScratch = new Uint16Array(8);

// Canonical text of bytes with every bit after `prefix` cleared (no `/prefix`).
function formatMasked(bytes: Uint8Array, prefix: number): string {
  if (bytes.length === 4) {
    return `${bytes[0]! & byteMask(prefix)}.${bytes[1]! & byteMask(prefix - 8)}.${
      bytes[2]! & byteMask(prefix - 16)
    }.${bytes[3]! & byteMask(prefix - 24)}`;
  }
  const groups = groupScratch;
  for (let g = 0; g < 8; g++) {
    const hi = bytes[g * 2]! & byteMask(prefix - g * 16);
    const lo = bytes[g * 2 + 1]! & byteMask(prefix - g * 16 - 8);
    groups[g] = (hi << 8) | lo;
  }
  // RFC 5952: compress the longest run of two or more zero groups, the first on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let g = 0; g < 8; ) {
    if (groups[g] !== 0) {
      g++;
      continue;
    }
    let run = g;
    while (run < 8 && groups[run] === 0) run++;
    if (run - g > bestLength) {
      bestStart = g;
      bestLength = run - g;
    }
    g = run;
  }
  let out = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      out += '::';
      g += bestLength - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(':')) out += ':';
    out += groups[g]!.toString(16);
  }
  return out;
}
