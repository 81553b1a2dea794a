import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/adapters/clock/manual.ts';
import { createMemoryAlertSink } from '../../../src/adapters/memory/alert-sink.ts';
import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { createAlertDispatcher } from '../../../src/anomaly.ts';
import { alertPayload, createAlert } from '../../../src/domain/alerts/alert.ts';
import type { AlertEvent } from '../../../src/domain/alerts/dispatcher.ts';
import type { Alert, AlertSink } from '../../../src/ports/alert-sink.ts';

function alert(clock: ManualClock, subject: string, type = 'burst'): Alert {
  return createAlert({
    type,
    subject,
    timestamp: clock.now(),
    requestCountInWindow: 51,
    windowMs: 10_000,
    severity: 'warning',
  });
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('alert dispatcher', () => {
  it('suppresses the same type and subject for the dedup period, locally and through the store', async () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    const sink = createMemoryAlertSink();
    const events: AlertEvent[] = [];
    const dispatcher = createAlertDispatcher({
      sink,
      store,
      clock,
      onEvent: (e) => events.push(e),
    });
    expect(dispatcher.raise(alert(clock, 'ip:1'))).toBe('queued');
    expect(dispatcher.raise(alert(clock, 'ip:1'))).toBe('suppressed'); // still queued: local
    expect(dispatcher.raise(alert(clock, 'ip:1', 'auth_failures_ip'))).toBe('queued');
    expect(dispatcher.raise(alert(clock, 'ip:2'))).toBe('queued');
    await settle();
    expect(sink.alerts.map((a) => `${a.type} ${a.subject}`)).toEqual([
      'burst ip:1',
      'auth_failures_ip ip:1',
      'burst ip:2',
    ]);
    clock.advance(59_999);
    expect(dispatcher.raise(alert(clock, 'ip:1'))).toBe('suppressed');
    clock.advance(1);
    expect(dispatcher.raise(alert(clock, 'ip:1'))).toBe('queued');
    await settle();
    expect(sink.alerts).toHaveLength(4);
    expect(dispatcher.counts).toEqual({
      raised: 6,
      sent: 4,
      suppressed: 2,
      failed: 0,
      dropped: 0,
      pending: 0,
      dedupErrors: 0,
    });
    expect(
      events.filter((e) => e.type === 'suppressed').map((e) => e.type === 'suppressed' && e.by),
    ).toEqual(['local', 'local']);
  });

  it('two dispatchers (two app servers) on one store send one alert, not two', async () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    const [sinkA, sinkB] = [createMemoryAlertSink(), createMemoryAlertSink()];
    const a = createAlertDispatcher({ sink: sinkA, store, clock });
    const b = createAlertDispatcher({ sink: sinkB, store, clock });
    for (let i = 0; i < 5; i++) {
      a.raise(alert(clock, 'ip:9'));
      b.raise(alert(clock, 'ip:9'));
    }
    await settle();
    expect(sinkA.alerts.length + sinkB.alerts.length).toBe(1);
    expect(a.counts.suppressed + b.counts.suppressed).toBe(9);
    const storeSuppressed = [a, b].find((d) => d.counts.sent === 0)!;
    // The server that lost asked the store once, then remembered the answer.
    clock.advance(30_000);
    storeSuppressed.raise(alert(clock, 'ip:9'));
    await settle();
    expect(sinkA.alerts.length + sinkB.alerts.length).toBe(1);
  });

  it('counts a sink rejection as failed and a dedup store failure as an event (the alert still goes out)', async () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    let calls = 0;
    const received: Alert[] = [];
    const sink: AlertSink = {
      async send(a) {
        if (++calls % 2 === 0) throw new Error('receiver down');
        received.push(a);
      },
      async close() {},
    };
    const events: AlertEvent[] = [];
    const dispatcher = createAlertDispatcher({
      sink,
      store,
      clock,
      onEvent: (e) => events.push(e),
    });
    for (let i = 0; i < 4; i++) dispatcher.raise(alert(clock, `ip:${i}`));
    await settle();
    expect(dispatcher.counts).toMatchObject({ raised: 4, sent: 2, failed: 2, pending: 0 });
    await store.close(); // every dedup call now rejects with store_closed
    dispatcher.raise(alert(clock, 'ip:99'));
    await settle();
    expect(dispatcher.counts).toMatchObject({ raised: 5, dedupErrors: 1 });
    expect(events.find((e) => e.type === 'dedup_error')).toMatchObject({
      error: expect.objectContaining({ code: 'store_closed' }),
    });
    expect(dispatcher.counts.sent + dispatcher.counts.failed).toBe(5);
  });

  it('gives the dedup slot back when the sink refused an alert, so the next one goes out', async () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    let refuse = true;
    const received: Alert[] = [];
    const sink: AlertSink = {
      async send(a) {
        if (refuse) {
          refuse = false;
          throw new Error('every receiver queue is full');
        }
        received.push(a);
      },
      async close() {},
    };
    const a = createAlertDispatcher({ sink, store, clock });
    const b = createAlertDispatcher({ sink, store, clock }); // another app server
    expect(a.raise(alert(clock, 'ip:1'))).toBe('queued');
    await settle();
    expect(a.counts).toMatchObject({ sent: 0, failed: 1 });
    clock.advance(1000);
    expect(a.raise(alert(clock, 'ip:1'))).toBe('queued');
    await settle();
    expect(received.map((r) => r.subject)).toEqual(['ip:1']);
    // Delivered now: the period holds again, on every server.
    expect(a.raise(alert(clock, 'ip:1'))).toBe('suppressed');
    b.raise(alert(clock, 'ip:1'));
    await settle();
    expect(received).toHaveLength(1);
  });

  it('drops past the queue bound and after close; close() drains and closes the sink', async () => {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock });
    let closed = false;
    const received: Alert[] = [];
    const sink: AlertSink = {
      async send(a) {
        await new Promise((resolve) => setImmediate(resolve));
        received.push(a);
      },
      async close() {
        closed = true;
      },
    };
    const dispatcher = createAlertDispatcher({ sink, store, clock, queueSize: 10, concurrency: 1 });
    const outcomes = Array.from({ length: 20 }, (_, i) =>
      dispatcher.raise(alert(clock, `ip:${i}`)),
    );
    // One went to the worker at once, ten wait, nine are dropped.
    expect(outcomes.filter((o) => o === 'queued')).toHaveLength(11);
    expect(outcomes.filter((o) => o === 'dropped')).toHaveLength(9);
    await dispatcher.close();
    expect(closed).toBe(true);
    expect(received).toHaveLength(11);
    expect(dispatcher.raise(alert(clock, 'ip:late'))).toBe('dropped');
    expect(dispatcher.counts).toEqual({
      raised: 21,
      sent: 11,
      suppressed: 0,
      failed: 0,
      dropped: 10,
      pending: 0,
      dedupErrors: 0,
    });
  });

  it('rejects bad options with the option named', () => {
    const clock = createManualClock();
    const sink = createMemoryAlertSink();
    expect(() => createAlertDispatcher({ sink, clock, queueSize: 0 })).toThrow(/queueSize/);
    expect(() => createAlertDispatcher({ sink, clock, dedupPeriod: '10ms' })).toThrow(
      /dedupPeriod/,
    );
    expect(() => createAlertDispatcher({ sink: {} as AlertSink, clock })).toThrow(/sink/);
  });

  it('payload keeps the seed field names', () => {
    const clock = createManualClock();
    const a = createAlert({
      type: 'burst',
      subject: 'ip:203.0.113.7',
      ip: '203.0.113.7',
      timestamp: clock.now(),
      requestCountInWindow: 51,
      windowMs: 10_000,
      endpoint: '/x'.repeat(1000),
      severity: 'warning',
    });
    const payload = alertPayload(a);
    expect(Object.keys(payload).sort()).toEqual(
      [
        'endpoint',
        'id',
        'ip',
        'method',
        'request_count_in_window',
        'severity',
        'subject',
        'timestamp',
        'type',
        'user_agent',
        'window_seconds',
      ].sort(),
    );
    expect(payload.endpoint).toHaveLength(512);
    expect(payload.user_agent).toBeNull();
  });
});

describe('alert flood', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  /** Raises `total` alerts as fast as possible (mostly repeats) through a slow, flaky sink. */
  async function flood(total: number) {
    const clock = createManualClock();
    const store = createMemoryWindowStore({ clock, maxKeys: 20_000 });
    let received = 0;
    let calls = 0;
    const sink: AlertSink = {
      async send() {
        await new Promise((resolve) => setImmediate(resolve));
        if (++calls % 10 === 0) throw new Error('every tenth fails');
        received++;
      },
      async close() {},
    };
    const queueSize = 1000;
    const dispatcher = createAlertDispatcher({ sink, store, clock, queueSize });
    let maxPending = 0;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    for (let i = 0; i < total; i++) {
      // A quarter from ever new addresses, the rest from 500 hot ones that repeat.
      dispatcher.raise(alert(clock, i % 4 === 0 ? `ip:u${i}` : `ip:h${i % 500}`));
      if ((i & 1023) === 0) {
        maxPending = Math.max(maxPending, dispatcher.counts.pending);
        clock.advance(1);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const raiseMs = performance.now() - started;
    maxPending = Math.max(maxPending, dispatcher.counts.pending);
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    await dispatcher.close();
    return {
      counts: dispatcher.counts,
      received,
      calls,
      raiseMs,
      heapGrowth,
      maxPending,
      queueSize,
    };
  }

  it('100,000 anomalies in about a second: exact counts, bounded queue and memory', async () => {
    const small = await flood(10_000);
    const large = await flood(100_000);
    const { counts } = large;
    console.log(
      `flood: 100,000 raised in ${large.raiseMs.toFixed(0)} ms: sent ${counts.sent}, suppressed ${counts.suppressed}, failed ${counts.failed}, dropped ${counts.dropped}; max pending ${large.maxPending}; heap growth ${(large.heapGrowth / 1e6).toFixed(1)} MB (10,000: ${(small.heapGrowth / 1e6).toFixed(1)} MB)`,
    );
    expect(counts.raised).toBe(100_000);
    expect(counts.sent + counts.suppressed + counts.failed + counts.dropped).toBe(100_000);
    expect(counts.pending).toBe(0);
    expect(counts.sent).toBe(large.received);
    expect(counts.sent + counts.failed).toBe(large.calls);
    expect(counts.suppressed).toBeGreaterThan(50_000); // the hot addresses' repeats
    expect(counts.dropped).toBeGreaterThan(0);
    expect(counts.failed).toBeGreaterThan(0);
    expect(large.maxPending).toBeLessThanOrEqual(large.queueSize + 4);
    // Ten times the alerts must not mean anything like ten times the memory.
    expect(large.heapGrowth).toBeLessThan(Math.max(3 * small.heapGrowth, 16e6));
  });
});
