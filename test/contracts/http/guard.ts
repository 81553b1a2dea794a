/** The JWT guard over HTTP: 401/403/400 with WWW-Authenticate as RFC 6750 says, and the principal. */
import { describe, expect, it, vi } from 'vitest';
import { composed } from './composed.ts';
import { type AdapterFactory, serve } from './harness.ts';

const realm = 'Bearer realm="api"';

export function guardContract(factory: AdapterFactory): void {
  describe('JWT guard (requireJwt)', () => {
    async function setUp() {
      const set = await composed({ rateLimit: { limit: 1000, window: '60s' } });
      const { lw } = set;
      const client = await serve(factory, {
        ...set.lw.httpOptions,
        routes: [
          { path: '/admin', guard: lw.requireJwt({ scopes: 'admin' }) },
          { path: '/ops', guard: lw.requireJwt({ roles: ['ops'] }) },
          { path: '/me', guard: lw.requireJwt() },
        ],
      });
      const pair = await lw.sessions!.issue('alice', { scope: 'read', roles: ['dev'] });
      const bearer = { authorization: `Bearer ${pair.accessToken}` };
      return { ...set, client, pair, bearer };
    }

    it('admits a valid access token and gives handlers the principal', async () => {
      const { client, bearer } = await setUp();
      const reply = await client.send('/me', { headers: bearer });
      expect(reply.status).toBe(200);
      expect(reply.json.context.userId).toBe('alice');
      expect(reply.headers['www-authenticate']).toBeUndefined();
      // Routes without the guard stay open.
      expect((await client.send('/open')).status).toBe(200);
    });

    it('answers 401 with a bare challenge when no Bearer token is sent', async () => {
      const { client } = await setUp();
      const sends: Record<string, string>[] = [{}, { authorization: 'Basic YWxpY2U6c2VjcmV0' }];
      for (const headers of sends) {
        const reply = await client.send('/me', { headers });
        expect(reply.status).toBe(401);
        expect(reply.headers['www-authenticate']).toBe(realm);
        expect(reply.headers['content-type']).toBe('application/json');
        expect(reply.json).toEqual({
          error: 'token_missing',
          message: 'An access token is required.',
        });
        // The limit ran first: its fields are on the refusal.
        expect(reply.headers['x-ratelimit-limit']).toBe('1000');
      }
    });

    it('answers 401 invalid_token with the code, never the failed check', async () => {
      const { client, clock, lw, pair, bearer } = await setUp();
      const forged = `${pair.accessToken.slice(0, -4)}AAAA`;
      const cases: [Record<string, string>, string, string][] = [
        [{ authorization: 'Bearer not.a.jwt' }, 'token_invalid', 'The token is invalid.'],
        [{ authorization: `Bearer ${forged}` }, 'token_invalid', 'The token is invalid.'],
        [{ authorization: `Bearer ${'A'.repeat(9000)}` }, 'token_invalid', 'The token is invalid.'],
      ];
      for (const [headers, code, message] of cases) {
        const reply = await client.send('/me', { headers });
        expect(reply.status).toBe(401);
        expect(reply.headers['www-authenticate']).toBe(
          `${realm}, error="invalid_token", error_description="${message}"`,
        );
        expect(reply.json).toEqual({ error: code, message });
      }
      await lw.sessions!.logout(pair.refreshToken);
      const revoked = await client.send('/me', { headers: bearer });
      expect(revoked.status).toBe(401);
      expect(revoked.json.error).toBe('token_revoked');
      const fresh = await lw.sessions!.issue('bob');
      clock.advance(16 * 60_000);
      const expired = await client.send('/me', {
        headers: { authorization: `Bearer ${fresh.accessToken}` },
      });
      expect(expired.status).toBe(401);
      expect(expired.headers['www-authenticate']).toBe(
        `${realm}, error="invalid_token", error_description="The token has expired."`,
      );
      expect(expired.json.error).toBe('token_expired');
    });

    it('answers 403 insufficient_scope for a good token without the scope or role', async () => {
      const { client, bearer } = await setUp();
      const admin = await client.send('/admin', { headers: bearer });
      expect(admin.status).toBe(403);
      expect(admin.headers['www-authenticate']).toBe(
        `${realm}, error="insufficient_scope", error_description="The token does not grant this access.", scope="admin"`,
      );
      expect(admin.json.error).toBe('insufficient_scope');
      const ops = await client.send('/ops', { headers: bearer });
      expect(ops.status).toBe(403);
      expect(ops.headers['www-authenticate']).toBe(
        `${realm}, error="insufficient_scope", error_description="The token does not grant this access."`,
      );
    });

    it('answers 400 invalid_request for a malformed Bearer header', async () => {
      const { client } = await setUp();
      for (const authorization of ['Bearer', 'Bearer a b', 'Bearer "quoted"', 'bearer ä']) {
        const reply = await client.send('/me', { headers: { authorization } });
        expect(reply.status, authorization).toBe(400);
        expect(reply.headers['www-authenticate']).toBe(
          `${realm}, error="invalid_request", error_description="The Authorization header is malformed."`,
        );
      }
    });

    it('feeds refused tokens to the auth-failure detector, which alerts', async () => {
      const { client, stores } = await setUp();
      for (let i = 0; i < 3; i++) {
        expect(
          (await client.send('/me', { headers: { authorization: 'Bearer bad' } })).status,
        ).toBe(401);
      }
      await vi.waitFor(() => {
        expect(stores.alerts.alerts.map((a) => a.type)).toContain('auth_failures_ip');
      });
      const alert = stores.alerts.alerts.find((a) => a.type === 'auth_failures_ip')!;
      expect(alert).toMatchObject({ ip: '127.0.0.1', endpoint: '/me', method: 'GET' });
    });
  });
}
