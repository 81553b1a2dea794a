/**
 * Key builders: functions from a request to a rate-limit subject. Each builder
 * prefixes its subjects (`ip:`, `user:`, `key:`, `custom:`), so an IP address
 * and a user id with the same text never share a counter. Subjects are still
 * client-influenced text: stores escape them (`escapeSubject`) before use.
 * A builder returns undefined when the request has no such subject.
 */

import { InvalidOptionError } from '../config/errors.ts';
import { choiceOption, integerOption, nameOption } from '../config/validate.ts';
import { base64url, sha256Text } from '../crypto/sha256.ts';
import { type HopVisitor, walkForwarded, walkXForwardedFor } from '../net/forwarded.ts';
import {
  type Cidr,
  cidrContains,
  groupWith,
  type IpAddress,
  parseIp,
  parseProxyCidr,
} from '../net/ip.ts';

/** The framework-neutral request a key builder reads; header names are lower case. */
export interface RequestLike {
  /** The socket's peer address, as Node's `socket.remoteAddress` gives it. */
  readonly remoteAddress?: string | undefined;
  /** Request headers by lower-case name; repeated headers as an array in arrival order. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** A key builder: the request's subject, or undefined when it has none. */
export type KeyFunction<R = RequestLike> = (
  req: R,
) => string | undefined | Promise<string | undefined>;

/**
 * Which forwarding hops to believe: `false` (only the socket address), a hop
 * count (that many proxies, the socket peer first), or trusted addresses and
 * CIDRs (skip every hop inside them).
 */
export type TrustProxy = false | number | readonly string[];

/** Options of {@link clientIp}. */
export interface ClientIpOptions {
  /** Which proxies to trust; `false` (forwarding headers ignored) by default. */
  readonly trustProxy?: TrustProxy | undefined;
  /** IPv4 grouping prefix, 0-32; 32 by default. */
  readonly ipv4Prefix?: number | undefined;
  /** IPv6 grouping prefix, 0-128; 64 by default (one customer's LAN). */
  readonly ipv6Prefix?: number | undefined;
  /** The forwarding header your proxies set; `x-forwarded-for` by default. */
  readonly header?: 'x-forwarded-for' | 'forwarded' | undefined;
}

/** Options of {@link apiKey}. */
export interface ApiKeyOptions {
  /** Lower-case name of the header that carries the key; `x-api-key` by default. */
  readonly header?: string | undefined;
}

/** Options of {@link customKey}. */
export interface CustomKeyOptions {
  /** Subject prefix: a lower-case word other than `ip`, `user`, `key`; `custom` by default. */
  readonly prefix?: string | undefined;
}

/** What a user-id or custom-key function may return; undefined, null and '' mean no subject. */
export type SubjectPart = string | number | undefined | null;

const maxHops = 100;
const trustAccepted =
  `false, a hop count (an integer from 0 to ${maxHops}), or an array of trusted IP addresses ` +
  'and CIDRs such as ["10.0.0.0/8"] (true is refused: trusting every hop lets any client pick its address)';

/**
 * The client IP subject, such as `ip:203.0.113.7` or `ip:2001:db8:1:2::/64`.
 *
 * With `trustProxy: false` the socket address is the client and forwarding
 * headers are ignored. Otherwise the chain is walked from the socket address
 * towards the client (as Express's proxy-addr does): while the current address
 * is trusted, step to the next hop of `header`, right to left. A hop that is
 * not an IP address (malformed, `unknown`, obfuscated) ends the walk and the
 * last good address, the trusted proxy that reported it, is the client: text a
 * client wrote must never become its subject. Returns undefined when the
 * socket address is missing or unparsable.
 */
export function clientIp(options: ClientIpOptions = {}): (req: RequestLike) => string | undefined {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object');
  }
  const trust = trustOption(options.trustProxy ?? false);
  const ipv4Prefix = integerOption('ipv4Prefix', options.ipv4Prefix ?? 32, 0, 32);
  const ipv6Prefix = integerOption('ipv6Prefix', options.ipv6Prefix ?? 64, 0, 128);
  const header = choiceOption('header', options.header ?? 'x-forwarded-for', [
    'x-forwarded-for',
    'forwarded',
  ]);
  const walk = header === 'forwarded' ? walkForwarded : walkXForwardedFor;
  const subject = (ip: IpAddress | undefined): string | undefined =>
    ip === undefined ? undefined : `ip:${groupWith(ip, ipv4Prefix, ipv6Prefix)}`;

  if (trust === 0 || (Array.isArray(trust) && trust.length === 0)) {
    // The subject depends on the address alone: the last one is kept, since a
    // keep-alive connection sends request after request from one address.
    let lastAddress: unknown;
    let lastSubject: string | undefined;
    return (req) => {
      const address = req.remoteAddress;
      if (address !== lastAddress || typeof address !== 'string') {
        lastSubject = subject(parseIp(address as string));
        lastAddress = address;
      }
      return lastSubject;
    };
  }
  if (typeof trust === 'number') {
    return (req) => {
      let client = parseIp(req.remoteAddress as string);
      if (client === undefined) return undefined;
      let trusted = 1;
      const visit: HopVisitor = (hop) => {
        if (hop === undefined) return false;
        client = hop;
        return ++trusted <= trust;
      };
      walk(req.headers?.[header], visit);
      return subject(client);
    };
  }
  const ranges = trust as readonly Cidr[];
  const isTrusted = (ip: IpAddress): boolean => {
    for (let i = 0; i < ranges.length; i++) if (cidrContains(ranges[i]!, ip)) return true;
    return false;
  };
  return (req) => {
    let client = parseIp(req.remoteAddress as string);
    if (client === undefined) return undefined;
    if (!isTrusted(client)) return subject(client);
    const visit: HopVisitor = (hop) => {
      if (hop === undefined) return false;
      client = hop;
      return isTrusted(hop);
    };
    walk(req.headers?.[header], visit);
    return subject(client);
  };
}

// Returns a hop count (0 for false) or the parsed trusted ranges.
function trustOption(value: unknown): number | readonly Cidr[] {
  if (value === false) return 0;
  if (typeof value === 'number') return integerOption('trustProxy', value, 0, maxHops);
  if (!Array.isArray(value)) throw new InvalidOptionError('trustProxy', value, trustAccepted);
  return Object.freeze(
    value.map((entry: unknown, index) => {
      const option = `trustProxy[${index}]`;
      if (typeof entry !== 'string') {
        throw new InvalidOptionError(
          option,
          entry,
          'an IP address or CIDR string such as 10.0.0.0/8',
        );
      }
      return parseProxyCidr(entry, option);
    }),
  );
}

/**
 * The authenticated user's subject, `user:<id>`, from `getUserId` (sync or
 * async). undefined, null or '' mean an anonymous request: no subject.
 */
export function userKey<R = RequestLike>(
  getUserId: (req: R) => SubjectPart,
): (req: R) => string | undefined;
/** The authenticated user's subject from an async `getUserId`. */
export function userKey<R = RequestLike>(
  getUserId: (req: R) => SubjectPart | Promise<SubjectPart>,
): KeyFunction<R>;
export function userKey<R = RequestLike>(
  getUserId: (req: R) => SubjectPart | Promise<SubjectPart>,
): KeyFunction<R> {
  return prefixed('getUserId', getUserId, 'user:');
}

/**
 * A subject from your own function, prefixed (`custom:<value>` by default) so
 * it cannot collide with the built-in builders' subjects.
 */
export function customKey<R = RequestLike>(
  getKey: (req: R) => SubjectPart,
  options?: CustomKeyOptions,
): (req: R) => string | undefined;
/** A subject from your own async function. */
export function customKey<R = RequestLike>(
  getKey: (req: R) => SubjectPart | Promise<SubjectPart>,
  options?: CustomKeyOptions,
): KeyFunction<R>;
export function customKey<R = RequestLike>(
  getKey: (req: R) => SubjectPart | Promise<SubjectPart>,
  options: CustomKeyOptions = {},
): KeyFunction<R> {
  const prefix = nameOption(
    'prefix',
    options.prefix ?? 'custom',
    /^(?!(?:ip|user|key)$)[a-z][a-z0-9_-]{0,31}$/,
    "a lower-case word (a-z, 0-9, '_', '-'; at most 32 characters) other than 'ip', 'user' and 'key'",
  );
  return prefixed('getKey', getKey, `${prefix}:`);
}

function prefixed<R>(
  option: string,
  fn: (req: R) => SubjectPart | Promise<SubjectPart>,
  prefix: string,
): KeyFunction<R> {
  if (typeof fn !== 'function') throw new InvalidOptionError(option, fn, 'a function');
  const toSubject = (part: SubjectPart): string | undefined => {
    if (part === undefined || part === null || part === '') return undefined;
    if (typeof part === 'string') return prefix + part;
    if (typeof part === 'number' && Number.isFinite(part)) return prefix + String(part);
    throw new InvalidOptionError(
      option,
      part,
      'a function returning a string, a finite number, undefined or null',
    );
  };
  return (req) => {
    const part = fn(req);
    return part instanceof Promise ? part.then(toSubject) : toSubject(part);
  };
}

/**
 * The API key's subject, `key:<base64url SHA-256 of the key>`; the raw key is
 * never part of it. A repeated header is joined with `, `, as Node joins it.
 * Synchronous, so the request path awaits nothing for it (Web Crypto would
 * cost a thread-pool round trip per request); undefined when the header is
 * absent or empty.
 */
export function apiKey(options: ApiKeyOptions = {}): (req: RequestLike) => string | undefined {
  const header = nameOption(
    'header',
    options.header ?? 'x-api-key',
    /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/,
    "a lower-case header name such as 'x-api-key'",
  );
  return (req) => {
    const value = req.headers?.[header];
    const key = typeof value === 'string' ? value : Array.isArray(value) ? value.join(', ') : '';
    if (key === '') return undefined;
    return `key:${base64url(sha256Text(key))}`;
  };
}
