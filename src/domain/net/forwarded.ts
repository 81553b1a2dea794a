/**
 * Forwarding headers: `X-Forwarded-For` and RFC 7239 `Forwarded`. Both list
 * hops client first; each proxy appends the address it received the request
 * from. Only the right-hand end, written by proxies you trust, is reliable, so
 * the walkers visit hops nearest-proxy first and let the caller stop early.
 *
 * A hop that is not an IP address (`unknown`, an obfuscated `_id`, a malformed
 * value, a `Forwarded` element without `for=`) is reported as `undefined`, in
 * its place, so a caller walking the chain stops there instead of skipping it.
 */

import { type IpAddress, parseIp } from './ip.ts';

/** A header as a request carries it: absent, one line, or repeated lines in arrival order. */
export type HeaderValue = string | readonly string[] | undefined;

/** One hop: its address, or undefined when the hop names no IP address. */
export type ForwardedHop = IpAddress | undefined;

/** Visits one hop; return false to stop the walk. */
export type HopVisitor = (hop: ForwardedHop) => boolean;

/** The hops of `X-Forwarded-For`, client first; empty list entries are skipped. */
export function parseXForwardedFor(value: HeaderValue): ForwardedHop[] {
  const hops: ForwardedHop[] = [];
  walkXForwardedFor(value, (hop) => {
    hops.push(hop);
    return true;
  });
  return hops.reverse();
}

/**
 * Visits the hops of `X-Forwarded-For` from the nearest proxy towards the
 * client, parsing each entry only when reached: a long spoofed header costs
 * nothing beyond the hops the caller trusts.
 */
export function walkXForwardedFor(value: HeaderValue, visit: HopVisitor): void {
  if (typeof value === 'string') {
    walkXffLine(value, visit);
    return;
  }
  if (!Array.isArray(value)) return;
  for (let v = value.length - 1; v >= 0; v--) {
    const line = value[v];
    if (typeof line === 'string' && !walkXffLine(line, visit)) return;
  }
}

function walkXffLine(line: string, visit: HopVisitor): boolean {
  let end = line.length;
  while (end > 0) {
    const comma = line.lastIndexOf(',', end - 1);
    let s = comma + 1;
    let e = end;
    while (s < e && isOws(line.charCodeAt(s))) s++;
    while (e > s && isOws(line.charCodeAt(e - 1))) e--;
    if (e > s && !visit(parseIp(s === 0 && e === line.length ? line : line.slice(s, e)))) {
      return false;
    }
    if (comma < 0) break;
    end = comma;
  }
  return true;
}

/**
 * The hops of RFC 7239 `Forwarded`, client first: one per element, from its
 * `for=` parameter (token or quoted string). Parameter names are
 * case-insensitive. Beyond the RFC, an unquoted value may contain `[`, `]` and
 * `:`, because proxies configured as `for=$remote_addr` write bare IPv6.
 *
 * A malformed element (bad syntax, a repeated `for`, an unterminated quote)
 * becomes one `undefined` hop, and parsing resumes after the next comma, so
 * elements that trusted proxies appended after client garbage still count.
 * Each repeated header line is parsed on its own.
 */
export function parseForwarded(value: HeaderValue): ForwardedHop[] {
  const hops: ForwardedHop[] = [];
  if (typeof value === 'string') parseForwardedLine(value, hops);
  else if (Array.isArray(value)) {
    for (const line of value) if (typeof line === 'string') parseForwardedLine(line, hops);
  }
  return hops;
}

/** Visits the hops of `Forwarded` from the nearest proxy towards the client. */
export function walkForwarded(value: HeaderValue, visit: HopVisitor): void {
  const hops = parseForwarded(value);
  for (let i = hops.length - 1; i >= 0; i--) if (!visit(hops[i])) return;
}

/**
 * The address of one `Forwarded` node (the unquoted `for=` value):
 * `192.0.2.43`, `192.0.2.43:47011`, `[2001:db8::17]`, `[2001:db8::17]:4711`,
 * with a numeric or obfuscated (`:_port`) port. `unknown` and obfuscated
 * identifiers (`_hidden`) are not addresses and give undefined.
 */
export function parseForwardedNode(node: string): ForwardedHop {
  const n = node.length;
  if (n === 0 || node.charCodeAt(0) === 0x5f /* _ */) return undefined;
  const colon = node.lastIndexOf(':');
  if (colon > 0 && colon + 1 < n && node.charCodeAt(colon + 1) === 0x5f) {
    if (!isObfuscated(node, colon + 1, n)) return undefined;
    const host = node.slice(0, colon);
    // A port follows a bracketed IPv6 address or an IPv4 address, never bare IPv6.
    if (host.charCodeAt(host.length - 1) !== 0x5d && host.indexOf(':') >= 0) return undefined;
    return parseIp(host);
  }
  return parseIp(node);
}

const tchar = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  tchar[c.charCodeAt(0)] = 1;
}
const valueChar = tchar.slice();
for (const c of '[]:') valueChar[c.charCodeAt(0)] = 1;

const obfChar = new Uint8Array(128);
for (const c of '._-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz') {
  obfChar[c.charCodeAt(0)] = 1;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function inTable(table: Uint8Array, c: number): boolean {
  return c < 128 && table[c] === 1;
}

// `_` followed by one or more of ALPHA / DIGIT / "." / "_" / "-".
function isObfuscated(text: string, start: number, end: number): boolean {
  if (end - start < 2 || text.charCodeAt(start) !== 0x5f) return false;
  for (let i = start + 1; i < end; i++) if (!inTable(obfChar, text.charCodeAt(i))) return false;
  return true;
}

function skipOws(line: string, i: number): number {
  while (i < line.length && isOws(line.charCodeAt(i))) i++;
  return i;
}

// Parser state of one quoted string: where it ended and its unescaped content.
let quotedEnd = 0;
let quotedValue = '';

// Reads the quoted string opening at line[start]; false when unterminated or holding a control character.
function readQuoted(line: string, start: number): boolean {
  const n = line.length;
  let escaped = false;
  for (let i = start + 1; i < n; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x22) {
      const raw = line.slice(start + 1, i);
      quotedValue = escaped ? raw.replace(/\\([\s\S])/g, '$1') : raw;
      quotedEnd = i + 1;
      return true;
    }
    if (c === 0x5c /* \ */) {
      i++;
      if (i >= n) return false;
      const next = line.charCodeAt(i);
      if ((next < 0x20 && next !== 0x09) || next === 0x7f || next > 0xff) return false;
      escaped = true;
      continue;
    }
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return false;
}

function parseForwardedLine(line: string, hops: ForwardedHop[]): void {
  const n = line.length;
  let i = 0;
  for (;;) {
    let forValue: string | undefined;
    let sawPair = false;
    let ok = true;
    for (;;) {
      i = skipOws(line, i);
      if (i >= n) break;
      let c = line.charCodeAt(i);
      if (c === 0x2c /* , */) break;
      if (c === 0x3b /* ; */) {
        i++;
        continue;
      }
      const nameStart = i;
      while (i < n && inTable(tchar, line.charCodeAt(i))) i++;
      if (i === nameStart || i >= n || line.charCodeAt(i) !== 0x3d /* = */) {
        ok = false;
        break;
      }
      const isFor =
        i - nameStart === 3 &&
        (line.charCodeAt(nameStart) | 0x20) === 0x66 &&
        (line.charCodeAt(nameStart + 1) | 0x20) === 0x6f &&
        (line.charCodeAt(nameStart + 2) | 0x20) === 0x72;
      i++;
      sawPair = true;
      let value: string;
      if (i < n && line.charCodeAt(i) === 0x22) {
        if (!readQuoted(line, i)) {
          // Resume after the next comma past the stray quote, not at the end of
          // the line: what follows may be a trusted proxy's element.
          i++;
          ok = false;
          break;
        }
        value = quotedValue;
        i = quotedEnd;
      } else {
        const valueStart = i;
        while (i < n && inTable(valueChar, line.charCodeAt(i))) i++;
        if (i === valueStart) {
          ok = false;
          break;
        }
        value = isFor ? line.slice(valueStart, i) : '';
      }
      if (isFor) {
        if (forValue !== undefined) {
          ok = false;
          break;
        }
        forValue = value;
      }
      i = skipOws(line, i);
      if (i >= n) break;
      c = line.charCodeAt(i);
      if (c === 0x3b) {
        i++;
        continue;
      }
      if (c !== 0x2c) ok = false;
      break;
    }
    if (!ok) {
      const comma = line.indexOf(',', i);
      i = comma < 0 ? n : comma;
      hops.push(undefined);
    } else if (sawPair) {
      hops.push(forValue === undefined ? undefined : parseForwardedNode(forValue));
    }
    if (i >= n) return;
    i++;
  }
}
