import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { createAnomalyMonitor } from '../../../src/anomaly.ts';
import { defineAccessList } from '../../../src/domain/anomaly/access-list.ts';
import { isLockWatchError } from '../../../src/domain/errors.ts';
import { parseIp } from '../../../src/domain/net/ip.ts';
import { createRateLimiter } from '../../../src/rate-limiter.ts';

function rejected(options: Parameters<typeof defineAccessList>[0]) {
  try {
    defineAccessList(options);
  } catch (error) {
    if (isLockWatchError(error)) return error as unknown as { option: string; message: string };
    throw error;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('allow and deny lists', () => {
  it('IPv4 addresses and ranges; the most specific range decides', () => {
    const list = defineAccessList({
      allow: ['10.0.0.0/8', '192.0.2.7'],
      deny: ['10.1.0.0/16', '0.0.0.0/0'],
    });
    expect(list.check('10.2.3.4')).toBe('allow');
    expect(list.check('10.1.3.4')).toBe('deny');
    expect(list.check('192.0.2.7')).toBe('allow');
    expect(list.check('192.0.2.8')).toBe('deny');
    expect(list.check('10.2.3.4:443')).toBe('allow'); // ports are dropped, as everywhere
    expect(list.check('not an ip')).toBeUndefined();
    expect(list.check(undefined)).toBeUndefined();
    expect(list.check(parseIp('10.1.0.1'))).toBe('deny');
  });

  it('IPv6 addresses and ranges', () => {
    const list = defineAccessList({
      allow: ['2001:db8::/32'],
      deny: ['2001:db8:bad::/48', 'fe80::1'],
    });
    expect(list.check('2001:db8:1::5')).toBe('allow');
    expect(list.check('2001:DB8:BAD:0:0:0:0:1')).toBe('deny');
    expect(list.check('[2001:db8:bad::1]:8443')).toBe('deny');
    expect(list.check('fe80::1%eth0')).toBe('deny');
    expect(list.check('fe80::2')).toBeUndefined();
    expect(list.check('2001:db9::1')).toBeUndefined();
  });

  it('IPv4-mapped IPv6 addresses and ranges are the IPv4 ones', () => {
    const list = defineAccessList({ deny: ['::ffff:203.0.113.0/120'], allow: ['::ffff:0:0/96'] });
    expect(list.check('203.0.113.9')).toBe('deny');
    expect(list.check('::ffff:203.0.113.9')).toBe('deny');
    expect(list.check('198.51.100.1')).toBe('allow'); // inside ::ffff:0:0/96, all of IPv4
    expect(list.check('2001:db8::1')).toBeUndefined();
    const everything = defineAccessList({ deny: ['::/0'] });
    expect(everything.check('192.0.2.1')).toBe('deny');
    expect(everything.check('2001:db8::1')).toBe('deny');
    const v4 = defineAccessList({ deny: ['203.0.113.0/24'] });
    expect(v4.check('::ffff:cb00:7101')).toBe('deny'); // 203.0.113.1 in hex form
  });

  it('exact subjects: any denied one denies, else an allowed one allows', () => {
    const list = defineAccessList({
      allow: ['user:admin', 'key:abc', 'ip:192.0.2.0/24'],
      deny: ['user:mallory'],
    });
    expect(list.check(undefined, ['user:admin'])).toBe('allow');
    expect(list.check('198.51.100.1', ['user:admin', 'user:mallory'])).toBe('deny');
    expect(list.check('192.0.2.1', ['user:mallory'])).toBe('deny');
    expect(list.check('192.0.2.1', ['user:bob'])).toBe('allow');
    expect(list.check(undefined, ['user:bob', undefined])).toBeUndefined();
    expect(list.size).toBe(4);
  });

  it('rejects invalid entries at start-up with a message naming the entry', () => {
    const cases: [Parameters<typeof defineAccessList>[0], string][] = [
      [{ deny: ['10.0.0.256'] }, 'lists.deny[0]'],
      [{ deny: ['10.0.0.0/8', '10.0.0.1/8'] }, 'lists.deny[1]'], // host bits set
      [{ allow: ['10.0.0.0/33'] }, 'lists.allow[0]'],
      [{ allow: ['2001:db8::/129'] }, 'lists.allow[0]'],
      [{ allow: ['2001:db8:::1'] }, 'lists.allow[0]'],
      [{ allow: ['localhost'] }, 'lists.allow[0]'],
      [{ allow: [''] }, 'lists.allow[0]'],
      [{ allow: [42 as unknown as string] }, 'lists.allow[0]'],
      [{ allow: ['ip:nope'] }, 'lists.allow[0]'],
      [{ allow: ['abc:def'] }, 'lists.allow[0]'], // hex-only word: read as IPv6, and invalid
      [{ allow: 'user:1' as unknown as string[] }, 'lists.allow'],
    ];
    for (const [options, option] of cases) {
      const error = rejected(options);
      expect(error.option).toBe(option);
      expect(error.message).toContain(option);
    }
    expect(rejected({ deny: ['10.0.0.1/8'] }).message).toContain('did you mean 10.0.0.0/8');
  });

  it('rejects an entry in both lists, naming both', () => {
    const error = rejected({ deny: ['user:x', '10.0.0.0/8'], allow: ['::ffff:10.0.0.0/104'] });
    expect(error.option).toBe('lists.allow[0]');
    expect(error.message).toContain('lists.deny[1]');
  });

  it('listed requests are not counted: allowed ones skip the limiter, denied ones are refused', async () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    const monitor = createAnomalyMonitor({
      store,
      clock,
      lists: { allow: ['10.0.0.0/8'], deny: ['203.0.113.0/24'] },
    });
    const limiter = createRateLimiter({
      store,
      policies: [{ name: 'ip', limit: 1, window: '1m' }, ...monitor.policies],
    });
    for (let i = 0; i < 5; i++) {
      expect(
        await monitor.check(limiter, { subject: 'ip:10.9.9.9', ip: '10.9.9.9' }),
      ).toMatchObject({ allowed: true, reason: 'allowlist' });
      expect(
        await monitor.check(limiter, { subject: 'ip:203.0.113.5', ip: '203.0.113.5' }),
      ).toMatchObject({ allowed: false, reason: 'denylist' });
    }
    expect(store.size).toBe(0);
  });

  it('screens the client an ip: subject names, not only the socket address (a proxy)', async () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    const monitor = createAnomalyMonitor({
      store,
      clock,
      lists: { allow: ['10.0.0.0/8'], deny: ['203.0.113.0/24', '2001:db8:bad::/48'] },
    });
    const limiter = createRateLimiter({
      store,
      policies: [{ name: 'ip', limit: 100, window: '1m' }, ...monitor.policies],
    });
    // Behind an allowed proxy at 10.0.0.5: a denied client is denied, another is not allowlisted.
    expect(
      await monitor.check(limiter, { subject: 'ip:203.0.113.7', ip: '10.0.0.5' }),
    ).toMatchObject({ allowed: false, reason: 'denylist' });
    expect(
      await monitor.check(limiter, { subject: 'ip:198.51.100.1', ip: '10.0.0.5' }),
    ).toMatchObject({ allowed: true, reason: 'ok' });
    // A grouped IPv6 subject is screened by its network; a denied socket address still denies.
    expect(
      await monitor.check(limiter, { subject: 'ip:2001:db8:bad:1::/64', ip: '10.0.0.5' }),
    ).toMatchObject({ allowed: false, reason: 'denylist' });
    expect(
      await monitor.check(limiter, { subject: 'ip:198.51.100.1', ip: '203.0.113.9' }),
    ).toMatchObject({ allowed: false, reason: 'denylist' });
    expect(await monitor.check(limiter, { subject: 'ip:10.1.2.3', ip: '10.0.0.5' })).toMatchObject({
      allowed: true,
      reason: 'allowlist',
    });
  });

  it('screens a client of a grouped IPv6 subject by its own address, or by ranges holding the whole group', async () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    const monitor = createAnomalyMonitor({
      store,
      clock,
      lists: {
        allow: ['2001:db8::5', '2001:db8:1::/112'],
        deny: ['2001:db8:2::/112', '2001:db8:3::/48'],
      },
    });
    const limiter = createRateLimiter({
      store,
      policies: [{ name: 'ip', limit: 100, window: '1m' }, ...monitor.policies],
    });
    const screen = (subject: string, ip: string) => monitor.check(limiter, { subject, ip });
    // The client's own address is in its group: it decides, range by range.
    expect(await screen('ip:2001:db8::/64', '2001:db8::5')).toMatchObject({ reason: 'allowlist' });
    expect(await screen('ip:2001:db8:1::/64', '2001:db8:1::1:7')).toMatchObject({ reason: 'ok' });
    expect(await screen('ip:2001:db8:2::/64', '2001:db8:2::1:7')).toMatchObject({ reason: 'ok' });
    expect(await screen('ip:2001:db8:2::/64', '2001:db8:2::7')).toMatchObject({
      reason: 'denylist',
    });
    // Behind a proxy only the group is known: a range narrower than it decides nothing.
    expect(await screen('ip:2001:db8:2::/64', '10.0.0.5')).toMatchObject({ reason: 'ok' });
    expect(await screen('ip:2001:db8::/64', '10.0.0.5')).toMatchObject({ reason: 'ok' });
    expect(await screen('ip:2001:db8:3:4::/64', '10.0.0.5')).toMatchObject({
      reason: 'denylist',
    });
  });
});
