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
 * Each line is parsed from its right-hand end, where trusted proxies append,
 * so the text a client wrote further left (such as an unterminated quote) can
 * never change how a proxy's well-formed element reads. A malformed element
 * (bad syntax, a repeated `for`, an unterminated quote) becomes one
 * `undefined` hop, and parsing resumes at the comma before it. Each repeated
 * header line is parsed on its own.
 */
export function parseForwarded(value: HeaderValue): ForwardedHop[] {
  const hops: ForwardedHop[] = [];
  walkForwarded(value, (hop) => {
    hops.push(hop);
    return true;
  });
  return hops.reverse();
}

/**
 * Visits the hops of `Forwarded` from the nearest proxy towards the client,
 * parsing each element only when reached (see {@link parseForwarded}).
 */
export function walkForwarded(value: HeaderValue, visit: HopVisitor): void {
  if (typeof value === 'string') {
    walkForwardedLine(value, visit);
    return;
  }
  if (!Array.isArray(value)) return;
  for (let v = value.length - 1; v >= 0; v--) {
    const line = value[v];
    if (typeof line === 'string' && !walkForwardedLine(line, visit)) return;
  }
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

// Where line[0, i) ends once the spaces and tabs at its end are dropped.
function skipOwsLeft(line: string, i: number): number {
  while (i > 0 && isOws(line.charCodeAt(i - 1))) i--;
  return i;
}

// The number of backslashes right before line[i].
function backslashesBefore(line: string, i: number): number {
  let run = 0;
  while (i - run > 0 && line.charCodeAt(i - run - 1) === 0x5c /* \ */) run++;
  return run;
}

// Quoted-string content: HTAB, SP, VCHAR, obs-text (quotes and backslashes are checked apart).
function isQdChar(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c !== 0x7f && c <= 0xff);
}

// Parser state of one quoted string: where its opening quote is and whether it holds quoted pairs.
let quotedStart = 0;
let quotedEscaped = false;

// Reads, right to left, the quoted string whose closing quote is line[close].
// A backslash escapes the character after it, so a quote is escaped exactly
// when an odd run of backslashes precedes it: the opening quote is the first
// quote leftwards preceded by an even run. False when the closing quote is escaped,
// no opening quote exists, or the content holds a control character.
function readQuotedLeft(line: string, close: number): boolean {
  if ((backslashesBefore(line, close) & 1) === 1) return false;
  let escaped = false;
  for (let i = close - 1; i >= 0; i--) {
    const c = line.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const run = backslashesBefore(line, i);
      if ((run & 1) === 0) {
        quotedStart = i;
        quotedEscaped = escaped;
        return true;
      }
      escaped = true;
      i -= run;
    } else if (c === 0x5c) {
      escaped = true;
    } else if (!isQdChar(c)) {
      return false;
    }
  }
  return false;
}

// Walks one line's elements right to left; false when the visitor stopped the walk.
function walkForwardedLine(line: string, visit: HopVisitor): boolean {
  let i = line.length;
  for (;;) {
    // One element: parameters right to left, until a comma or the line start.
    let forValue: string | undefined;
    let sawPair = false;
    let ok = true;
    for (;;) {
      i = skipOwsLeft(line, i);
      if (i === 0) break;
      let c = line.charCodeAt(i - 1);
      if (c === 0x2c /* , */) break;
      if (c === 0x3b /* ; */) {
        i--;
        continue;
      }
      const valueEnd = i;
      let quoted = false;
      if (c === 0x22) {
        if (!readQuotedLeft(line, i - 1)) {
          ok = false;
          break;
        }
        quoted = true;
        i = quotedStart;
      } else {
        while (i > 0 && inTable(valueChar, line.charCodeAt(i - 1))) i--;
        if (i === valueEnd) {
          ok = false;
          break;
        }
      }
      const valueStart = i;
      const escaped = quoted && quotedEscaped;
      if (i === 0 || line.charCodeAt(i - 1) !== 0x3d /* = */) {
        ok = false;
        break;
      }
      i--;
      const nameEnd = i;
      while (i > 0 && inTable(tchar, line.charCodeAt(i - 1))) i--;
      if (i === nameEnd) {
        ok = false;
        break;
      }
      sawPair = true;
      if (
        nameEnd - i === 3 &&
        (line.charCodeAt(i) | 0x20) === 0x66 &&
        (line.charCodeAt(i + 1) | 0x20) === 0x6f &&
        (line.charCodeAt(i + 2) | 0x20) === 0x72
      ) {
        if (forValue !== undefined) {
          ok = false;
          break;
        }
        forValue = quoted
          ? unquote(line.slice(valueStart + 1, valueEnd - 1), escaped)
          : line.slice(valueStart, valueEnd);
      }
      i = skipOwsLeft(line, i);
      if (i === 0) break;
      c = line.charCodeAt(i - 1);
      if (c === 0x3b) {
        i--;
        continue;
      }
      if (c !== 0x2c) ok = false;
      break;
    }
    if (!ok) {
      // Resume at the comma before the failure: what lies left of it is client text anyway.
      if (!visit(undefined)) return false;
      i = i > 0 ? line.lastIndexOf(',', i - 1) + 1 : 0;
    } else if (
      sawPair &&
      !visit(forValue === undefined ? undefined : parseForwardedNode(forValue))
    ) {
      return false;
    }
    if (i === 0) return true;
    i--;
  }
}

function unquote(raw: string, escaped: boolean): string {
  return escaped ? raw.replace(/\\([\s\S])/g, '$1') : raw;
}
