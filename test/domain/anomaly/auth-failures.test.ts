import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import { createMemoryAlertSink } from '../../../src/adapters/memory/alert-sink.ts';
import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { createAlertDispatcher, createAnomalyMonitor } from '../../../src/anomaly.ts';
import { defineAuthFailureDetector } from '../../../src/domain/anomaly/auth-failures.ts';
import type { MonitorEvent } from '../../../src/domain/anomaly/monitor.ts';

function setup(options: Parameters<typeof createAnomalyMonitor>[0] = {}) {
  const clock = createManualClock();
  const store = createMemoryWindowStore({ clock });
  const sink = createMemoryAlertSink();
  const events: MonitorEvent[] = [];
  const monitor = createAnomalyMonitor({
    store,
    clock,
    alerts: createAlertDispatcher({ sink, store, clock }),
    onEvent: (e) => events.push(e),
    ...options,
  });
  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  return { clock, store, sink, monitor, events, settle };
}

describe('authentication-failure detector', () => {
  it('defaults: more than 10 per user in 15 min, more than 20 per IP in 10 min', () => {
    const detector = defineAuthFailureDetector();
    expect(detector.perUser).toMatchObject({ limit: 10, windowMs: 900_000, mode: 'observe' });
    expect(detector.perIp).toMatchObject({ limit: 20, windowMs: 600_000, mode: 'observe' });
    expect(detector.subjects({ ip: '2001:db8:1:2:3:4:5:6', user: 42 })).toEqual({
      ip: 'ip:2001:db8:1:2::/64',
      user: 'user:42',
    });
    expect(detector.subjects({ ip: '::ffff:192.0.2.1', user: '' })).toEqual({ ip: 'ip:192.0.2.1' });
    expect(detector.subjects({ ip: 'garbage' })).toEqual({});
  });

  it('an allow-listed user name does not exempt failed logins against it', async () => {
    const { monitor } = setup({ lists: { allow: ['user:healthcheck'] } });
    const types = new Set<string>();
    for (let i = 0; i < 21; i++) {
      const found = await monitor.recordAuthFailure({ ip: '203.0.113.9', user: 'healthcheck' });
      for (const anomaly of found) types.add(anomaly.type);
    }
    expect([...types].sort()).toEqual(['auth_failures_ip', 'auth_failures_user']);
  });

  it('brute force on one account from many IPs: the 11th failure raises one alert', async () => {
    const { monitor, sink, settle } = setup();
    for (let i = 0; i < 10; i++) {
      expect(await monitor.recordAuthFailure({ ip: `198.51.100.${i}`, user: 'alice' })).toEqual([]);
    }
    const anomalies = await monitor.recordAuthFailure({
      ip: '198.51.100.99',
      user: 'alice',
      endpoint: '/login',
      method: 'POST',
      userAgent: 'bot',
    });
    expect(anomalies).toMatchObject([
      { type: 'auth_failures_user', subject: 'user:alice', count: 11, severity: 'critical' },
    ]);
    await monitor.recordAuthFailure({ ip: '198.51.100.100', user: 'alice' });
    await settle();
    expect(sink.alerts).toMatchObject([
      {
        type: 'auth_failures_user',
        subject: 'user:alice',
        ip: '198.51.100.99',
        requestCountInWindow: 11,
        windowSeconds: 900,
        endpoint: '/login',
        method: 'POST',
        userAgent: 'bot',
      },
    ]);
  });

  it('credential stuffing from one IP over many accounts: the 21st failure raises an alert', async () => {
    const { monitor, sink, settle } = setup();
    for (let i = 0; i < 20; i++) {
      expect(await monitor.recordAuthFailure({ ip: '203.0.113.50', user: `user${i}` })).toEqual([]);
    }
    expect(await monitor.recordAuthFailure({ ip: '203.0.113.50', user: 'user99' })).toMatchObject([
      { type: 'auth_failures_ip', subject: 'ip:203.0.113.50', count: 21 },
    ]);
    await settle();
    expect(sink.alerts.map((a) => a.type)).toEqual(['auth_failures_ip']);
  });

  it('failures age out of the window; a success can clear a user', async () => {
    const { clock, monitor, store } = setup({
      authFailures: { perUser: { limit: 2, window: '1m' }, perIp: false },
    });
    await monitor.recordAuthFailure({ user: 'bob' });
    await monitor.recordAuthFailure({ user: 'bob' });
    clock.advance(120_000);
    expect(await monitor.recordAuthFailure({ user: 'bob' })).toEqual([]);
    await monitor.recordAuthFailure({ user: 'bob' });
    await monitor.authFailures!.resetUser(store, 'bob');
    expect(await monitor.recordAuthFailure({ user: 'bob' })).toEqual([]);
    expect(await monitor.recordAuthFailure({ ip: '192.0.2.1' })).toEqual([]); // per-IP is off
  });

  it('bans the stuffing IP when bans are on; allow-listed addresses are never counted', async () => {
    const { monitor, events } = setup({
      authFailures: { perIp: { limit: 3, window: '1m' }, perUser: false },
      bans: {},
      lists: { allow: ['10.0.0.0/8'] },
    });
    for (let i = 0; i < 10; i++) await monitor.recordAuthFailure({ ip: '10.1.2.3', user: 'x' });
    for (let i = 0; i < 4; i++) await monitor.recordAuthFailure({ ip: '192.0.2.66', user: 'x' });
    while (monitor.pending > 0) await new Promise((resolve) => setImmediate(resolve));
    expect(events.filter((e) => e.type === 'ban')).toMatchObject([
      { subject: 'ip:192.0.2.66', cause: 'auth_failures_ip' },
    ]);
    expect((await monitor.bans!.check('ip:192.0.2.66')).banned).toBe(true);
    expect((await monitor.bans!.check('ip:10.1.2.3')).banned).toBe(false);
  });

  it('a store failure never reaches the caller: it is an error event', async () => {
    const { monitor, store, events } = setup();
    await store.close();
    expect(await monitor.recordAuthFailure({ ip: '192.0.2.1', user: 'u' })).toEqual([]);
    expect(events).toMatchObject([{ type: 'error', operation: 'recordAuthFailure' }]);
  });
});
