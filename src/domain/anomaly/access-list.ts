import { InvalidOptionError } from '../config/errors.ts';
import { type IpAddress, parseCidr, parseIp } from '../net/ip.ts';

/** Options of {@link defineAccessList}. */
export interface AccessListOptions {
  /**
   * Never counted, limited or banned. Entries: an IP address
   * (`203.0.113.7`, `2001:db8::1`, `::ffff:203.0.113.7`), a CIDR
   * (`10.0.0.0/8`, `2001:db8::/32`, `::ffff:10.0.0.0/104`), `ip:` followed by
   * either, or an exact subject such as `user:42` or `key:<hash>`.
   */
  readonly allow?: readonly string[] | undefined;
  /** Refused before anything is counted; same entry forms as `allow`. */
  readonly deny?: readonly string[] | undefined;
}

/** The list's answer: listed as allowed, listed as denied, or not listed. */
export type AccessVerdict = 'allow' | 'deny' | undefined;

/** Allow and deny lists by exact subject and by IP range. */
export interface AccessList {
  /** Number of entries (both lists). */
  readonly size: number;
  /**
   * The verdict for a request. For the IP the most specific matching range
   * decides (a deny inside an allowed range denies, an allow inside a denied
   * range allows); any denied subject denies; otherwise any allowed subject
   * allows. An unparsable IP matches no range. When `ip` stands for a group
   * of addresses (the network of a grouped `ip:` subject, `groupPrefix` its
   * prefix length), only ranges holding the whole group decide: a narrower
   * one would say something of some of its addresses only.
   */
  check(
    ip?: string | IpAddress | undefined,
    subjects?: readonly (string | undefined)[],
    groupPrefix?: number,
  ): AccessVerdict;
}

type Verdict = 'allow' | 'deny';

// A subject prefix such as `user:`; hex-only words (`fe80:`) are IPv6, not prefixes.
const subjectPattern = /^[a-z][a-z0-9_-]*:/;
const hexWord = /^[0-9a-f]+:/;
const maxEntryLength = 1024;

/**
 * Validates the lists once, at start-up: an entry that is neither a valid
 * address, a valid CIDR nor a `prefix:value` subject, an empty one, or one
 * listed in both lists throws an InvalidOptionError naming it (`deny[3]`).
 * IPv4 entries and addresses are matched in their IPv4-mapped IPv6 form, so
 * `::ffff:10.0.0.0/104` and `10.0.0.0/8` are the same range and `::/0`
 * holds every address. Lookups cost one hash probe per distinct prefix
 * length in the lists, whatever their size.
 */
export function defineAccessList(options: AccessListOptions = {}, path = 'lists'): AccessList {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(path, options, 'an object with allow and deny arrays');
  }
  // Prefix length (0-128, on the 16-byte form) → masked network hex → verdict.
  const ranges = new Map<number, Map<string, Verdict>>();
  const values = new Map<string, Verdict>();
  const origin = new Map<string, string>();
  let size = 0;

  const add = (list: 'allow' | 'deny', entries: readonly string[] | undefined) => {
    if (entries === undefined) return;
    if (!Array.isArray(entries)) {
      throw new InvalidOptionError(`${path}.${list}`, entries, 'an array of strings');
    }
    entries.forEach((entry: unknown, index) => {
      const option = `${path}.${list}[${index}]`;
      if (typeof entry !== 'string' || entry.trim() === '' || entry.length > maxEntryLength) {
        throw new InvalidOptionError(
          option,
          entry,
          'an IP address, a CIDR such as 10.0.0.0/8 or 2001:db8::/32, or a subject such as user:42',
        );
      }
      const text = entry.trim();
      let key: string;
      if (subjectPattern.test(text) && !hexWord.test(text) && !text.startsWith('ip:')) {
        key = `v:${text}`;
        const previous = values.get(text);
        conflict(option, entry, key, list, previous);
        values.set(text, list);
      } else {
        const cidr = parseCidr(text.startsWith('ip:') ? text.slice(3) : text, option);
        const bytes = cidr.family === 4 ? mapped(cidr.bytes) : cidr.bytes;
        const prefix = cidr.family === 4 ? cidr.prefix + 96 : cidr.prefix;
        const network = hex(bytes);
        key = `r:${prefix}:${network}`;
        let byNetwork = ranges.get(prefix);
        if (byNetwork === undefined) {
          byNetwork = new Map();
          ranges.set(prefix, byNetwork);
        }
        conflict(option, entry, key, list, byNetwork.get(network));
        byNetwork.set(network, list);
      }
      origin.set(key, option);
      size++;
    });
  };

  const conflict = (
    option: string,
    entry: string,
    key: string,
    list: Verdict,
    previous: Verdict | undefined,
  ) => {
    if (previous !== undefined && previous !== list) {
      throw new InvalidOptionError(
        option,
        entry,
        `an entry not also in the other list (it matches ${origin.get(key)})`,
      );
    }
  };

  add('deny', options.deny);
  add('allow', options.allow);
  const prefixes = [...ranges.keys()].sort((a, b) => b - a);

  const rangeVerdict = (ip: IpAddress, groupPrefix: number | undefined): Verdict | undefined => {
    const bytes = ip.family === 4 ? mapped(ip.bytes) : ip.bytes;
    // Prefixes are counted on the 16-byte form, where an IPv4 /n is /96+n.
    const widest =
      groupPrefix === undefined ? 128 : ip.family === 4 ? 96 + groupPrefix : groupPrefix;
    for (let i = 0; i < prefixes.length; i++) {
      const prefix = prefixes[i]!;
      if (prefix > widest) continue;
      const verdict = ranges.get(prefix)!.get(maskedHex(bytes, prefix));
      if (verdict !== undefined) return verdict;
    }
    return undefined;
  };

  const list: AccessList = {
    size,
    check(ip, subjects, groupPrefix) {
      if (size === 0) return undefined;
      let verdict: Verdict | undefined;
      if (ip !== undefined && prefixes.length > 0) {
        const parsed = typeof ip === 'string' ? parseIp(ip) : ip;
        if (parsed !== undefined) verdict = rangeVerdict(parsed, groupPrefix);
        if (verdict === 'deny') return 'deny';
      }
      if (subjects !== undefined && values.size > 0) {
        for (let i = 0; i < subjects.length; i++) {
          const subject = subjects[i];
          if (subject === undefined) continue;
          const listed = values.get(subject);
          if (listed === 'deny') return 'deny';
          if (listed === 'allow') verdict = 'allow';
        }
      }
      return verdict;
    },
  };
  return Object.freeze(list);
}

function mapped(v4: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

const hexByte = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function hex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += hexByte[bytes[i]!];
  return out;
}

function maskedHex(bytes: Uint8Array, prefix: number): string {
  let out = '';
  for (let i = 0; i < 16; i++) {
    const bits = prefix - i * 8;
    const mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    out += hexByte[bytes[i]! & mask];
  }
  return out;
}
