/** Skip lists and predicates: the requests rate limiting leaves alone. */
import { describe, expect, it } from 'vitest';
import { limited, rateLimitHeaderNames } from './fixtures.ts';
import { type AdapterFactory, serve } from './harness.ts';

export function skipContract(factory: AdapterFactory): void {
  describe('skip lists', () => {
    it('never limits listed paths and methods, and says so in the context', async () => {
      const { limiter, clock } = limited([{ name: 'one', limit: 1, window: '60s' }]);
      const client = await serve(factory, {
        limiter,
        clock,
        skip: { paths: ['/health', '/static/*', /^\/metrics$/], methods: ['OPTIONS'] },
      });
      for (let i = 0; i < 3; i++) {
        for (const [path, method] of [
          ['/health', 'GET'],
          ['/Health/', 'GET'],
          ['/static/app.js', 'GET'],
          ['/static', 'GET'],
          ['/metrics', 'GET'],
          ['/api', 'OPTIONS'],
        ] as const) {
          const reply = await client.send(path, { method });
          expect(reply.status, `${method} ${path}`).toBe(200);
          expect(reply.json.context.skipped).toBe(true);
          expect(reply.json.context.checks).toEqual([]);
          expect(rateLimitHeaderNames.filter((name) => reply.headers[name] !== undefined)).toEqual(
            [],
          );
        }
      }
      expect((await client.send('/healthz')).status).toBe(200);
      expect((await client.send('/healthz')).status).toBe(429);
      expect((await client.send('/static-files')).status).toBe(429);
    });

    it('skips what a predicate says, sync or async', async () => {
      const { limiter, clock } = limited([{ name: 'one', limit: 1, window: '60s' }]);
      const client = await serve(factory, {
        limiter,
        clock,
        skip: async (request) => request.headers['x-internal'] === 'yes',
      });
      for (let i = 0; i < 3; i++) {
        expect((await client.send('/', { headers: { 'x-internal': 'yes' } })).status).toBe(200);
      }
      expect((await client.send('/')).status).toBe(200);
      expect((await client.send('/')).status).toBe(429);
    });
  });
}
