import { describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/adapters/clock/manual.ts';
import { createMemoryAlertSink } from '../../../src/adapters/memory/alert-sink.ts';
import { createRedisWindowStore } from '../../../src/adapters/redis/window-store.ts';
import { createAlertDispatcher, createAnomalyMonitor } from '../../../src/anomaly.ts';
import { createRateLimiter } from '../../../src/rate-limiter.ts';
import { testPrefix } from '../../support/redis.ts';
import { type RedisTarget, redisTargets } from './harness.ts';

const { targets, missing } = redisTargets();

/** One app server: its own Redis connection, dispatcher, sink and monitor; shared Redis keys. */
function appServer(target: RedisTarget, prefix: string, clock: ManualClock) {
  const store = createRedisWindowStore({
    ...target.connection,
    prefix,
    time: 'client',
    clock,
    clockSkewMs: 3_600_000,
  });
  const sink = createMemoryAlertSink();
  const alerts = createAlertDispatcher({ sink, store, clock });
  const monitor = createAnomalyMonitor({
    store,
    clock,
    alerts,
    bans: { initial: '2m', localCacheMs: 0 },
  });
  const limiter = createRateLimiter({
    store,
    policies: [{ name: 'ip', limit: 10_000, window: '1m' }, ...monitor.policies],
  });
  const request = (ip: string) =>
    monitor.check(limiter, { subject: `ip:${ip}`, ip, endpoint: '/api', method: 'GET' });
  const idle = async () => {
    while (monitor.pending > 0 || alerts.counts.pending > 0) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };
  return {
    sink,
    alerts,
    monitor,
    request,
    idle,
    close: async () => {
      await monitor.close();
      await store.close();
    },
  };
}

describe.runIf(targets.length > 0)(`anomaly detection on shared Redis ${missing}`, () => {
  for (const target of targets) {
    it(`${target.name}: two app instances, one burst, one alert; dedup period and bans shared`, async () => {
      const clock = createManualClock();
      const prefix = testPrefix('anomaly');
      const a = appServer(target, prefix, clock);
      const b = appServer(target, prefix, clock);
      try {
        const burst = async (ip: string) => {
          // 51 requests inside 10 s, alternating between the two servers.
          for (let i = 0; i < 51; i++) await (i % 2 === 0 ? a : b).request(ip);
          await Promise.all([a.idle(), b.idle()]);
        };
        const total = () => a.sink.alerts.length + b.sink.alerts.length;

        // 50 requests: nothing.
        for (let i = 0; i < 50; i++) await (i % 2 === 0 ? a : b).request('198.51.100.50');
        await Promise.all([a.idle(), b.idle()]);
        expect(total()).toBe(0);

        // Both servers see the 51st and later requests of this burst exceed the policy.
        const [ra, rb] = await Promise.all([
          a.request('198.51.100.50'),
          b.request('198.51.100.50'),
        ]);
        expect(ra.anomalies.length + rb.anomalies.length).toBe(2);
        await Promise.all([a.idle(), b.idle()]);
        expect(total()).toBe(1);

        // The burst banned the IP on both servers (one escalation, not two).
        const banned = await Promise.all([a.request('198.51.100.50'), b.request('198.51.100.50')]);
        expect(banned.map((s) => s.reason)).toEqual(['banned', 'banned']);
        expect(banned[0]!.retryAfterMs).toBeLessThanOrEqual(120_000);

        // A second burst from another IP is another subject: one more alert.
        await burst('198.51.100.51');
        expect(total()).toBe(2);

        // After the ban, a second burst within the 60 s dedup period: no alert.
        clock.advance(40_000);
        await a.monitor.bans!.unban('ip:198.51.100.51');
        await burst('198.51.100.51');
        expect(total()).toBe(2);

        // After the dedup period: one alert again.
        clock.advance(60_000);
        await a.monitor.bans!.unban('ip:198.51.100.51');
        await burst('198.51.100.51');
        expect(total()).toBe(3);

        const counts = [a.alerts.counts, b.alerts.counts];
        const sum = (key: keyof (typeof counts)[0]) => counts[0]![key] + counts[1]![key];
        expect(sum('sent')).toBe(3);
        expect(sum('raised')).toBe(sum('sent') + sum('suppressed'));
      } finally {
        await a.close();
        await b.close();
      }
    });
  }
});
