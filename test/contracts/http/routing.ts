/**
 * Route rules and skip lists apply to every spelling of a path that a
 * router may dispatch to the route: percent-escapes Fastify and Hono decode,
 * case and trailing slashes Express ignores, repeated slashes, a `;` suffix,
 * a raw fragment. The suite's apps answer every path, so a rule that missed
 * a spelling would let the handler answer 200.
 */
import { describe, expect, it } from 'vitest';
import { composed } from './composed.ts';
import { limited } from './fixtures.ts';
import { type AdapterFactory, type Protocol, rawRequest, rawStatus, serve } from './harness.ts';

export function routingContract(factory: AdapterFactory, protocol: Protocol): void {
  describe('paths as routers see them', () => {
    async function guarded() {
      const { lw } = await composed({ rateLimit: { limit: 1000, window: '60s' } });
      const guard = lw.requireJwt();
      return serve(factory, {
        ...lw.httpOptions,
        routes: [
          { path: '/admin', guard },
          { path: '/admin/*', guard },
          { path: /^\/reports\/\d+$/, guard },
        ],
      });
    }

    it('guards every spelling that reaches a guarded route', async () => {
      const client = await guarded();
      const spellings = [
        '/admin',
        '/%61dmin',
        '/%61%64%6D%69%6E/users',
        '/ADMIN',
        '/admin/',
        '//admin',
        '/admin//users',
        '/admin;jsessionid=1',
        '/admin/users?x=1',
        '/reports/%31%32',
      ];
      for (const path of spellings) {
        expect((await client.send(path)).status, path).toBe(401);
      }
      // Other paths stay open, however they are spelt; escapes are decoded once (`%2561` is `%61`).
      for (const path of [
        '/administrator',
        '/%61dministrator',
        '/admin%2Fusers',
        '/reports/x',
        '/%2561dmin',
      ]) {
        expect((await client.send(path)).status, path).toBe(200);
      }
    });

    if (protocol === 'http/1.1')
      it('guards a route whose target carries a raw fragment', async () => {
        const client = await guarded();
        for (const target of ['/admin#x', '/admin/users#/../open', '/%61dmin#']) {
          const response = await rawRequest(
            client.server.url,
            `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
          );
          expect(rawStatus(response), target).toBe(401);
        }
      });

    it('skips a path only where every router reads it as that path', async () => {
      const { limiter, clock } = limited([{ name: 'one', limit: 1, window: '60s' }]);
      const client = await serve(factory, { limiter, clock, skip: { paths: ['/health'] } });
      for (const path of ['/health', '/health/', '/HEALTH']) {
        const reply = await client.send(path);
        expect(reply.status, path).toBe(200);
        expect(reply.json.context.skipped, path).toBe(true);
      }
      // Express routes these to other handlers: skipping them would lift the limit there.
      for (const path of ['/%68ealth', '//health', '/health;x', '/%2568ealth']) {
        const reply = await client.send(path);
        expect(reply.json?.context?.skipped ?? false, path).toBe(false);
      }
      expect((await client.send('/healthz')).status).toBe(429);
    });

    it('gives a spelling routers read two ways the stricter rules of both readings', async () => {
      const general = limited([{ name: 'general', limit: 2, window: '60s' }]);
      const client = await serve(factory, {
        limiter: general.limiter,
        clock: general.clock,
        routes: [{ path: '/public', skip: true }],
      });
      // Decoded, `/%70ublic` is the unlimited /public; as sent (Express) it is another path.
      for (let i = 0; i < 3; i++) expect((await client.send('/public')).status).toBe(200);
      expect((await client.send('/%70ublic')).status).toBe(200);
      expect((await client.send('/%70ublic')).status).toBe(200);
      expect((await client.send('/%70ublic')).status).toBe(429);
    });
  });
}
