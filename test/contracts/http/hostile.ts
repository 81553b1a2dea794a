/** Bad input at the edge: huge and malformed headers, raw garbage, floods of spoofed keys. */
import { describe, expect, it } from 'vitest';
import { limited } from './fixtures.ts';
import {
  type AdapterFactory,
  inParallel,
  type Protocol,
  rawRequest,
  rawStatus,
  serve,
} from './harness.ts';

/** Bad input at the edge; the raw-byte cases (Node's HTTP/1 parser) run on HTTP/1.1 servers only. */
export function hostileContract(factory: AdapterFactory, protocol: Protocol): void {
  const http1 = protocol === 'http/1.1';
  describe('bad input at the edge', () => {
    it('handles huge forwarding and credential headers without a 500', async () => {
      const { limiter, clock } = limited([{ name: 'wide', limit: 1000, window: '60s' }]);
      const client = await serve(factory, { limiter, clock, trustProxy: 1 });
      const hops = Array.from({ length: 700 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`).join(
        ', ',
      );
      const reply = await client.send('/', {
        headers: {
          'x-forwarded-for': `${hops}, 203.0.113.77`,
          authorization: `Bearer ${'x'.repeat(4_000)}`,
          cookie: `refresh=${'%'.repeat(2_000)}; ;;=; a`,
          'x-api-key': '\u00ff'.repeat(100),
        },
      });
      expect(reply.status).toBe(200);
      expect(reply.json.context.ip).toBe('203.0.113.77');
    });

    if (http1)
      it("refuses a request past Node's header limit and keeps serving", async () => {
        const { limiter, clock } = limited([{ name: 'wide', limit: 1000, window: '60s' }]);
        const client = await serve(factory, { limiter, clock, trustProxy: 1 });
        const tooLarge = await rawRequest(
          client.server.url,
          `GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ${'1.1.1.1,'.repeat(4_000)}\r\n\r\n`,
        );
        expect(rawStatus(tooLarge)).toBe(431);
        expect((await client.send('/')).status).toBe(200);
      });

    if (http1)
      it('survives malformed requests on the socket and keeps serving', async () => {
        const { limiter, clock } = limited([{ name: 'wide', limit: 1000, window: '60s' }]);
        const client = await serve(factory, {
          limiter,
          clock,
          trustProxy: 1,
          ipHeader: 'forwarded',
        });
        const malformed = [
          'GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\u0001\r\n\r\n',
          'GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n',
          'NONSENSE\r\n\r\n',
          'GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n',
        ];
        for (const bytes of malformed) {
          const status = rawStatus(await rawRequest(client.server.url, bytes));
          expect(status === 0 || (status >= 400 && status < 500), JSON.stringify(bytes)).toBe(true);
        }
        expect((await client.send('/')).status).toBe(200);
      });

    it("reads odd Forwarded elements as no client address: the socket's", async () => {
      const { limiter, clock } = limited([{ name: 'wide', limit: 1000, window: '60s' }]);
      const client = await serve(factory, { limiter, clock, trustProxy: 1, ipHeader: 'forwarded' });
      const odd = [
        'for="[::1',
        'for=_hidden;proto=http, for=unknown',
        'for="\\"quoted\\""',
        `for=${'a'.repeat(3000)}`,
        'for=203.0.113.9;for=203.0.113.10',
      ];
      for (const forwarded of odd) {
        const reply = await client.send('/', { headers: { forwarded } });
        expect(reply.status, forwarded).toBe(200);
        expect(reply.json.context.ip, forwarded).toBe('127.0.0.1');
      }
    });

    it('keeps 10,000 distinct spoofed clients within the store cap: no 500, memory bounded', async () => {
      const { limiter, clock, store } = limited([{ name: 'api', limit: 2, window: '60s' }], {
        maxKeys: 1_000,
      });
      const client = await serve(factory, { limiter, clock, trustProxy: 1 }, 32);
      const statuses = new Map<number, number>();
      const heapBefore = process.memoryUsage().heapUsed;
      await inParallel(10_000, 32, async (i) => {
        const reply = await client.send('/', {
          headers: { 'x-forwarded-for': `198.18.${(i >> 8) & 255}.${i & 255}` },
        });
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      });
      expect([...statuses.keys()]).toEqual([200]);
      expect(store.size).toBeLessThanOrEqual(1_000);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 * 1024 * 1024);
      // Untrusted, the same flood is one client, limited as one.
      const untrusted = limited([{ name: 'api', limit: 2, window: '60s' }], { maxKeys: 1_000 });
      const plain = await serve(
        factory,
        { limiter: untrusted.limiter, clock: untrusted.clock },
        32,
      );
      const refused = { count: 0 };
      await inParallel(2_000, 32, async (i) => {
        const reply = await plain.send('/', {
          headers: { 'x-forwarded-for': `198.18.${(i >> 8) & 255}.${i & 255}` },
        });
        if (reply.status === 429) refused.count++;
        else expect(reply.status).toBe(200);
      });
      expect(refused.count).toBe(1_998);
      expect(untrusted.store.size).toBe(1);
    });
  });
}
