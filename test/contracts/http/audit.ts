/** The audit record of every request, written by the composed finish hook. */
import { describe, expect, it, vi } from 'vitest';
import type { AuditRecord } from '../../../src/ports/audit.ts';
import { composed } from './composed.ts';
import { type AdapterFactory, serve } from './harness.ts';

export function auditContract(factory: AdapterFactory): void {
  describe('audit records', () => {
    it('records status, latency, user, rate-limit and anomaly flags and request id of each request', async () => {
      const { lw, clock, stores } = await composed();
      const client = await serve(factory, {
        ...lw.httpOptions,
        routes: [{ path: '/me', guard: lw.requireJwt() }],
      });
      const pair = await lw.sessions!.issue('alice');
      const sent: [string, Record<string, string>][] = [
        ['/me?q=1', { authorization: `Bearer ${pair.accessToken}`, 'x-request-id': 'req-1' }],
        ['/me', { 'x-request-id': 'req-2' }],
        ['/hello', { 'x-request-id': 'req-3' }], // third in 10 s: a burst, still admitted
        ['/hello', { 'x-request-id': 'req-4' }], // fourth in 60 s: refused, and a burst
      ];
      const statuses: number[] = [];
      for (const [path, headers] of sent)
        statuses.push((await client.send(path, { headers })).status);
      expect(statuses).toEqual([200, 401, 200, 429]);
      await vi.waitFor(() => expect(lw.audit!.stats.offered).toBe(4));
      await lw.audit!.flush();
      const byId = new Map<string | undefined, AuditRecord>(
        stores.audit.records.map((r) => [r.requestId, r]),
      );
      const common = { ip: '127.0.0.1', method: 'GET', timestamp: clock.now() };
      expect(byId.get('req-1')).toMatchObject({
        ...common,
        endpoint: '/me',
        statusCode: 200,
        userId: 'alice',
        rateLimitHit: false,
        anomalyDetected: false,
      });
      expect(byId.get('req-2')).toMatchObject({
        ...common,
        endpoint: '/me',
        statusCode: 401,
        rateLimitHit: false,
        anomalyDetected: false,
      });
      expect(byId.get('req-2')!.userId).toBeUndefined();
      expect(byId.get('req-3')).toMatchObject({
        ...common,
        endpoint: '/hello',
        statusCode: 200,
        rateLimitHit: false,
        anomalyDetected: true,
      });
      expect(byId.get('req-4')).toMatchObject({
        ...common,
        endpoint: '/hello',
        statusCode: 429,
        rateLimitHit: true,
        anomalyDetected: true,
      });
      for (const record of stores.audit.records) {
        expect(record.latencyMs).toBeGreaterThanOrEqual(0);
        expect(record.latencyMs).toBeLessThan(10_000);
        expect(record.id).toMatch(/^[0-9a-f-]{36}$/);
      }
      // A request that brings no id gets one LockWatch makes, unique: its record reuses it.
      await client.send('/hello');
      await vi.waitFor(() => expect(lw.audit!.stats.offered).toBe(5));
      await lw.audit!.flush();
      const unnamed = stores.audit.records.find((r) => !r.requestId?.startsWith('req-'))!;
      expect(unnamed.requestId).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(unnamed.id).toBe(unnamed.requestId);
      // A client's id may repeat, even when it is a UUIDv7: each of its records gets its own id.
      const given = '0192f3a4-5b6c-7d8e-9f01-23456789abcd';
      for (let i = 0; i < 2; i++)
        await client.send('/hello', { headers: { 'x-request-id': given } });
      await vi.waitFor(() => expect(lw.audit!.stats.offered).toBe(7));
      await lw.audit!.flush();
      const repeated = stores.audit.records.filter((r) => r.requestId === given);
      expect(repeated).toHaveLength(2);
      expect(new Set(repeated.map((r) => r.id)).size).toBe(2);
      expect(repeated.map((r) => r.id)).not.toContain(given);
      // The burst was alerted once (dedup), off the request path.
      await vi.waitFor(() => expect(stores.alerts.alerts.map((a) => a.type)).toEqual(['burst']));
      expect(stores.alerts.alerts[0]).toMatchObject({
        ip: '127.0.0.1',
        endpoint: '/hello',
        requestCountInWindow: 3,
        windowSeconds: 10,
      });
    });
  });
}
