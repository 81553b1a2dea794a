/** The client IP under each trust-proxy setting: spoofed forwarding headers count only when trusted. */
import { describe, expect, it } from 'vitest';
import { limited } from './fixtures.ts';
import { type AdapterFactory, serve } from './harness.ts';

export function proxyContract(factory: AdapterFactory): void {
  describe('trust proxy', () => {
    it('ignores X-Forwarded-For and Forwarded when no proxy is trusted: spoofing does not dodge the limit', async () => {
      const { limiter, clock } = limited();
      const client = await serve(factory, { limiter, clock });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const reply = await client.send('/', {
          headers: { 'x-forwarded-for': `203.0.113.${i}`, forwarded: `for=198.51.100.${i}` },
        });
        statuses.push(reply.status);
        if (reply.status === 200) expect(reply.json.context.ip).toBe('127.0.0.1');
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
    });

    it('believes the hop a trusted proxy reports, per client', async () => {
      const { limiter, clock } = limited();
      const client = await serve(factory, { limiter, clock, trustProxy: ['127.0.0.1/32'] });
      for (let i = 0; i < 3; i++) {
        const reply = await client.send('/', { headers: { 'x-forwarded-for': '203.0.113.7' } });
        expect(reply.json.context.ip).toBe('203.0.113.7');
        expect(reply.json.context.checks[0].subject).toBe('ip:203.0.113.7');
      }
      expect(
        (await client.send('/', { headers: { 'x-forwarded-for': '203.0.113.7' } })).status,
      ).toBe(429);
      // Another client behind the same proxy has its own counter.
      expect(
        (await client.send('/', { headers: { 'x-forwarded-for': '203.0.113.8' } })).status,
      ).toBe(200);
      // With a hop count, only the trusted hops are walked: a client-written prefix is ignored.
      const counted = await serve(factory, { limiter: limited().limiter, trustProxy: 1 });
      const reply = await counted.send('/', {
        headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.9' },
      });
      expect(reply.json.context.ip).toBe('203.0.113.9');
    });

    it('reads RFC 7239 Forwarded when told to, and groups IPv6 by /64', async () => {
      const { limiter, clock } = limited();
      const client = await serve(factory, { limiter, clock, trustProxy: 1, ipHeader: 'forwarded' });
      const reply = await client.send('/', {
        headers: { forwarded: 'for="[2001:db8:1:2::99]:4711"' },
      });
      expect(reply.json.context.ip).toBe('2001:db8:1:2::99');
      expect(reply.json.context.checks[0].subject).toBe('ip:2001:db8:1:2::/64');
    });

    it('falls back to the trusted proxy on invalid or hostile forwarded addresses, never a 500', async () => {
      const { limiter, clock } = limited([{ name: 'wide', limit: 1000, window: '60s' }]);
      const client = await serve(factory, { limiter, clock, trustProxy: 2 });
      const hostile = [
        'unknown',
        '999.1.1.1',
        '01.2.3.4',
        '1.2.3',
        '::ffff:1.2.3.4.5',
        '[::1',
        'fe80::1%eth0{}',
        '1.2.3.4:99999',
        '{evil}:key:injection',
        '%00%0a',
        ' , , ,',
        `${'9'.repeat(300)}`,
        '203.0.113.5, garbage',
        'garbage, 203.0.113.6',
      ];
      for (const value of hostile) {
        const reply = await client.send('/', { headers: { 'x-forwarded-for': value } });
        expect(reply.status, value).toBe(200);
        const { ip, checks } = reply.json.context;
        expect(checks[0].subject, value).toBe(`ip:${ip}`);
        expect(['127.0.0.1', '203.0.113.6', '1.2.3.4'], value).toContain(ip);
      }
    });
  });
}
