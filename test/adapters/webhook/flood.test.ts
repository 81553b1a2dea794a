import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { generateWebhookSecret } from '../../../src/adapters/webhook/signature.ts';
import { createWebhookAlertSink } from '../../../src/adapters/webhook/sink.ts';
import { createAlertDispatcher } from '../../../src/anomaly.ts';
import { createAlert } from '../../../src/domain/alerts/alert.ts';
import { startReceiver } from './receiver.ts';

describe('webhook flood', () => {
  it('100,000 anomalies to two real receivers (one flaky): every alert accounted for at both levels', async () => {
    const clock = createManualClock();
    const reasons = new Map<string, number>();
    const healthy = await startReceiver(() => ({ status: 204 }));
    const flaky = await startReceiver((n) => ({ status: n % 5 === 0 ? 503 : 204 }));
    const sink = createWebhookAlertSink({
      clock,
      endpoints: [
        { url: healthy.url, secret: generateWebhookSecret(), name: 'healthy' },
        { url: flaky.url, secret: generateWebhookSecret(), name: 'flaky' },
      ],
      queueSize: 500,
      attempts: 2,
      // Backoff waits advance this manual clock; keep the drain deadline out of their reach.
      drainTimeoutMs: 600_000,
      onEvent: (event) => {
        if (event.type === 'failed')
          reasons.set(event.reason, (reasons.get(event.reason) ?? 0) + 1);
        if (event.type === 'retry') clock.advance(event.delayMs);
      },
    });
    const store = createMemoryWindowStore({ clock, maxKeys: 10_000 });
    const dispatcher = createAlertDispatcher({ sink, store, clock, queueSize: 1000 });
    const total = 100_000;
    const started = performance.now();
    for (let i = 0; i < total; i++) {
      const subject =
        i % 4 === 0 ? `ip:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `ip:h${i % 300}`;
      dispatcher.raise(
        createAlert({
          type: 'burst',
          subject,
          timestamp: clock.now(),
          requestCountInWindow: 51,
          windowMs: 10_000,
          severity: 'warning',
        }),
      );
      if ((i & 4095) === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const raiseMs = performance.now() - started;
    await dispatcher.close(); // drains the dispatcher, then the sink
    const counts = dispatcher.counts;
    const [h, f] = sink.endpoints.map((e) => e.counts);
    console.log(
      `webhook flood: ${total} raised in ${raiseMs.toFixed(0)} ms; dispatcher sent ${counts.sent}, suppressed ${counts.suppressed}, failed ${counts.failed}, dropped ${counts.dropped}; healthy ${JSON.stringify(h)}; flaky ${JSON.stringify(f)}; ${JSON.stringify([...reasons])}`,
    );
    expect(counts.raised).toBe(total);
    expect(counts.sent + counts.suppressed + counts.failed + counts.dropped).toBe(total);
    expect(counts.pending).toBe(0);
    for (const c of [h!, f!]) {
      expect(c.pending).toBe(0);
      // Every send() reached both receivers' queues; the sink rejected it (dispatcher: failed) only when both were full.
      expect(c.accepted + c.dropped).toBe(counts.sent + counts.failed);
      expect(c.delivered + c.failed).toBe(c.accepted);
    }
    expect(healthy.requests).toHaveLength(h!.delivered);
    expect(flaky.requests).toHaveLength(f!.delivered + f!.failed + f!.retries);
    expect(f!.retries).toBeGreaterThan(0);
    expect(h!.failed).toBe(0);
    expect([...reasons.keys()].every((r) => r === 'attempts_exhausted')).toBe(true);
    await Promise.all([healthy.close(), flaky.close()]);
  });
});
