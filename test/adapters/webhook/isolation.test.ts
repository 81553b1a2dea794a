import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { generateWebhookSecret } from '../../../src/adapters/webhook/signature.ts';
import { createWebhookAlertSink } from '../../../src/adapters/webhook/sink.ts';
import { createAlertDispatcher, createAnomalyMonitor } from '../../../src/anomaly.ts';
import { createAlert } from '../../../src/domain/alerts/alert.ts';
import { createRateLimiter } from '../../../src/rate-limiter.ts';
import { startReceiver } from './receiver.ts';

/**
 * Timing tests compare two set-ups measured alternately in one process and
 * assert on the ratio of medians, never on absolute times (shared machine).
 */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function alternate(
  rounds: number,
  measure: (hung: boolean) => Promise<number>,
): Promise<{ hung: number; healthy: number; ratio: number }> {
  const hung: number[] = [];
  const healthy: number[] = [];
  await measure(false); // warm-up: JIT, first connections
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [true, false] : [false, true];
    for (const isHung of order) (isHung ? hung : healthy).push(await measure(isHung));
  }
  const result = { hung: median(hung), healthy: median(healthy) };
  return { ...result, ratio: result.hung / result.healthy };
}

describe('webhook isolation', () => {
  it('alerts reach a healthy receiver as fast with another receiver hung as with none hung', async () => {
    const alerts = 200;
    const measure = async (hung: boolean) => {
      const clock = createManualClock();
      const a = await startReceiver(() => (hung ? 'hang' : { status: 204 }));
      const b = await startReceiver();
      const sink = createWebhookAlertSink({
        clock,
        endpoints: [
          { url: a.url, secret: generateWebhookSecret(), name: 'a' },
          { url: b.url, secret: generateWebhookSecret(), name: 'b' },
        ],
        timeoutMs: 10_000,
        drainTimeoutMs: 0,
      });
      const started = performance.now();
      for (let i = 0; i < alerts; i++) {
        await sink.send(
          createAlert({
            type: 'burst',
            subject: `ip:10.0.${i >> 8}.${i & 255}`,
            timestamp: clock.now(),
            requestCountInWindow: 51,
            windowMs: 10_000,
            severity: 'warning',
          }),
        );
      }
      await b.until(alerts);
      const elapsed = performance.now() - started;
      if (hung) expect(a.requests.length).toBeLessThanOrEqual(4); // its connection cap
      await sink.close();
      await Promise.all([a.close(), b.close()]);
      return elapsed;
    };
    const { hung, healthy, ratio } = await alternate(3, measure);
    console.log(
      `isolation: ${alerts} alerts to receiver b, median ${healthy.toFixed(1)} ms with a healthy, ${hung.toFixed(1)} ms with a hung: ratio ${ratio.toFixed(2)}`,
    );
    expect(ratio).toBeLessThan(2);
  });

  it('the request path takes as long with a hung receiver as with a healthy one', async () => {
    const ips = 3000;
    const measure = async (hung: boolean) => {
      const clock = createManualClock();
      const receiver = await startReceiver(() => (hung ? 'hang' : { status: 204 }));
      const store = createMemoryWindowStore({ clock });
      const sink = createWebhookAlertSink({
        clock,
        endpoints: [{ url: receiver.url, secret: generateWebhookSecret() }],
        timeoutMs: 10_000,
        drainTimeoutMs: 0,
      });
      const alerts = createAlertDispatcher({ sink, store, clock, queueSize: 10_000 });
      // A burst limit of 1 makes every second request from an IP an anomaly with an alert.
      const monitor = createAnomalyMonitor({ store, clock, alerts, burst: { limit: 1 } });
      const limiter = createRateLimiter({
        store,
        policies: [{ name: 'ip', limit: 1000, window: '1m' }, ...monitor.policies],
      });
      const started = performance.now();
      for (let i = 0; i < ips; i++) {
        const ip = `10.1.${i >> 8}.${i & 255}`;
        await monitor.check(limiter, { subject: `ip:${ip}`, ip, endpoint: '/', method: 'GET' });
        await monitor.check(limiter, { subject: `ip:${ip}`, ip, endpoint: '/', method: 'GET' });
      }
      const elapsed = performance.now() - started;
      expect(alerts.counts.raised).toBe(ips);
      await monitor.close();
      await receiver.close();
      return elapsed;
    };
    const { hung, healthy, ratio } = await alternate(5, measure);
    console.log(
      `request path: ${2 * ips} checks raising ${ips} alerts, median ${healthy.toFixed(1)} ms with a healthy receiver, ${hung.toFixed(1)} ms with a hung one: ratio ${ratio.toFixed(2)}`,
    );
    expect(ratio).toBeLessThan(1.5);
  });
});
