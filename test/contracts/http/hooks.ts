/** The hook points the guard, anomaly detection and the audit log plug into, and the request context. */
import { describe, expect, it } from 'vitest';
import type { FinishEvent, HttpReply } from '../../../src/http/index.ts';
import { limited } from './fixtures.ts';
import { type AdapterFactory, serve } from './harness.ts';

/** Resolves once `count` events arrived (finish hooks run after the response is on the wire). */
function collector<T>() {
  const events: T[] = [];
  let wanted = 0;
  let wake: (() => void) | undefined;
  return {
    events,
    push(event: T) {
      events.push(event);
      if (events.length >= wanted) wake?.();
    },
    async atLeast(count: number): Promise<T[]> {
      wanted = count;
      if (events.length < count) await new Promise<void>((resolve) => (wake = resolve));
      return events;
    },
  };
}

const unauthorized: HttpReply = {
  status: 401,
  headers: { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Bearer realm="api"' },
  body: '{"error":"invalid_token"}',
};

export function hooksContract(factory: AdapterFactory): void {
  describe('hooks and request context', () => {
    it('reports every finished request with status and latency, refused ones included', async () => {
      const { limiter, clock } = limited([{ name: 'one', limit: 1, window: '60s' }]);
      const finished = collector<FinishEvent>();
      const client = await serve(factory, {
        limiter,
        clock,
        hooks: { onFinish: (e) => finished.push(e) },
      });
      await client.send('/a?q=1');
      await client.send('/b', { method: 'POST' });
      const events = await finished.atLeast(2);
      const byPath = Object.fromEntries(events.map((e) => [e.context.path, e]));
      expect(byPath['/a']).toMatchObject({ statusCode: 200, aborted: false });
      expect(byPath['/a']!.context).toMatchObject({
        method: 'GET',
        rateLimited: false,
        ip: '127.0.0.1',
      });
      expect(byPath['/b']).toMatchObject({ statusCode: 429, aborted: false });
      expect(byPath['/b']!.context).toMatchObject({ method: 'POST', rateLimited: true });
      for (const event of events) {
        expect(event.latencyMs).toBeGreaterThanOrEqual(0);
        expect(event.latencyMs).toBeLessThan(10_000);
        expect(event.finishedAt).toBe(clock.now());
        expect(event.context.startedAt).toBe(clock.now());
      }
    });

    it('reports a handler error as a 500 to the finish hooks', async () => {
      const { limiter, clock } = limited();
      const finished = collector<FinishEvent>();
      const client = await serve(factory, {
        limiter,
        clock,
        hooks: { onFinish: (e) => finished.push(e) },
      });
      expect((await client.send('/throw')).status).toBe(500);
      const [event] = await finished.atLeast(1);
      expect(event!.statusCode).toBe(500);
    });

    it("reports a request whose admission failed, with the error response's status", async () => {
      const { limiter, clock } = limited();
      const finished = collector<FinishEvent>();
      const client = await serve(factory, {
        clock,
        routes: [
          {
            path: '/guarded',
            guard: () => {
              throw new Error('guard failed');
            },
          },
          {
            path: '/async-guarded',
            guard: async () => {
              throw new Error('guard failed');
            },
          },
        ],
        limits: [
          {
            name: 'keyed',
            limiter,
            key: (request) => {
              if (request.path === '/bad-key') throw new Error('key failed');
              return 'client';
            },
          },
        ],
        hooks: { onFinish: (e) => finished.push(e) },
      });
      for (const path of ['/guarded', '/async-guarded', '/bad-key']) {
        expect((await client.send(path)).status, path).toBe(500);
      }
      const events = await finished.atLeast(3);
      expect(events.map((e) => [e.context.path, e.statusCode]).sort()).toEqual([
        ['/async-guarded', 500],
        ['/bad-key', 500],
        ['/guarded', 500],
      ]);
    });

    it('lets decision hooks flag anomalies that handlers see, and end an admitted request', async () => {
      const { limiter, clock } = limited([
        { name: 'api', limit: 100, window: '60s' },
        { name: 'burst', limit: 2, window: '10s', algorithm: 'sliding-log', mode: 'observe' },
      ]);
      const client = await serve(factory, {
        limiter,
        clock,
        hooks: {
          onDecision: [
            (_request, context) => {
              if (context.decision!.observed.some((o) => !o.allowed)) context.flagAnomaly('burst');
              return undefined;
            },
            (request) =>
              request.headers['x-banned'] === 'yes'
                ? {
                    status: 403,
                    headers: { 'Content-Type': 'application/json' },
                    body: '{"error":"banned"}',
                  }
                : undefined,
            () => {
              throw new Error('a broken detector must not fail requests');
            },
          ],
          onError: () => {},
        },
      });
      expect((await client.send('/')).json.context.anomalies).toEqual([]);
      expect((await client.send('/')).json.context.anomalies).toEqual([]);
      expect((await client.send('/')).json.context.anomalies).toEqual(['burst']);
      const banned = await client.send('/', { headers: { 'x-banned': 'yes' } });
      expect(banned.status).toBe(403);
      expect(banned.text).toBe('{"error":"banned"}');
      expect(banned.headers['x-ratelimit-limit']).toBe('100');
    });

    it('lets before-limit hooks exempt a request from limiting or end it before any store is asked', async () => {
      const { limiter, clock, store } = limited([{ name: 'one', limit: 1, window: '60s' }]);
      const client = await serve(factory, {
        limiter,
        clock,
        trustProxy: 1,
        hooks: {
          beforeLimit: [
            (request) =>
              request.headers['x-forwarded-for'] === '198.51.100.1' ? 'skip' : undefined,
            (_request, context) =>
              context.ip === '203.0.113.66'
                ? {
                    status: 403,
                    headers: { 'Content-Type': 'application/json' },
                    body: '{"error":"forbidden"}',
                  }
                : undefined,
          ],
        },
      });
      for (let i = 0; i < 3; i++) {
        const listed = await client.send('/', { headers: { 'x-forwarded-for': '198.51.100.1' } });
        expect(listed.status).toBe(200);
        expect(listed.json.context.skipped).toBe(true);
      }
      const denied = await client.send('/', { headers: { 'x-forwarded-for': '203.0.113.66' } });
      expect(denied.status).toBe(403);
      expect(denied.text).toBe('{"error":"forbidden"}');
      expect(denied.headers['x-ratelimit-limit']).toBeUndefined();
      expect(store.size).toBe(0);
    });

    it('runs the guard after the limit: refusal with its headers, or the principal for the handler', async () => {
      const { limiter, clock } = limited();
      const client = await serve(factory, {
        limiter,
        clock,
        hooks: {
          guard: (request) =>
            request.headers.authorization === 'Bearer good'
              ? { allow: true, principal: { userId: 'alice' } }
              : { allow: false, reply: unauthorized },
        },
        routes: [{ path: '/open', guard: false }],
      });
      const refused = await client.send('/me');
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="api"');
      expect(refused.headers['x-ratelimit-remaining']).toBe('2');
      const admitted = await client.send('/me', { headers: { authorization: 'Bearer good' } });
      expect(admitted.status).toBe(200);
      expect(admitted.json.context.userId).toBe('alice');
      expect((await client.send('/open')).json.context.userId).toBeNull();
      // The limit runs first: a client over it gets 429, not 401.
      expect((await client.send('/me')).status).toBe(429);
    });

    it('gives each request an id: a valid X-Request-Id, else a new UUIDv7 of its arrival', async () => {
      const { limiter, clock } = limited([{ name: 'wide', limit: 100, window: '60s' }]);
      const client = await serve(factory, { limiter, clock });
      expect(
        (await client.send('/', { headers: { 'x-request-id': 'abc-123' } })).json.context.requestId,
      ).toBe('abc-123');
      // Version 7: the first 48 bits are the request's arrival, ms (the test clock's time).
      const hexTime = clock.now().toString(16).padStart(12, '0');
      const uuid = new RegExp(
        `^${hexTime.slice(0, 8)}-${hexTime.slice(8)}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`,
      );
      const spoofed = (
        await client.send('/', { headers: { 'x-request-id': 'no spaces "or quotes"' } })
      ).json.context.requestId;
      expect(spoofed).toMatch(uuid);
      const made = [1, 2, 3].map(async () => (await client.send('/')).json.context.requestId);
      const ids = await Promise.all(made);
      for (const id of ids) expect(id).toMatch(uuid);
      expect(new Set([spoofed, ...ids]).size).toBe(4);
    });
  });
}
