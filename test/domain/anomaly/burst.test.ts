import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import { createMemoryAlertSink } from '../../../src/adapters/memory/alert-sink.ts';
import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { createAlertDispatcher, createAnomalyMonitor } from '../../../src/anomaly.ts';
import { defineBurstDetector } from '../../../src/domain/anomaly/burst.ts';
import { createRateLimiter } from '../../../src/rate-limiter.ts';

function setup() {
  const clock = createManualClock();
  const store = createMemoryWindowStore({ clock });
  const sink = createMemoryAlertSink();
  const alerts = createAlertDispatcher({ sink, store, clock });
  const monitor = createAnomalyMonitor({ store, clock, alerts });
  const limiter = createRateLimiter({
    store,
    policies: [{ name: 'ip', limit: 10_000, window: '1m' }, ...monitor.policies],
  });
  const request = (ip = '203.0.113.7') =>
    monitor.check(limiter, {
      subject: `ip:${ip}`,
      ip,
      endpoint: '/api/login',
      method: 'POST',
      userAgent: 'curl/8',
    });
  const settle = async () => {
    // The dispatcher works off the request path; let its workers run.
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return { clock, store, sink, alerts, monitor, limiter, request, settle };
}

describe('burst detector', () => {
  it('defaults to the seed: an observe-mode exact policy of 50 per 10 s', () => {
    const burst = defineBurstDetector();
    expect(burst.policy).toMatchObject({
      name: 'burst',
      limit: 50,
      windowMs: 10_000,
      mode: 'observe',
      algorithm: 'sliding-log',
    });
    expect(burst.severity).toBe('warning');
  });

  it('50 requests in 10 s raise no alert; the 51st raises exactly one', async () => {
    const { clock, sink, alerts, request, settle } = setup();
    for (let i = 0; i < 50; i++) {
      const screening = await request();
      expect(screening).toMatchObject({ allowed: true, anomalies: [] });
      clock.advance(190);
    }
    await settle();
    expect(sink.alerts).toHaveLength(0);
    const tipping = await request();
    expect(tipping.allowed).toBe(true); // observe mode never denies
    expect(tipping.anomalies).toHaveLength(1);
    for (let i = 0; i < 20; i++) await request();
    await settle();
    expect(sink.alerts).toHaveLength(1);
    expect(sink.alerts[0]).toMatchObject({
      type: 'burst',
      subject: 'ip:203.0.113.7',
      ip: '203.0.113.7',
      requestCountInWindow: 51,
      windowSeconds: 10,
      endpoint: '/api/login',
      method: 'POST',
      userAgent: 'curl/8',
      severity: 'warning',
      timestamp: clock.now(),
    });
    expect(alerts.counts).toMatchObject({ raised: 21, sent: 1, suppressed: 20, pending: 0 });
  });

  it('a second burst within the 60 s dedup period raises none; one after it raises one', async () => {
    const { clock, sink, request, settle } = setup();
    const burst = async () => {
      for (let i = 0; i < 51; i++) await request();
      await settle();
    };
    await burst();
    expect(sink.alerts).toHaveLength(1);
    clock.advance(20_000); // the burst window has passed, the dedup period has not
    await burst();
    expect(sink.alerts).toHaveLength(1);
    clock.advance(40_001); // 60 s after the first alert
    await burst();
    expect(sink.alerts).toHaveLength(2);
    expect(sink.alerts[1]!.id).not.toBe(sink.alerts[0]!.id);
  });

  it('counts each IP on its own and 50 spread over more than 10 s is no burst', async () => {
    const { clock, sink, request, settle } = setup();
    for (let i = 0; i < 60; i++) {
      await request('198.51.100.3');
      clock.advance(201); // 50 requests take just over 10 s
    }
    for (let i = 0; i < 50; i++) {
      await request('198.51.100.1');
      await request('198.51.100.2');
    }
    await settle();
    expect(sink.alerts).toHaveLength(0);
    await request('198.51.100.1');
    await settle();
    expect(sink.alerts.map((a) => a.subject)).toEqual(['ip:198.51.100.1']);
  });

  it('reads the burst from the same decision as the rate limit: one store call per request', async () => {
    const { store, monitor, limiter } = setup();
    let calls = 0;
    const check = store.check.bind(store);
    store.check = (...args) => {
      // The dispatcher's dedup call (subject alert:...) runs off the request path.
      if (args[0].startsWith('ip:')) calls++;
      return check(...args);
    };
    for (let i = 0; i < 51; i++) {
      await monitor.check(limiter, { subject: 'ip:192.0.2.9', ip: '192.0.2.9' });
    }
    expect(calls).toBe(51);
  });

  it('inspect ignores degraded decisions and decisions without the burst policy', async () => {
    const { monitor, limiter } = setup();
    const decision = await limiter.check('ip:192.0.2.1');
    expect(monitor.inspect({ ...decision, degraded: true, observed: [] }, {})).toEqual([]);
    expect(monitor.inspect({ ...decision, observed: [] }, { subject: 'ip:192.0.2.1' })).toEqual([]);
  });
});
