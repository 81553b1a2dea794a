/** The failure policy seen over HTTP: `closed` answers 503, `open` admits. */
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import { withFailurePolicy } from '../../../src/adapters/failure/window-store.ts';
import { createRateLimiter } from '../../../src/rate-limiter.ts';
import { createSwitchableStore } from '../../support/switchable-store.ts';
import { api, rateLimitHeaderNames } from './fixtures.ts';
import { type AdapterFactory, serve } from './harness.ts';

function failing(policy: 'open' | 'closed') {
  const clock = createManualClock();
  const primary = createSwitchableStore(clock);
  const store = withFailurePolicy(primary, {
    policy,
    clock,
    breaker: { failureThreshold: 1, cooldownMs: 5_000 },
  });
  return { clock, primary, limiter: createRateLimiter({ store, policies: [api], clock }) };
}

export function failureContract(factory: AdapterFactory): void {
  describe('failure policy', () => {
    it("answers 503 with Retry-After under 'closed' while the store is down, and recovers", async () => {
      const { clock, primary, limiter } = failing('closed');
      const client = await serve(factory, { limiter, clock });
      expect((await client.send('/')).status).toBe(200);
      primary.mode = 'fail';
      const down = await client.send('/');
      expect(down.status).toBe(503);
      expect(down.headers['content-type']).toBe('application/json');
      const retryAfter = Number(down.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(down.json).toEqual({ error: 'service_unavailable', retry_after: retryAfter });
      // The counts of a synthetic denial are not the client's: no rate-limit fields.
      expect(rateLimitHeaderNames.filter((name) => down.headers[name] !== undefined)).toEqual([]);
      const problem = await serve(factory, { limiter, clock, errorFormat: 'problem+json' });
      const detailed = await problem.send('/');
      expect(detailed.status).toBe(503);
      expect(detailed.headers['content-type']).toBe('application/problem+json');
      expect(detailed.json).toMatchObject({
        status: 503,
        title: 'Service Unavailable',
        error: 'service_unavailable',
      });
      primary.mode = 'ok';
      clock.advance(retryAfter * 1000);
      expect((await client.send('/')).status).toBe(200);
    });

    it("admits under 'open' while the store is down, marking the decision degraded", async () => {
      const { clock, primary, limiter } = failing('open');
      const client = await serve(factory, { limiter, clock });
      primary.mode = 'fail';
      for (let i = 0; i < 5; i++) {
        const reply = await client.send('/');
        expect(reply.status).toBe(200);
        expect(reply.json.context.degraded).toBe(true);
      }
    });

    it('passes a store error without failure policy to the framework, not to the client as a decision', async () => {
      const clock = createManualClock();
      const primary = createSwitchableStore(clock, 'fail');
      const limiter = createRateLimiter({ store: primary, policies: [api], clock, failure: false });
      const client = await serve(factory, { limiter, clock });
      const reply = await client.send('/');
      expect(reply.status).toBe(500);
      expect(reply.text).toBe('{"error":"internal_error"}');
    });
  });
}
