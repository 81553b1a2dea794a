import { isIP } from 'node:net';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import {
  cidrContains,
  formatIp,
  groupIp,
  ipFromBytes,
  parseCidr,
  parseIp,
  parseProxyCidr,
} from '../../../src/domain/net/ip.ts';

function bigintOf(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

// The address in the 128-bit space where IPv4 lives at ::ffff:0:0/96.
function mapped128(bytes: Uint8Array): bigint {
  return bytes.length === 4 ? (0xffffn << 32n) | bigintOf(bytes) : bigintOf(bytes);
}

function uncompressed(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const v4Bytes = fc.uint8Array({ minLength: 4, maxLength: 4 });
const v6Bytes = fc.uint8Array({ minLength: 16, maxLength: 16 });
const mappedBytes = v4Bytes.map((b) =>
  Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...b]),
);
// Sparse IPv6 addresses exercise `::` compression far more than uniform bytes do.
const sparseV6Bytes = fc
  .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
    minLength: 8,
    maxLength: 8,
  })
  .map((groups) => Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff])));
const anyBytes = fc.oneof(v4Bytes, v6Bytes, mappedBytes, sparseV6Bytes);

describe('parseIp', () => {
  it.each([
    ['192.0.2.1', 4, '192.0.2.1'],
    ['0.0.0.0', 4, '0.0.0.0'],
    ['255.255.255.255', 4, '255.255.255.255'],
    ['192.0.2.1:8080', 4, '192.0.2.1'],
    ['::1', 6, '::1'],
    ['::', 6, '::'],
    ['2001:DB8::1', 6, '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', 6, '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', 6, '1:0:0:2::3'],
    ['1:2:3:4:5:6:7::', 6, '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', 6, '0:2:3:4:5:6:7:8'],
    ['[::1]', 6, '::1'],
    ['[::1]:443', 6, '::1'],
    ['[2001:db8::1]:65535', 6, '2001:db8::1'],
    ['::ffff:192.0.2.1', 4, '192.0.2.1'],
    ['::FFFF:c000:0201', 4, '192.0.2.1'],
    ['[::ffff:192.0.2.1]:80', 4, '192.0.2.1'],
    ['::192.0.2.1', 6, '::c000:201'],
    ['1:2:3:4:5:6:192.0.2.1', 6, '1:2:3:4:5:6:c000:201'],
    ['64:ff9b::192.0.2.1', 6, '64:ff9b::c000:201'],
    ['fe80::1%eth0', 6, 'fe80::1'],
    ['[fe80::1%25en0]:80', 6, 'fe80::1'],
  ] as const)('parses %s', (text, family, canonical) => {
    const ip = parseIp(text);
    expect(ip?.family).toBe(family);
    expect(ip?.text).toBe(canonical);
    expect(ip?.bytes.length).toBe(family === 4 ? 4 : 16);
  });

  it.each([
    '',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '01.2.3.4',
    '1.2.3.04',
    '00.0.0.0',
    '256.0.0.1',
    '1.2.3.999',
    '1.2.3',
    '1.2.3.4.5',
    '1..2.3',
    '1.2.3.',
    '.1.2.3',
    '0x7f.0.0.1',
    '127.1',
    '1.2.3.4:',
    '1.2.3.4:65536',
    '1.2.3.4:123456',
    '1.2.3.4:-1',
    '1.2.3.4%eth0',
    '[1.2.3.4]',
    '[1.2.3.4]:80',
    ':1',
    '1:',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8::',
    '12345::1',
    'g::1',
    '::1.2.3',
    '::1.2.3.4:5',
    '::1.2.3.4.5',
    '1:2:3:4:5:6:7:1.2.3.4',
    '::01.2.3.4',
    '[::1',
    '::1]',
    '[::1]80',
    '[::1]:',
    '[::1]:99999',
    '[[::1]]',
    'fe80::1%',
    'fe80::1%eth 0',
    'fe80::1%eth0/1',
    '::1/128',
    'unknown',
    '_hidden',
    'localhost',
    '١.٢.٣.٤',
    `${'1'.repeat(200)}`,
  ])('rejects %j', (text) => {
    expect(parseIp(text)).toBeUndefined();
  });

  it('returns undefined for non-strings', () => {
    expect(parseIp(undefined as unknown as string)).toBeUndefined();
    expect(parseIp(42 as unknown as string)).toBeUndefined();
  });

  it('round-trips: parse(format(ip)) gives the same bytes and text', () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        const ip = ipFromBytes(bytes);
        const again = parseIp(formatIp(ip));
        expect(again).toBeDefined();
        expect(again!.bytes).toEqual(ip.bytes);
        expect(again!.family).toBe(ip.family);
        expect(again!.text).toBe(ip.text);
        expect(mapped128(again!.bytes)).toBe(mapped128(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads uncompressed, bracketed and port-suffixed text of any address', () => {
    fc.assert(
      fc.property(anyBytes, fc.integer({ min: 0, max: 65535 }), (bytes, port) => {
        const ip = ipFromBytes(bytes);
        const plain = uncompressed(bytes);
        expect(parseIp(plain)?.text).toBe(ip.text);
        const withPort = bytes.length === 4 ? `${plain}:${port}` : `[${plain}]:${port}`;
        expect(parseIp(withPort)?.text).toBe(ip.text);
      }),
    );
  });

  it('matches the WHATWG URL serializer for IPv6 and Node for IPv4', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV6(), fc.ipV4()), (text) => {
        const ip = parseIp(text);
        expect(ip).toBeDefined();
        if (text.includes(':')) {
          const whatwg = new URL(`http://[${text}]/`).hostname.slice(1, -1);
          if (ip!.family === 6) expect(ip!.text).toBe(whatwg);
          else expect(whatwg.startsWith('::ffff:')).toBe(true);
        } else {
          expect(ip!.text).toBe(text);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly what node:net accepts (no ports, brackets or zones)', () => {
    const near = fc.oneof(fc.ipV4(), fc.ipV6()).chain((valid) =>
      fc.oneof(
        fc.constant(valid),
        fc
          .tuple(
            fc.nat({ max: valid.length }),
            fc.nat({ max: 3 }),
            fc.constantFrom('', '0', '1', 'f', 'F', ':', '.', '::', 'g', '00', '256'),
          )
          .map(([at, drop, insert]) => valid.slice(0, at) + insert + valid.slice(at + drop)),
      ),
    );
    const random = fc.string({
      unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'),
      maxLength: 48,
    });
    fc.assert(
      fc.property(fc.oneof(near, random), (text) => {
        fc.pre(!/^\d+\.\d+\.\d+\.\d+:/.test(text));
        expect(parseIp(text) !== undefined).toBe(isIP(text) !== 0);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('ipFromBytes', () => {
  it('turns IPv4-mapped bytes into IPv4 and copies its input', () => {
    const bytes = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 0, 0, 1]);
    const ip = ipFromBytes(bytes);
    expect(ip.family).toBe(4);
    expect(ip.text).toBe('10.0.0.1');
    bytes[15] = 2;
    expect(ip.text).toBe('10.0.0.1');
  });

  it('refuses other lengths', () => {
    expect(() => ipFromBytes(new Uint8Array(5))).toThrow(TypeError);
  });
});

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', 4, 8, '10.0.0.0/8'],
    ['0.0.0.0/0', 4, 0, '0.0.0.0/0'],
    ['192.0.2.1', 4, 32, '192.0.2.1/32'],
    ['192.0.2.1/32', 4, 32, '192.0.2.1/32'],
    ['2001:db8::/32', 6, 32, '2001:db8::/32'],
    ['::/0', 6, 0, '::/0'],
    ['::1', 6, 128, '::1/128'],
    ['FE80::/10', 6, 10, 'fe80::/10'],
    ['::ffff:10.0.0.0/104', 4, 8, '10.0.0.0/8'],
    ['::ffff:0:0/96', 4, 0, '0.0.0.0/0'],
    ['::ffff:10.0.0.1', 4, 32, '10.0.0.1/32'],
  ] as const)('parses %s', (text, family, prefix, canonical) => {
    const cidr = parseCidr(text);
    expect(cidr.family).toBe(family);
    expect(cidr.prefix).toBe(prefix);
    expect(cidr.text).toBe(canonical);
  });

  it.each([
    '',
    'bogus',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/-1',
    '10.0.0.0/08',
    '10.0.0.0/8/8',
    '10.0.0.0 /8',
    '10.0.0/8',
    '010.0.0.0/8',
    '2001:db8::/129',
    '[::1]/128',
    '[::1]',
    '1.2.3.4:80',
    'fe80::1%eth0',
    '10.0.0.1/8',
    '2001:db8::1/64',
  ])('rejects %j with an InvalidOptionError naming the option', (text) => {
    const error = thrown(() => parseCidr(text, 'trustProxy[2]'));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe('trustProxy[2]');
    expect((error as InvalidOptionError).code).toBe('invalid_option');
    expect((error as Error).message).toContain('trustProxy[2]');
  });

  it('suggests the network when host bits are set', () => {
    expect(() => parseCidr('10.1.2.3/8')).toThrow(/did you mean 10\.0\.0\.0\/8/);
  });

  it('rejects non-strings', () => {
    expect(() => parseCidr(7 as unknown as string, 'x')).toThrow(InvalidOptionError);
  });
});

describe('cidrContains', () => {
  it('handles the usual cases', () => {
    const ten = parseCidr('10.0.0.0/8');
    expect(cidrContains(ten, parseIp('10.255.0.1')!)).toBe(true);
    expect(cidrContains(ten, parseIp('11.0.0.1')!)).toBe(false);
    expect(cidrContains(ten, parseIp('::ffff:10.1.1.1')!)).toBe(true);
    expect(cidrContains(ten, parseIp('2001:db8::1')!)).toBe(false);
    expect(cidrContains(parseCidr('::/0'), parseIp('192.0.2.1')!)).toBe(true);
    expect(cidrContains(parseCidr('::/96'), parseIp('192.0.2.1')!)).toBe(false);
    expect(cidrContains(parseCidr('2001:db8::/32'), parseIp('2001:db8:ffff::1')!)).toBe(true);
    expect(cidrContains(parseCidr('2001:db8::/33'), parseIp('2001:db8:8000::1')!)).toBe(false);
  });

  it('agrees with a bigint reference', () => {
    const cidrAndIp = fc
      .tuple(anyBytes, anyBytes, fc.nat({ max: 128 }), fc.boolean())
      .map(([netBytes, other, rawPrefix, related]) => {
        const bits = netBytes.length * 8;
        const prefix = rawPrefix % (bits + 1);
        const shift = BigInt(bits - prefix);
        const network = (bigintOf(netBytes) >> shift) << shift;
        const masked = new Uint8Array(netBytes.length);
        for (let i = 0; i < masked.length; i++) {
          masked[i] = Number((network >> BigInt((masked.length - 1 - i) * 8)) & 0xffn);
        }
        // Half the time the address is the network's own address with some host bits changed.
        const ipBytes = related
          ? netBytes.map((b, i) => (i === netBytes.length - 1 ? b ^ 1 : b))
          : other;
        return { text: `${uncompressed(masked)}/${prefix}`, ipBytes };
      });
    fc.assert(
      fc.property(cidrAndIp, ({ text, ipBytes }) => {
        const cidr = parseCidr(text);
        const ip = ipFromBytes(ipBytes);
        const bits128 = BigInt(128 - (cidr.family === 4 ? cidr.prefix + 96 : cidr.prefix));
        const expected = mapped128(cidr.bytes) >> bits128 === mapped128(ip.bytes) >> bits128;
        expect(cidrContains(cidr, ip)).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('groupIp', () => {
  it('keeps IPv4 whole and groups IPv6 by /64 by default', () => {
    expect(groupIp(parseIp('203.0.113.7')!)).toBe('203.0.113.7');
    expect(groupIp(parseIp('2001:db8:1:2:3:4:5:6')!)).toBe('2001:db8:1:2::/64');
    expect(groupIp(parseIp('::ffff:203.0.113.7')!)).toBe('203.0.113.7');
    expect(groupIp(parseIp('2001:db8::1')!)).toBe('2001:db8::/64');
  });

  it('groups by the given prefixes', () => {
    const v4 = parseIp('203.0.113.7')!;
    const v6 = parseIp('2001:db8:1:2:3:4:5:6')!;
    expect(groupIp(v4, { ipv4Prefix: 24 })).toBe('203.0.113.0/24');
    expect(groupIp(v4, { ipv4Prefix: 0 })).toBe('0.0.0.0/0');
    expect(groupIp(v4, { ipv4Prefix: 31 })).toBe('203.0.113.6/31');
    expect(groupIp(v6, { ipv6Prefix: 128 })).toBe('2001:db8:1:2:3:4:5:6');
    expect(groupIp(v6, { ipv6Prefix: 48 })).toBe('2001:db8:1::/48');
    expect(groupIp(v6, { ipv6Prefix: 56 })).toBe('2001:db8:1::/56');
    expect(groupIp(v6, { ipv6Prefix: 60 })).toBe('2001:db8:1::/60');
    expect(groupIp(parseIp('2001:db8:1:ff::')!, { ipv6Prefix: 60 })).toBe('2001:db8:1:f0::/60');
    expect(groupIp(v6, { ipv6Prefix: 0 })).toBe('::/0');
  });

  it('gives one subject per prefix group (bigint reference)', () => {
    fc.assert(
      fc.property(v6Bytes, v6Bytes, fc.integer({ min: 0, max: 128 }), (a, b, prefix) => {
        const shift = BigInt(128 - prefix);
        const same = bigintOf(a) >> shift === bigintOf(b) >> shift;
        const ga = groupIp(ipFromBytes(a), { ipv6Prefix: prefix, ipv4Prefix: 32 });
        const gb = groupIp(ipFromBytes(b), { ipv6Prefix: prefix, ipv4Prefix: 32 });
        const mappedA = ipFromBytes(a).family === 4;
        const mappedB = ipFromBytes(b).family === 4;
        fc.pre(!mappedA && !mappedB);
        expect(ga === gb).toBe(same);
        const cidr = parseCidr(prefix === 128 ? `${ga}/128` : ga);
        expect(cidrContains(cidr, ipFromBytes(a))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    [{ ipv4Prefix: 33 }, 'ipv4Prefix'],
    [{ ipv4Prefix: -1 }, 'ipv4Prefix'],
    [{ ipv6Prefix: 129 }, 'ipv6Prefix'],
    [{ ipv6Prefix: 64.5 }, 'ipv6Prefix'],
    [{ ipv6Prefix: Number.NaN }, 'ipv6Prefix'],
    [{ ipv6Prefix: '64' as unknown as number }, 'ipv6Prefix'],
  ])('rejects %o naming %s', (options, option) => {
    const error = thrown(() => groupIp(parseIp('::1')!, options));
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
  });
});

describe('parseProxyCidr', () => {
  it('refuses ranges wider than any proxy network, and IPv6 ranges over every IPv4 address', () => {
    for (const text of [
      '0.0.0.0/0',
      '::/0',
      '::ffff:0:0/96',
      '0.0.0.0/1',
      '128.0.0.0/1',
      '10.0.0.0/7',
      '::/1',
      '8000::/6',
    ]) {
      expect(() => parseProxyCidr(text, 'trustProxy[0]'), text).toThrow(
        /^Invalid option trustProxy\[0\]: .*(wider than \/[87]|holding every IPv4 address), so clients in it could pick/,
      );
    }
    for (const text of ['::/64', '::/80', '::fffe:0:0/95']) {
      expect(() => parseProxyCidr(text, 'trustProxy[0]'), text).toThrow(
        /a range holding every IPv4 address/,
      );
    }
  });

  it('takes proxy-sized ranges and addresses, as parseCidr does', () => {
    for (const text of [
      '10.0.0.0/8',
      'fc00::/7',
      'fd00::/8',
      '2001:db8::/32',
      '::1',
      '192.0.2.7',
      '::ffff:10.0.0.0/104',
    ]) {
      expect(parseProxyCidr(text, 'p')).toEqual(parseCidr(text, 'p'));
    }
    expect(() => parseProxyCidr('10.0.0.1/8', 'p')).toThrow(/did you mean 10\.0\.0\.0\/8/);
  });
});
