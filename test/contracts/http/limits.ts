/** Rate limiting end to end: statuses, the 429 format, every header, per-route costs, several limits. */
import { describe, expect, it } from 'vitest';
import { apiKey, clientIp } from '../../../src/domain/ratelimit/keys.ts';
import type { Decision } from '../../../src/domain/ratelimit/types.ts';
import { expectedFields, limited, parseList, rateLimitHeaderNames } from './fixtures.ts';
import { type AdapterFactory, serve } from './harness.ts';

export function limitsContract(factory: AdapterFactory): void {
  describe('rate limiting', () => {
    it('admits under the limit with the X-RateLimit-* fields, and the handler sees the decision', async () => {
      const { limiter, clock } = limited();
      const client = await serve(factory, { limiter, clock });
      const reply = await client.send('/hello?x=1');
      expect(reply.status).toBe(200);
      expect(reply.json.path).toBe('/hello');
      expect(reply.json.context).toMatchObject({
        ip: '127.0.0.1',
        skipped: false,
        rateLimited: false,
        remaining: 2,
        degraded: false,
        checks: [{ limit: 'default', subject: 'ip:127.0.0.1', cost: null, allowed: true }],
      });
      expect(reply.headers['x-ratelimit-limit']).toBe('3');
      expect(reply.headers['x-ratelimit-remaining']).toBe('2');
      expect(reply.headers['x-ratelimit-reset']).toBe(String(clock.now() / 1000 + 20));
      expect(reply.headers['retry-after']).toBeUndefined();
      // The draft fields go on refusals by default; `draft: true` adds them to admitted responses.
      expect(reply.headers['ratelimit-policy']).toBeUndefined();
      expect(reply.headers.ratelimit).toBeUndefined();
      const drafted = await serve(factory, { limiter, clock, headers: { draft: true } });
      const admitted = await drafted.send('/hello');
      expect(admitted.status).toBe(200);
      expect(admitted.headers['ratelimit-policy']).toBe('"api";q=3;w=60');
      expect(admitted.headers.ratelimit).toBe('"api";r=1;t=40');
      expect(admitted.headers['x-ratelimit-remaining']).toBe('1');
    });

    it("refuses over the limit with 429, Retry-After and the seed's JSON body", async () => {
      const { limiter, clock } = limited();
      const client = await serve(factory, { limiter, clock });
      for (let i = 0; i < 3; i++) expect((await client.send('/hello')).status).toBe(200);
      const refused = await client.send('/hello');
      expect(refused.status).toBe(429);
      expect(refused.headers['content-type']).toBe('application/json');
      expect(refused.text).toBe('{"error":"rate_limit_exceeded","retry_after":20}');
      expect(refused.headers['retry-after']).toBe('20');
      expect(refused.headers['x-ratelimit-limit']).toBe('3');
      expect(refused.headers['x-ratelimit-remaining']).toBe('0');
      expect(refused.headers['x-ratelimit-reset']).toBe(String(clock.now() / 1000 + 60));
      expect(refused.headers['ratelimit-policy']).toBe('"api";q=3;w=60');
      expect(refused.headers.ratelimit).toBe('"api";r=0;t=60');
      // Only admitted requests count: once the wait is over the client is back in.
      clock.advance(20_000);
      expect((await client.send('/hello')).status).toBe(200);
      expect((await client.send('/hello')).status).toBe(429);
    });

    it('sends draft and legacy headers that agree with the decision, one draft item per enforce policy', async () => {
      const { limiter, clock } = limited([
        { name: 'per-second', limit: 2, window: '1s' },
        { name: 'per-minute', limit: 5, window: '60s', algorithm: 'sliding-window' },
        { name: 'per-hour', limit: 50, window: '1h', algorithm: 'fixed-window' },
        { name: 'burst', limit: 3, window: '10s', algorithm: 'sliding-log', mode: 'observe' },
      ]);
      const decisions: Decision[] = [];
      const client = await serve(factory, {
        limiter,
        clock,
        headers: { draft: true },
        hooks: { onDecision: (_request, context) => void decisions.push(context.decision!) },
      });
      // Spaced so that each policy gets to refuse (fixed windows start on the minute; the clock is 20 s in).
      const pauses = [0, 0, 600, 0, 400, 0, 1000, 0, 1000, 0];
      for (let i = 0; i < pauses.length; i++) {
        const reply = await client.send('/hello');
        const decision = decisions[i]!;
        expect(reply.status).toBe(decision.allowed ? 200 : 429);
        for (const [name, value] of Object.entries(expectedFields(decision, clock.now()))) {
          expect(reply.headers[name], name).toBe(value);
        }
        const policies = parseList(reply.headers['ratelimit-policy']);
        expect(policies).toEqual([
          { name: 'per-second', params: { q: 2, w: 1 } },
          { name: 'per-minute', params: { q: 5, w: 60 } },
          { name: 'per-hour', params: { q: 50, w: 3600 } },
        ]);
        const items = parseList(reply.headers.ratelimit);
        expect(items.map((item) => item.name)).toEqual(['per-second', 'per-minute', 'per-hour']);
        // Legacy fields describe the deciding policy, which the draft lists too.
        const deciding = items.find((item) => item.name === decision.policy)!;
        expect(deciding.params.r).toBe(Number(reply.headers['x-ratelimit-remaining']));
        if (!decision.allowed) {
          expect(reply.headers['retry-after']).toBe(
            String(Math.ceil(decision.retryAfterMs / 1000)),
          );
          expect(reply.json.retry_after).toBe(Math.ceil(decision.retryAfterMs / 1000));
        }
        clock.advance(pauses[i]!);
      }
      expect(decisions.some((d) => !d.allowed && d.policy === 'per-second')).toBe(true);
      expect(decisions.some((d) => !d.allowed && d.policy === 'per-minute')).toBe(true);
    });

    it('advertises a gcra burst as q=burst over the seconds that refill it', async () => {
      const { limiter, clock } = limited([{ name: 'gcra', limit: 10, window: '10s', burst: 5 }]);
      const client = await serve(factory, { limiter, clock, headers: { draft: true } });
      const reply = await client.send('/');
      expect(reply.headers['ratelimit-policy']).toBe('"gcra";q=5;w=5');
      expect(reply.headers['x-ratelimit-limit']).toBe('5');
    });

    it('switches each header format on and off, on admitted responses and on refusals', async () => {
      const legacy = rateLimitHeaderNames.slice(0, 3);
      const draft = rateLimitHeaderNames.slice(3);
      const all = [...rateLimitHeaderNames];
      const cases = [
        { headers: undefined, admitted: legacy, refused: all },
        { headers: { legacy: false }, admitted: [], refused: draft },
        { headers: { draft: false }, admitted: legacy, refused: legacy },
        { headers: { draft: true }, admitted: all, refused: all },
        { headers: { legacy: 'refusals' as const, draft: true }, admitted: draft, refused: all },
        { headers: { draft: true, allowed: false }, admitted: [], refused: all },
        { headers: false as const, admitted: [], refused: [] },
      ];
      for (const entry of cases) {
        const { limiter, clock } = limited([{ name: 'one', limit: 1, window: '10s' }]);
        const client = await serve(factory, { limiter, clock, headers: entry.headers });
        const admitted = await client.send('/');
        const refused = await client.send('/');
        expect(admitted.status).toBe(200);
        expect(refused.status).toBe(429);
        expect(refused.headers['retry-after']).toBe('10');
        const present = (reply: typeof admitted) =>
          rateLimitHeaderNames.filter((name) => reply.headers[name] !== undefined);
        expect(present(admitted), JSON.stringify(entry.headers)).toEqual(entry.admitted);
        expect(present(refused), JSON.stringify(entry.headers)).toEqual(entry.refused);
      }
    });

    it('answers RFC 9457 problem details when asked', async () => {
      const { limiter, clock } = limited([{ name: 'one', limit: 1, window: '30s' }]);
      const client = await serve(factory, { limiter, clock, errorFormat: 'problem+json' });
      await client.send('/');
      const refused = await client.send('/');
      expect(refused.status).toBe(429);
      expect(refused.headers['content-type']).toBe('application/problem+json');
      expect(refused.headers['retry-after']).toBe('30');
      expect(refused.json).toEqual({
        type: 'about:blank',
        title: 'Too Many Requests',
        status: 429,
        detail: "Rate limit 'one' exceeded; retry in 30 s.",
        error: 'rate_limit_exceeded',
        retry_after: 30,
      });
      const typed = await serve(factory, {
        limiter: limited([{ name: 'one', limit: 1, window: '30s' }]).limiter,
        errorFormat: 'problem+json',
        problemTypeBase: 'https://api.example.com/problems/',
      });
      await typed.send('/');
      expect((await typed.send('/')).json.type).toBe(
        'https://api.example.com/problems/rate_limit_exceeded',
      );
    });

    it('charges per-route costs, by path and method, and a route may skip', async () => {
      const { limiter, clock } = limited([
        { name: 'units', limit: 5, window: '60s', algorithm: 'fixed-window' },
      ]);
      const client = await serve(factory, {
        limiter,
        clock,
        routes: [
          { path: '/search', methods: ['POST'], cost: 3 },
          { path: '/free/*', cost: 0 },
          { path: /^\/public\//, skip: true },
        ],
      });
      const search = await client.send('/search', { method: 'POST' });
      expect(search.status).toBe(200);
      expect(search.json.context.checks[0].cost).toBe(3);
      expect(search.headers['x-ratelimit-remaining']).toBe('2');
      // Case and a trailing slash do not dodge the rule (Express and Hono route them the same).
      expect((await client.send('/SEARCH/', { method: 'POST' })).status).toBe(429);
      expect((await client.send('/free/a/b')).headers['x-ratelimit-remaining']).toBe('2');
      const pub = await client.send('/public/x');
      expect(pub.json.context.skipped).toBe(true);
      expect((await client.send('/search')).headers['x-ratelimit-remaining']).toBe('1');
    });

    it('answers 413 cost_exceeds_limit without Retry-After when a request costs more than a policy ever admits', async () => {
      const { limiter, clock } = limited();
      const client = await serve(factory, {
        limiter,
        clock,
        cost: (request) => Number(request.headers['x-units'] ?? 1),
      });
      const reply = await client.send('/batch', { headers: { 'x-units': '7' } });
      expect(reply.status).toBe(413);
      expect(reply.text).toBe('{"error":"cost_exceeds_limit","cost":7,"limit":3}');
      expect(reply.headers['retry-after']).toBeUndefined();
      expect(reply.headers['x-ratelimit-remaining']).toBe('3');
      // Nothing was charged.
      expect((await client.send('/batch', { headers: { 'x-units': '3' } })).status).toBe(200);
    });

    it('checks several limits at once and charges none unless all admit', async () => {
      const perIp = limited([{ name: 'ip', limit: 5, window: '60s', algorithm: 'fixed-window' }]);
      const perKey = limited(
        [{ name: 'key', limit: 1, window: '60s', algorithm: 'fixed-window' }],
        {
          clock: perIp.clock,
        },
      );
      const client = await serve(factory, {
        clock: perIp.clock,
        headers: { draft: true },
        limits: [
          { name: 'by-ip', limiter: perIp.limiter, key: clientIp() },
          { name: 'by-key', limiter: perKey.limiter, key: apiKey() },
        ],
      });
      const first = await client.send('/', { headers: { 'x-api-key': 'secret-1' } });
      expect(first.status).toBe(200);
      expect(first.json.context.checks.map((c: { limit: string }) => c.limit)).toEqual([
        'by-ip',
        'by-key',
      ]);
      expect(first.json.context.checks[1].subject).toMatch(/^key:[A-Za-z0-9_-]{43}$/);
      expect(first.headers['ratelimit-policy']).toBe('"ip";q=5;w=60, "key";q=1;w=60');
      expect(first.headers.ratelimit).toBe('"ip";r=4;t=40, "key";r=0;t=40');
      // Legacy fields follow the most constrained limit.
      expect(first.headers['x-ratelimit-limit']).toBe('1');
      const refused = await client.send('/', { headers: { 'x-api-key': 'secret-1' } });
      expect(refused.status).toBe(429);
      // The per-IP charge of the refused request was given back, and its fields say so.
      expect((await perIp.limiter.peek('ip:127.0.0.1')).remaining).toBe(4);
      expect(refused.headers.ratelimit).toBe('"ip";r=4;t=40, "key";r=0;t=40');
      // A request without an API key has no such subject: only the IP limit applies.
      const anonymous = await client.send('/');
      expect(anonymous.status).toBe(200);
      expect(anonymous.json.context.checks.map((c: { limit: string }) => c.limit)).toEqual([
        'by-ip',
      ]);
    });

    it('uses per-route limits instead of the default ones', async () => {
      const general = limited([{ name: 'general', limit: 100, window: '60s' }]);
      const login = limited([{ name: 'login', limit: 1, window: '60s' }], { clock: general.clock });
      const client = await serve(factory, {
        limiter: general.limiter,
        clock: general.clock,
        routes: [
          {
            path: '/auth/login',
            methods: ['POST'],
            limits: [{ name: 'login', limiter: login.limiter }],
          },
        ],
      });
      expect(
        (await client.send('/auth/login', { method: 'POST' })).headers['x-ratelimit-limit'],
      ).toBe('1');
      const refused = await client.send('/auth/login', { method: 'POST' });
      expect(refused.status).toBe(429);
      expect(refused.headers['ratelimit-policy']).toBe('"login";q=1;w=60');
      expect((await client.send('/anything')).headers['x-ratelimit-remaining']).toBe('99');
    });
  });
}
