import { createHash } from 'node:crypto';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import { isLockWatchError } from '../../../src/domain/errors.ts';
import { ipFromBytes } from '../../../src/domain/net/ip.ts';
import {
  apiKey,
  clientIp,
  customKey,
  type RequestLike,
  userKey,
} from '../../../src/domain/ratelimit/keys.ts';

function req(remoteAddress: string | undefined, headers: RequestLike['headers'] = {}): RequestLike {
  return { remoteAddress, headers };
}

function optionOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(isLockWatchError(error)).toBe(true);
    return (error as InvalidOptionError).option;
  }
  throw new Error('expected an InvalidOptionError');
}

const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => ipFromBytes(b).text);
const v6 = fc
  .uint8Array({ minLength: 16, maxLength: 16 })
  .map((b) => ipFromBytes(b))
  .filter((ip) => ip.family === 6)
  .map((ip) => ip.text);

describe('clientIp', () => {
  it('uses the socket address and ignores forwarding headers by default', () => {
    const key = clientIp();
    const spoofed = req('203.0.113.7', {
      'x-forwarded-for': '1.2.3.4',
      forwarded: 'for=1.2.3.4',
    });
    expect(key(spoofed)).toBe('ip:203.0.113.7');
    expect(clientIp({ trustProxy: false })(spoofed)).toBe('ip:203.0.113.7');
    expect(clientIp({ trustProxy: 0 })(spoofed)).toBe('ip:203.0.113.7');
    expect(clientIp({ trustProxy: [] })(spoofed)).toBe('ip:203.0.113.7');
  });

  it('ignores any spoofed X-Forwarded-For when trustProxy is false (property)', () => {
    const key = clientIp({ trustProxy: false });
    fc.assert(
      fc.property(
        v4,
        fc.oneof(
          fc.string(),
          fc.array(fc.oneof(v4, v6)).map((l) => l.join(', ')),
        ),
        (socket, xff) => {
          expect(key(req(socket, { 'x-forwarded-for': xff, forwarded: `for=${xff}` }))).toBe(
            `ip:${socket}`,
          );
        },
      ),
    );
  });

  it('treats IPv4-mapped IPv6 as IPv4 and groups IPv6 by /64', () => {
    const key = clientIp();
    expect(key(req('::ffff:203.0.113.7'))).toBe('ip:203.0.113.7');
    expect(key(req('2001:db8:1:2:3:4:5:6'))).toBe('ip:2001:db8:1:2::/64');
    expect(key(req('2001:db8:1:2:ffff::1'))).toBe('ip:2001:db8:1:2::/64');
    expect(key(req('fe80::1%eth0'))).toBe('ip:fe80::/64');
  });

  it('groups by the configured prefixes', () => {
    expect(clientIp({ ipv4Prefix: 24 })(req('203.0.113.7'))).toBe('ip:203.0.113.0/24');
    expect(clientIp({ ipv6Prefix: 128 })(req('2001:db8::7'))).toBe('ip:2001:db8::7');
    expect(clientIp({ ipv6Prefix: 48 })(req('2001:db8:1:2::7'))).toBe('ip:2001:db8:1::/48');
  });

  it('returns undefined without a usable socket address', () => {
    const key = clientIp({ trustProxy: 1 });
    expect(key(req(undefined, { 'x-forwarded-for': '1.2.3.4' }))).toBeUndefined();
    expect(key(req('not an ip', { 'x-forwarded-for': '1.2.3.4' }))).toBeUndefined();
    expect(key(req(''))).toBeUndefined();
  });

  describe('with a hop count', () => {
    it('trusts that many proxies from the socket side', () => {
      const headers = { 'x-forwarded-for': '6.6.6.6, 203.0.113.7, 10.0.0.2' };
      expect(clientIp({ trustProxy: 1 })(req('10.0.0.1', headers))).toBe('ip:10.0.0.2');
      expect(clientIp({ trustProxy: 2 })(req('10.0.0.1', headers))).toBe('ip:203.0.113.7');
      expect(clientIp({ trustProxy: 3 })(req('10.0.0.1', headers))).toBe('ip:6.6.6.6');
      expect(clientIp({ trustProxy: 9 })(req('10.0.0.1', headers))).toBe('ip:6.6.6.6');
    });

    it('reads repeated header lines, the last line nearest', () => {
      const headers = { 'x-forwarded-for': ['6.6.6.6', '203.0.113.7'] };
      expect(clientIp({ trustProxy: 1 })(req('10.0.0.1', headers))).toBe('ip:203.0.113.7');
    });

    it('stops at a hop that is not an IP and keeps the last good address', () => {
      const key = clientIp({ trustProxy: 3 });
      expect(key(req('10.0.0.1', { 'x-forwarded-for': '203.0.113.7, garbage, 10.0.0.2' }))).toBe(
        'ip:10.0.0.2',
      );
      expect(key(req('10.0.0.1', { 'x-forwarded-for': '203.0.113.7, unknown' }))).toBe(
        'ip:10.0.0.1',
      );
      expect(key(req('10.0.0.1', { 'x-forwarded-for': '203.0.113.7, 01.2.3.4' }))).toBe(
        'ip:10.0.0.1',
      );
    });

    it('finds the client behind n proxies whatever the client prepends (property)', () => {
      fc.assert(
        fc.property(
          fc.array(fc.oneof(v4, v6), { minLength: 2, maxLength: 6 }),
          fc.array(fc.oneof(v4, v6, fc.string()), { maxLength: 4 }),
          (chain, spoof) => {
            // chain: client, proxy 1, ..., proxy n; the last proxy is the socket peer.
            const client = chain[0]!;
            const socket = chain.at(-1)!;
            const xff = [...spoof, ...chain.slice(0, -1)].join(', ');
            const key = clientIp({ trustProxy: chain.length - 1, ipv6Prefix: 128 });
            expect(key(req(socket, { 'x-forwarded-for': xff }))).toBe(`ip:${client}`);
          },
        ),
      );
    });
  });

  describe('with trusted CIDRs', () => {
    const key = clientIp({ trustProxy: ['10.0.0.0/8', '2001:db8:ffff::/48', '192.0.2.1'] });

    it('skips trusted addresses from the socket towards the client', () => {
      const headers = { 'x-forwarded-for': '6.6.6.6, 203.0.113.7, 192.0.2.1, 10.9.9.9' };
      expect(key(req('10.0.0.1', headers))).toBe('ip:203.0.113.7');
      expect(key(req('::ffff:10.0.0.1', headers))).toBe('ip:203.0.113.7');
      expect(key(req('2001:db8:ffff::5', headers))).toBe('ip:203.0.113.7');
    });

    it('ignores the headers when the socket peer is not trusted', () => {
      expect(key(req('198.51.100.1', { 'x-forwarded-for': '203.0.113.7' }))).toBe(
        'ip:198.51.100.1',
      );
    });

    it('ends at the furthest address when every hop is trusted', () => {
      expect(key(req('10.0.0.1', { 'x-forwarded-for': '10.0.0.3, 10.0.0.2' }))).toBe('ip:10.0.0.3');
      expect(key(req('10.0.0.1'))).toBe('ip:10.0.0.1');
    });

    it('stops at a hop that is not an IP and keeps the trusted proxy that sent it', () => {
      expect(key(req('10.0.0.1', { 'x-forwarded-for': '203.0.113.7, [bad], 10.0.0.2' }))).toBe(
        'ip:10.0.0.2',
      );
    });

    it('trusts IPv4 proxies given as an IPv4-mapped IPv6 range', () => {
      const mapped = clientIp({ trustProxy: ['::ffff:10.0.0.0/104'] });
      expect(mapped(req('10.0.0.1', { 'x-forwarded-for': '203.0.113.7, 10.0.0.2' }))).toBe(
        'ip:203.0.113.7',
      );
    });
  });

  describe('with Forwarded', () => {
    it('reads for= hops', () => {
      const key = clientIp({ trustProxy: ['10.0.0.0/8'], header: 'forwarded' });
      const headers = {
        forwarded: 'for=6.6.6.6, for="[2001:db8:1:2::17]:4711";proto=https, for=10.0.0.2',
        'x-forwarded-for': '1.2.3.4',
      };
      expect(key(req('10.0.0.1', headers))).toBe('ip:2001:db8:1:2::/64');
    });

    it('stops at obfuscated and unknown hops', () => {
      const key = clientIp({ trustProxy: 2, header: 'forwarded' });
      expect(key(req('10.0.0.1', { forwarded: 'for=6.6.6.6, for=_hidden' }))).toBe('ip:10.0.0.1');
      expect(key(req('10.0.0.1', { forwarded: 'for=6.6.6.6, for=unknown' }))).toBe('ip:10.0.0.1');
      expect(key(req('10.0.0.1', { forwarded: 'for=203.0.113.7' }))).toBe('ip:203.0.113.7');
    });

    it('keeps the client a client when its open quote precedes the proxy element', () => {
      // The client sends `for="x`; the proxy appends its element for the real client.
      for (const trustProxy of [1, 2, ['10.0.0.0/8']]) {
        const key = clientIp({ trustProxy, header: 'forwarded' });
        const joined = { forwarded: 'for="x, for="[2001:db8::1]"' };
        const lines = { forwarded: ['for="x', 'for="[2001:db8::1]"'] };
        expect(key(req('10.0.0.1', joined))).toBe('ip:2001:db8::/64');
        expect(key(req('10.0.0.1', lines))).toBe('ip:2001:db8::/64');
      }
    });

    it('ignores X-Forwarded-For when reading Forwarded', () => {
      const key = clientIp({ trustProxy: 1, header: 'forwarded' });
      expect(key(req('10.0.0.1', { 'x-forwarded-for': '6.6.6.6' }))).toBe('ip:10.0.0.1');
    });
  });

  it('rejects bad options naming the option', () => {
    expect(optionOf(() => clientIp({ trustProxy: true as unknown as false }))).toBe('trustProxy');
    expect(optionOf(() => clientIp({ trustProxy: -1 }))).toBe('trustProxy');
    expect(optionOf(() => clientIp({ trustProxy: 1.5 }))).toBe('trustProxy');
    expect(optionOf(() => clientIp({ trustProxy: 101 }))).toBe('trustProxy');
    expect(optionOf(() => clientIp({ trustProxy: Number.NaN }))).toBe('trustProxy');
    expect(optionOf(() => clientIp({ trustProxy: '10.0.0.0/8' as unknown as false }))).toBe(
      'trustProxy',
    );
    expect(optionOf(() => clientIp({ trustProxy: ['10.0.0.0/8', 'bogus'] }))).toBe('trustProxy[1]');
    // A range holding every address trusts every hop, as `true` would.
    for (const everything of ['0.0.0.0/0', '::/0']) {
      expect(optionOf(() => clientIp({ trustProxy: ['10.0.0.0/8', everything] }))).toBe(
        'trustProxy[1]',
      );
    }
    expect(optionOf(() => clientIp({ trustProxy: ['10.0.0.0/8', '::1', '10.0.0.1/8'] }))).toBe(
      'trustProxy[2]',
    );
    expect(optionOf(() => clientIp({ trustProxy: [null as unknown as string] }))).toBe(
      'trustProxy[0]',
    );
    expect(optionOf(() => clientIp({ trustProxy: ['1.2.3.4:80'] }))).toBe('trustProxy[0]');
    expect(optionOf(() => clientIp({ ipv6Prefix: 129 }))).toBe('ipv6Prefix');
    expect(optionOf(() => clientIp({ ipv6Prefix: 63.5 }))).toBe('ipv6Prefix');
    expect(optionOf(() => clientIp({ ipv4Prefix: 33 }))).toBe('ipv4Prefix');
    expect(optionOf(() => clientIp({ ipv4Prefix: -8 }))).toBe('ipv4Prefix');
    expect(
      optionOf(() => clientIp({ header: 'x-real-ip' as unknown as 'forwarded', trustProxy: 1 })),
    ).toBe('header');
    expect(optionOf(() => clientIp(null as unknown as undefined))).toBe('options');
  });
});

describe('userKey', () => {
  it('prefixes the user id', () => {
    const key = userKey((r: { user?: { id: string | number } }) => r.user?.id);
    expect(key({ user: { id: 'alice' } })).toBe('user:alice');
    expect(key({ user: { id: 42 } })).toBe('user:42');
    expect(key({})).toBeUndefined();
  });

  it('treats null and empty ids as anonymous', () => {
    expect(userKey(() => null)(req(undefined))).toBeUndefined();
    expect(userKey(() => '')(req(undefined))).toBeUndefined();
  });

  it('supports async id functions', async () => {
    const key = userKey(async () => 'bob');
    await expect(key(req(undefined))).resolves.toBe('user:bob');
  });

  it('cannot collide with IP subjects', () => {
    expect(userKey(() => '203.0.113.7')(req(undefined))).not.toBe(clientIp()(req('203.0.113.7')));
  });

  it('rejects a non-function and bad ids', () => {
    expect(optionOf(() => userKey('id' as unknown as () => string))).toBe('getUserId');
    const bad = userKey(() => ({}) as unknown as string);
    expect(optionOf(() => bad(req(undefined)))).toBe('getUserId');
    expect(optionOf(() => userKey(() => Number.NaN)(req(undefined)))).toBe('getUserId');
  });
});

describe('apiKey', () => {
  const sha = (key: string) => createHash('sha256').update(key).digest('base64url');

  it('hashes the key with SHA-256 and never returns it raw', () => {
    const key = apiKey();
    const secret = 'sk_live_0123456789abcdef';
    const subject = key(req(undefined, { 'x-api-key': secret }));
    expect(subject).toBe(`key:${sha(secret)}`);
    expect(subject).not.toContain(secret);
    expect(subject).toMatch(/^key:[A-Za-z0-9_-]{43}$/);
  });

  it('returns the subject synchronously, without a Promise', () => {
    const subject: string | undefined = apiKey()(req(undefined, { 'x-api-key': 'k' }));
    expect(typeof subject).toBe('string');
    expect(subject).toBe(`key:${sha('k')}`);
  });

  it('matches node:crypto for any key, Unicode and lone surrogates included (property)', () => {
    const key = apiKey({ header: 'authorization' });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ minLength: 1, unit: 'grapheme' }),
          fc.string({ minLength: 1, unit: 'binary' }),
          fc.string({ minLength: 400, maxLength: 2000 }),
        ),
        (secret) => {
          expect(key(req(undefined, { authorization: secret }))).toBe(`key:${sha(secret)}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('joins a repeated header as Node does', () => {
    const subject = apiKey()(req(undefined, { 'x-api-key': ['a', 'b'] }));
    expect(subject).toBe(`key:${sha('a, b')}`);
  });

  it('returns undefined without a key', () => {
    expect(apiKey()(req(undefined))).toBeUndefined();
    expect(apiKey()(req(undefined, { 'x-api-key': '' }))).toBeUndefined();
    expect(apiKey()(req(undefined, { 'x-api-key': [] }))).toBeUndefined();
  });

  it('rejects a bad header name', () => {
    expect(optionOf(() => apiKey({ header: 'X-Api-Key' }))).toBe('header');
    expect(optionOf(() => apiKey({ header: '' }))).toBe('header');
    expect(optionOf(() => apiKey({ header: 'x api key' }))).toBe('header');
  });
});

describe('customKey', () => {
  it('prefixes the value with custom: or the given prefix', async () => {
    const tenant = (r: { tenant?: string }) => r.tenant;
    expect(customKey(tenant)({ tenant: 'acme' })).toBe('custom:acme');
    expect(customKey(tenant, { prefix: 'tenant' })({ tenant: 'acme' })).toBe('tenant:acme');
    expect(customKey(tenant)({})).toBeUndefined();
    await expect(customKey(async () => 'x')(req(undefined))).resolves.toBe('custom:x');
  });

  it('rejects bad arguments', () => {
    expect(optionOf(() => customKey(undefined as unknown as () => string))).toBe('getKey');
    expect(optionOf(() => customKey(() => 'x', { prefix: 'ip' }))).toBe('prefix');
    expect(optionOf(() => customKey(() => 'x', { prefix: 'user' }))).toBe('prefix');
    expect(optionOf(() => customKey(() => 'x', { prefix: 'Tenant' }))).toBe('prefix');
    expect(optionOf(() => customKey(() => 'x', { prefix: 'a:b' }))).toBe('prefix');
  });
});
