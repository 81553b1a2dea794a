import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFailurePolicy } from '../../../src/adapters/failure/window-store.ts';
import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { createRedisWindowStore } from '../../../src/adapters/redis/window-store.ts';
import type { FailureEvent } from '../../../src/domain/failure/events.ts';
import type { FailureMode } from '../../../src/domain/failure/policy.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import {
  hasRedisServerBinary,
  type RedisProcess,
  startRedisProcess,
  tempDir,
  testPrefix,
} from '../../support/redis.ts';
import { percentile, startLoad } from './load.ts';

/**
 * A standalone Redis of this test's own is killed under load and started
 * again, once per failure mode. Real time throughout: what is measured is the
 * latency a caller sees while the server is gone.
 */

const timeoutMs = 50;
const cooldownMs = 1000;
// The client looks for a restarted server every 200 ms at most (src/adapters/redis/client.ts).
const reconnectMs = 200;
// Headroom for a shared 2-core machine running other test files at the same time.
const marginMs = 100;

const roomy = definePolicy({ name: 'roomy', limit: 1_000_000, window: '1m' });
const tight = definePolicy({ name: 'tight', limit: 5, window: '1m' });

const available = hasRedisServerBinary();
if (!available && process.env.CI) throw new Error('redis-server is required in CI');

describe.runIf(available)('Redis outage under load, standalone server', () => {
  let server: RedisProcess;
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('outage');
    server = await startRedisProcess({ dir });
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const modes: FailureMode[] = ['open', 'closed', 'fallback'];
  for (const mode of modes) {
    it(`${mode}: answers within the timeout while Redis is down, and is back on Redis within a breaker period`, async () => {
      await server.start();
      const events: FailureEvent[] = [];
      const store = withFailurePolicy(
        createRedisWindowStore({ url: server.url, prefix: testPrefix('outage') }),
        {
          policy: mode,
          ...(mode === 'fallback' ? { fallback: () => createMemoryWindowStore() } : {}),
          timeoutMs,
          breaker: { failureThreshold: 3, cooldownMs },
          onEvent: (event) => events.push(event),
        },
      );
      const load = startLoad(() => store.check('load', [roomy], 1));
      try {
        await load.until((s) => s.decision?.degraded === false, 0);

        const killedAt = performance.now();
        await server.stop();
        await load.until((s) => s.decision?.degraded === true, killedAt);
        // Long enough for several breaker periods and half-open probes to fail.
        await new Promise((resolve) => setTimeout(resolve, 2 * cooldownMs + 200));

        const tightDecisions = [];
        for (let i = 0; i < 8; i++) tightDecisions.push(await store.check('tight', [tight], 1));
        for (const d of tightDecisions) expect(d.degraded).toBe(true);
        const admitted = tightDecisions.filter((d) => d.allowed).length;
        if (mode === 'open') expect(admitted).toBe(8);
        if (mode === 'closed') {
          expect(admitted).toBe(0);
          for (const d of tightDecisions) expect(d.reason).toBe('store_unavailable');
        }
        if (mode === 'fallback') {
          expect(admitted).toBe(5);
          expect(tightDecisions[7]!.reason).toBe('limit');
        }

        const restartedAt = performance.now();
        await server.start();
        const ready = performance.now();
        const back = await load.until((s) => s.decision?.degraded === false, ready);
        await load.stop();

        expect(back.end - ready).toBeLessThanOrEqual(cooldownMs + reconnectMs + marginMs);

        const outage = load.samples.filter((s) => s.start > killedAt + 5 && s.end < restartedAt);
        expect(outage.length).toBeGreaterThan(100);
        expect(outage.filter((s) => s.error !== undefined)).toEqual([]);
        for (const s of outage) {
          expect(s.decision!.degraded).toBe(true);
          if (mode === 'open') expect(s.decision!.allowed).toBe(true);
          if (mode === 'closed') expect(s.decision!.reason).toBe('store_unavailable');
          if (mode === 'fallback') expect(s.decision!.allowed).toBe(true);
        }
        const p99 = percentile(
          outage.map((s) => s.end - s.start),
          99,
        );
        expect(p99).toBeLessThanOrEqual(timeoutMs + marginMs);

        const transitions = events.flatMap((e) =>
          e.type === 'state' ? [`${e.from}>${e.to}`] : [],
        );
        expect(transitions).toContain('closed>open');
        expect(transitions).toContain('open>half-open');
        expect(transitions.at(-1)).toBe('half-open>closed');
        const max = Math.max(...outage.map((s) => s.end - s.start));
        console.info(
          `${mode}: ${outage.length} checks during the outage, p99 ${p99.toFixed(2)} ms, max ${max.toFixed(1)} ms; back on Redis ${(back.end - ready).toFixed(0)} ms after restart`,
        );
      } finally {
        await load.stop();
        await store.close();
      }
    });
  }
});
