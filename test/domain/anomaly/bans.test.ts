import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import { createMemoryAlertSink } from '../../../src/adapters/memory/alert-sink.ts';
import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { createAlertDispatcher, createAnomalyMonitor } from '../../../src/anomaly.ts';
import { createBans } from '../../../src/domain/anomaly/bans.ts';
import type { MonitorEvent } from '../../../src/domain/anomaly/monitor.ts';
import { createRateLimiter } from '../../../src/rate-limiter.ts';

const minute = 60_000;

describe('bans', () => {
  it('escalates 1, 4, 16, 64, 256, 1024 min and caps at 24 h by default', () => {
    const clock = createManualClock();
    const bans = createBans(createMemoryWindowStore({ clock }), clock);
    expect(bans.durations).toEqual([1, 4, 16, 64, 256, 1024, 1440].map((m) => m * minute));
    expect(bans.policies.ban).toMatchObject({ algorithm: 'gcra', mode: 'enforce' });
    expect(bans.policies.offences).toMatchObject({ mode: 'observe', limit: 7 });
  });

  it('ban, check and unban from user code; a ban lasts exactly its duration', async () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    const bans = createBans(store, clock, { localCacheMs: 0 });
    expect(await bans.check('ip:192.0.2.1')).toEqual({ banned: false, retryAfterMs: 0 });
    expect(await bans.ban('ip:192.0.2.1', '90s')).toEqual({ banned: true, retryAfterMs: 90_000 });
    clock.advance(89_999);
    expect(await bans.check('ip:192.0.2.1')).toEqual({ banned: true, retryAfterMs: 1 });
    clock.advance(1);
    expect((await bans.check('ip:192.0.2.1')).banned).toBe(false);
    await bans.ban('ip:192.0.2.1', '1h');
    await bans.ban('ip:192.0.2.1', '5m'); // replaces the ban in force
    expect(await bans.check('ip:192.0.2.1')).toEqual({ banned: true, retryAfterMs: 5 * minute });
    await bans.unban('ip:192.0.2.1');
    expect((await bans.check('ip:192.0.2.1')).banned).toBe(false);
  });

  it('keeps long caps exact to a small unit', async () => {
    const clock = createManualClock();
    const bans = createBans(createMemoryWindowStore({ clock }), clock, {
      max: '30d',
      localCacheMs: 0,
    });
    const { retryAfterMs } = await bans.ban('user:1', '29d');
    expect(retryAfterMs).toBeGreaterThanOrEqual(29 * 86_400_000);
    expect(retryAfterMs - 29 * 86_400_000).toBeLessThan(2000);
  });

  it('each repeat offence within forgetAfter lengthens the ban, up to the cap', async () => {
    const clock = createManualClock();
    const bans = createBans(createMemoryWindowStore({ clock }), clock, {
      initial: '1m',
      multiplier: 2,
      max: '5m',
      forgetAfter: '1h',
      localCacheMs: 0,
    });
    expect(bans.durations).toEqual([1, 2, 4, 5].map((m) => m * minute));
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const outcome = await bans.offend('ip:198.51.100.1');
      expect(outcome.banned).toBe(true);
      if (outcome.banned) seen.push(outcome.durationMs / minute);
      expect(await bans.check('ip:198.51.100.1')).toMatchObject({ banned: true });
      clock.advance(outcome.banned ? outcome.durationMs : 0);
      expect((await bans.check('ip:198.51.100.1')).banned).toBe(false);
    }
    expect(seen).toEqual([1, 2, 4, 5, 5, 5]);
    clock.advance(61 * minute); // offences forgotten
    const fresh = await bans.offend('ip:198.51.100.1');
    expect(fresh).toMatchObject({ banned: true, level: 0, durationMs: minute });
  });

  it('one offence seen by two servers at once escalates once', async () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    const a = createBans(store, clock, { localCacheMs: 0 });
    const b = createBans(store, clock, { localCacheMs: 0 });
    const outcomes = await Promise.all([
      a.offend('ip:1'),
      b.offend('ip:1'),
      a.offend('ip:1'),
      b.offend('ip:1'),
    ]);
    expect(outcomes.filter((o) => o.banned)).toEqual([
      { banned: true, level: 0, durationMs: minute },
    ]);
    clock.advance(minute);
    expect(await b.offend('ip:1')).toMatchObject({ level: 1 });
  });

  it('an unban on another server is seen within localCacheMs', async () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    const a = createBans(store, clock, { localCacheMs: 1000 });
    const b = createBans(store, clock, { localCacheMs: 1000 });
    await a.ban('ip:7', '10m');
    expect((await b.check('ip:7')).banned).toBe(true);
    await a.unban('ip:7');
    expect(b.cached('ip:7')?.banned).toBe(true); // b trusts what it saw for up to 1 s
    clock.advance(1000);
    expect(b.cached('ip:7')).toBeUndefined();
    expect((await b.check('ip:7')).banned).toBe(false);
  });

  it('rejects bad options with the option named', () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    expect(() => createBans(store, clock, { initial: '10m', max: '5m' })).toThrow(/bans\.max/);
    expect(() => createBans(store, clock, { max: '31d' })).toThrow(/bans\.max/);
    expect(() => createBans(store, clock, { multiplier: 0 })).toThrow(/bans\.multiplier/);
    expect(() => createAnomalyMonitor({ bans: { on: ['nope' as 'burst'] } })).toThrow(
      /bans\.on\[0\]/,
    );
  });
});

describe('bans in the request path', () => {
  function server(
    store: ReturnType<typeof createMemoryWindowStore>,
    clock: ReturnType<typeof createManualClock>,
  ) {
    const events: MonitorEvent[] = [];
    const sink = createMemoryAlertSink();
    const monitor = createAnomalyMonitor({
      store,
      clock,
      alerts: createAlertDispatcher({ sink, store, clock }),
      bans: { initial: '1m', localCacheMs: 0 },
      onEvent: (e) => events.push(e),
    });
    const limiter = createRateLimiter({
      store,
      policies: [{ name: 'ip', limit: 1000, window: '1m' }, ...monitor.policies],
    });
    const request = (ip: string) => monitor.check(limiter, { subject: `ip:${ip}`, ip });
    return { monitor, limiter, request, events, sink };
  }

  it('a burst bans its IP on every server; banned requests are refused and not counted', async () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    const a = server(store, clock);
    const b = server(store, clock);
    for (let i = 0; i < 51; i++) await a.request('203.0.113.9');
    while (a.monitor.pending > 0) await new Promise((resolve) => setImmediate(resolve));
    expect(a.events.find((e) => e.type === 'ban')).toMatchObject({
      subject: 'ip:203.0.113.9',
      level: 0,
      durationMs: minute,
      cause: 'burst',
    });
    const before = await a.limiter.peek('ip:203.0.113.9');
    for (const s of [a, b]) {
      const screening = await s.request('203.0.113.9');
      expect(screening).toMatchObject({ allowed: false, reason: 'banned' });
      expect(screening.retryAfterMs).toBeGreaterThan(59_000);
    }
    await a.monitor.close();
    await b.monitor.close();
    // Refused requests were refunded: the rate limit saw none of them.
    expect((await a.limiter.peek('ip:203.0.113.9')).remaining).toBe(before.remaining);
    expect((await b.request('198.51.100.1')).allowed).toBe(true);
    clock.advance(minute);
    expect((await b.request('203.0.113.9')).allowed).toBe(true);
  });
});
