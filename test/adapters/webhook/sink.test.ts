import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/adapters/clock/manual.ts';
import { generateWebhookSecret, verifyWebhook } from '../../../src/adapters/webhook/signature.ts';
import {
  createWebhookAlertSink,
  type WebhookAlertSinkOptions,
  type WebhookEvent,
} from '../../../src/adapters/webhook/sink.ts';
import { createAlert } from '../../../src/domain/alerts/alert.ts';
import { isLockWatchError } from '../../../src/domain/errors.ts';
import type { Alert } from '../../../src/ports/alert-sink.ts';
import { runModule } from '../../support/run-module.ts';
import { type Behaviour, type Receiver, startReceiver } from './receiver.ts';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function receiver(behave?: (n: number, path: string) => Behaviour): Promise<Receiver> {
  const r = await startReceiver(behave);
  open.push(r);
  return r;
}

function alert(clock: ManualClock, subject = 'ip:203.0.113.7'): Alert {
  return createAlert({
    type: 'burst',
    subject,
    ip: subject.slice(3),
    timestamp: clock.now(),
    requestCountInWindow: 51,
    windowMs: 10_000,
    endpoint: '/api/login',
    method: 'POST',
    severity: 'warning',
  });
}

/** A sink on a manual clock that advances through every backoff wait at once. */
function sink(
  clock: ManualClock,
  options: Omit<WebhookAlertSinkOptions, 'clock'>,
): { sink: ReturnType<typeof createWebhookAlertSink>; events: WebhookEvent[] } {
  const events: WebhookEvent[] = [];
  const created = createWebhookAlertSink({
    ...options,
    clock,
    onEvent: (event) => {
      events.push(event);
      if (event.type === 'retry') clock.advance(event.delayMs);
    },
  });
  open.push(created);
  return { sink: created, events };
}

function finalEvents(events: WebhookEvent[]) {
  return events.filter((e) => e.type === 'delivered' || e.type === 'failed');
}

async function settled(events: WebhookEvent[], count: number): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (finalEvents(events).length < count) {
    if (performance.now() > deadline) throw new Error(`only ${finalEvents(events).length} settled`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('webhook sink: signing and payload', () => {
  it('posts the seed payload signed per endpoint; each receiver verifies with its own secret', async () => {
    const clock = createManualClock();
    const [a, b] = [await receiver(), await receiver()];
    const [secretA, secretB] = [generateWebhookSecret(), generateWebhookSecret()];
    const { sink: s, events } = sink(clock, {
      endpoints: [
        { url: a.url, secret: secretA, name: 'a' },
        { url: b.url, secret: secretB, name: 'b' },
      ],
    });
    const sent = { ...alert(clock), userAgent: undefined };
    await s.send(sent);
    await settled(events, 2);
    for (const [r, secret, other] of [
      [a, secretA, secretB],
      [b, secretB, secretA],
    ] as const) {
      expect(r.requests).toHaveLength(1);
      const request = r.requests[0]!;
      expect(request.headers['content-type']).toBe('application/json');
      const verified = verifyWebhook({
        secret,
        headers: request.headers,
        body: request.body,
        now: clock.now(),
      });
      expect(verified.id).toBe(sent.id);
      expect(verified.timestamp).toBe(Math.floor(clock.now() / 1000));
      expect(verified.payload).toEqual({
        id: sent.id,
        type: 'burst',
        severity: 'warning',
        subject: 'ip:203.0.113.7',
        ip: '203.0.113.7',
        timestamp: new Date(clock.now()).toISOString(),
        request_count_in_window: 51,
        window_seconds: 10,
        endpoint: '/api/login',
        method: 'POST',
        user_agent: null,
      });
      expect(() =>
        verifyWebhook({
          secret: other,
          headers: request.headers,
          body: request.body,
          now: clock.now(),
        }),
      ).toThrow(expect.objectContaining({ code: 'webhook_bad_signature' }));
    }
    expect(s.endpoints.map((e) => e.counts)).toEqual([
      { accepted: 1, delivered: 1, failed: 0, dropped: 0, retries: 0, pending: 0 },
      { accepted: 1, delivered: 1, failed: 0, dropped: 0, retries: 0, pending: 0 },
    ]);
  });

  it('signs with every secret of a rotating endpoint', async () => {
    const clock = createManualClock();
    const r = await receiver();
    const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()];
    const { sink: s, events } = sink(clock, {
      endpoints: [{ url: r.url, secret: [oldSecret, newSecret] }],
    });
    await s.send(alert(clock));
    await settled(events, 1);
    const { headers, body } = r.requests[0]!;
    expect(String(headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [oldSecret, newSecret]) {
      expect(verifyWebhook({ secret, headers, body, now: clock.now() }).id).toBeTruthy();
    }
  });
});

describe('webhook sink: retries', () => {
  it('500 then 200: retried once with the same webhook-id and a fresh signature', async () => {
    const clock = createManualClock();
    const secret = generateWebhookSecret();
    const r = await receiver((n) => ({ status: n === 0 ? 500 : 200 }));
    const { sink: s, events } = sink(clock, {
      endpoints: [{ url: r.url, secret }],
      backoff: { baseMs: 1000, maxMs: 8000 },
      random: () => 0.5,
    });
    const a = alert(clock);
    await s.send(a);
    await settled(events, 1);
    expect(r.requests).toHaveLength(2);
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([a.id, a.id]);
    for (const q of r.requests) {
      expect(verifyWebhook({ secret, headers: q.headers, body: q.body, now: clock.now() }).id).toBe(
        a.id,
      );
    }
    expect(events.find((e) => e.type === 'retry')).toMatchObject({
      attempt: 1,
      cause: 'status',
      status: 500,
      delayMs: 750, // equal jitter: 500 + 0.5 × 500
    });
    expect(events.at(-1)).toMatchObject({ type: 'delivered', attempts: 2, status: 200 });
  });

  it('a connection closed by the receiver is retried with the same webhook-id', async () => {
    const clock = createManualClock();
    const r = await receiver((n) => (n < 2 ? 'close' : { status: 202 }));
    const { sink: s, events } = sink(clock, {
      endpoints: [{ url: r.url, secret: generateWebhookSecret() }],
    });
    const a = alert(clock);
    await s.send(a);
    await settled(events, 1);
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([a.id, a.id, a.id]);
    expect(
      events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.cause),
    ).toEqual(['network', 'network']);
    expect(events.at(-1)).toMatchObject({ type: 'delivered', attempts: 3, status: 202 });
  });

  it('410 (and any 4xx but 408 and 429) is final: one request, counted as failed', async () => {
    const clock = createManualClock();
    const r = await receiver(() => ({ status: 410 }));
    const { sink: s, events } = sink(clock, {
      endpoints: [{ url: r.url, secret: generateWebhookSecret() }],
    });
    await s.send(alert(clock));
    await settled(events, 1);
    expect(r.requests).toHaveLength(1);
    expect(events).toEqual([
      expect.objectContaining({ type: 'failed', reason: 'rejected', status: 410, attempts: 1 }),
    ]);
    expect(s.endpoints[0]!.counts).toMatchObject({ accepted: 1, failed: 1, retries: 0 });
  });

  it('408 and 429 are retried; Retry-After is the smallest wait; a long one ends the retries', async () => {
    const clock = createManualClock();
    const statuses: Behaviour[] = [
      { status: 408 },
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 200 },
      { status: 503, headers: { 'retry-after': '3600' } },
    ];
    const r = await receiver((n) => statuses[n]!);
    const { sink: s, events } = sink(clock, {
      endpoints: [{ url: r.url, secret: generateWebhookSecret() }],
      backoff: { baseMs: 100, maxMs: 1000 },
    });
    await s.send(alert(clock));
    await settled(events, 1);
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries.map((e) => e.type === 'retry' && e.status)).toEqual([408, 429]);
    expect(retries[1]).toMatchObject({ delayMs: 7000 });
    expect(events.at(-1)).toMatchObject({ type: 'delivered', attempts: 3 });
    await s.send(alert(clock));
    await settled(events, 2);
    expect(events.at(-1)).toMatchObject({
      type: 'failed',
      reason: 'retry_after_too_long',
      status: 503,
    });
  });

  it('a hung receiver: each attempt ends at the timeout, then the alert is failed', async () => {
    const clock = createManualClock();
    const r = await receiver(() => 'hang');
    const { sink: s, events } = sink(clock, {
      endpoints: [{ url: r.url, secret: generateWebhookSecret() }],
      timeoutMs: 150,
      attempts: 3,
    });
    const a = alert(clock);
    const started = performance.now();
    await s.send(a);
    expect(performance.now() - started).toBeLessThan(100); // send only queues
    await settled(events, 1);
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([a.id, a.id, a.id]);
    expect(
      events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.cause),
    ).toEqual(['timeout', 'timeout']);
    expect(events.at(-1)).toMatchObject({
      type: 'failed',
      reason: 'attempts_exhausted',
      attempts: 3,
    });
  });

  it('a 2xx whose body never ends is delivered, not retried', async () => {
    const clock = createManualClock();
    const r = await receiver(() => 'endless-200');
    const { sink: s, events } = sink(clock, {
      endpoints: [{ url: r.url, secret: generateWebhookSecret() }],
      timeoutMs: 200,
      attempts: 3,
    });
    await s.send(alert(clock));
    await settled(events, 1);
    expect(r.requests).toHaveLength(1);
    expect(finalEvents(events)).toEqual([expect.objectContaining({ type: 'delivered' })]);
  });

  it('a hung receiver does not hold up another receiver on the same origin', async () => {
    const clock = createManualClock();
    const r = await receiver((_n, path) => (path.endsWith('/hang') ? 'hang' : { status: 204 }));
    const base = r.url.replace(/\/hooks\/lockwatch$/, '');
    const { sink: s, events } = sink(clock, {
      endpoints: [
        { url: `${base}/hang`, secret: generateWebhookSecret() },
        { url: `${base}/ok`, secret: generateWebhookSecret() },
      ],
      concurrency: 2,
      timeoutMs: 5_000,
      attempts: 1,
    });
    for (let i = 0; i < 8; i++) await s.send(alert(clock, `ip:203.0.113.${i}`));
    // Every alert of the healthy receiver arrives while the hung one still holds its connections.
    const deadline = performance.now() + 3_000;
    while (events.filter((e) => e.type === 'delivered').length < 8) {
      if (performance.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(events.filter((e) => e.type === 'delivered')).toHaveLength(8);
    expect(r.requests.filter((q) => q.path === '/hang').length).toBeLessThanOrEqual(2);
  });
});

describe('webhook sink: breaker, queues, close', () => {
  it('pauses a failing receiver: its alerts fail without requests until a probe succeeds', async () => {
    const clock = createManualClock();
    let healthy = false;
    const r = await receiver(() => ({ status: healthy ? 200 : 500 }));
    const { sink: s, events } = sink(clock, {
      endpoints: [{ url: r.url, secret: generateWebhookSecret(), name: 'flaky' }],
      attempts: 1,
      concurrency: 1,
      breaker: { failureThreshold: 3, cooldownMs: 10_000 },
    });
    for (let i = 0; i < 10; i++) await s.send(alert(clock, `ip:192.0.2.${i}`));
    await settled(events, 10);
    expect(r.requests).toHaveLength(3);
    const failed = events.filter((e) => e.type === 'failed');
    expect(failed.map((e) => e.type === 'failed' && e.reason)).toEqual([
      ...Array(3).fill('attempts_exhausted'),
      ...Array(7).fill('circuit_open'),
    ]);
    expect(s.endpoints[0]).toMatchObject({ breaker: 'open', counts: { accepted: 10, failed: 10 } });
    healthy = true;
    clock.advance(10_000);
    await s.send(alert(clock));
    await settled(events, 11);
    expect(events.at(-1)).toMatchObject({ type: 'delivered' });
    expect(s.endpoints[0]!.breaker).toBe('closed');
    expect(events.filter((e) => e.type === 'state').map((e) => e.type === 'state' && e.to)).toEqual(
      ['open', 'half-open', 'closed'],
    );
  });

  it('drops and counts alerts past a full receiver queue; close() drains the rest', async () => {
    const clock = createManualClock();
    const r = await receiver(() => ({ status: 200 }));
    const { sink: s, events } = sink(clock, {
      endpoints: [{ url: r.url, secret: generateWebhookSecret() }],
      queueSize: 5,
      concurrency: 1,
    });
    // The first send starts a delivery at once; five more fill the queue, two are dropped.
    for (let i = 0; i < 8; i++) await s.send(alert(clock, `ip:192.0.2.${i}`)).catch(() => {});
    await s.close();
    expect(s.endpoints[0]!.counts).toEqual({
      accepted: 6,
      delivered: 6,
      failed: 0,
      dropped: 2,
      retries: 0,
      pending: 0,
    });
    expect(events.filter((e) => e.type === 'dropped')).toHaveLength(2);
    await expect(s.send(alert(clock))).rejects.toMatchObject({ code: 'webhook_sink_closed' });
  });

  it('send rejects when every receiver queue is full', async () => {
    const clock = createManualClock();
    const r = await receiver(() => 'hang');
    const { sink: s } = sink(clock, {
      endpoints: [{ url: r.url, secret: generateWebhookSecret() }],
      queueSize: 1,
      concurrency: 1,
      timeoutMs: 60_000,
      drainTimeoutMs: 0,
    });
    await s.send(alert(clock)); // in flight
    await s.send(alert(clock)); // queued
    await expect(s.send(alert(clock))).rejects.toMatchObject({ code: 'webhook_queue_full' });
    await s.close();
  });

  it('close() aborts deliveries still hung at the drain deadline and counts them as failed', async () => {
    const clock = createManualClock();
    const r = await receiver(() => 'hang');
    const { sink: s, events } = sink(clock, {
      endpoints: [{ url: r.url, secret: generateWebhookSecret() }],
      timeoutMs: 60_000,
      concurrency: 2,
      drainTimeoutMs: 5000,
    });
    for (let i = 0; i < 5; i++) await s.send(alert(clock, `ip:192.0.2.${i}`));
    await r.until(2);
    const closed = s.close();
    clock.advance(5000);
    await closed;
    expect(s.endpoints[0]!.counts).toMatchObject({ accepted: 5, failed: 5, pending: 0 });
    expect(
      events
        .filter((e) => e.type === 'failed')
        .every((e) => e.type === 'failed' && e.reason === 'closed'),
    ).toBe(true);
  });
});

describe('webhook sink: options', () => {
  it('rejects bad endpoints and secrets at start-up without printing the secret', () => {
    const bad = (options: Partial<WebhookAlertSinkOptions>) => {
      try {
        createWebhookAlertSink({ endpoints: [], ...options } as WebhookAlertSinkOptions);
      } catch (error) {
        if (isLockWatchError(error)) return error as unknown as Error & { option: string };
      }
      throw new Error('expected an InvalidOptionError');
    };
    const secret = generateWebhookSecret();
    expect(bad({ endpoints: [] }).option).toBe('endpoints');
    expect(bad({ endpoints: [{ url: 'ftp://x/', secret }] }).option).toBe('endpoints[0].url');
    expect(bad({ endpoints: [{ url: 'not a url', secret }] }).option).toBe('endpoints[0].url');
    // Credentials in the URL would never be sent: refused, and not shown.
    const withCredentials = bad({ endpoints: [{ url: 'http://hook:s3cret@127.0.0.1/h', secret }] });
    expect(withCredentials.option).toBe('endpoints[0].url');
    expect(withCredentials.message).not.toContain('s3cret');
    const leaked = 'whsec_c2hvcnQ=';
    const error = bad({ endpoints: [{ url: 'http://127.0.0.1/', secret: leaked }] });
    expect(error.option).toBe('endpoints[0].secret');
    expect(error.message).not.toContain('c2hvcnQ');
    expect(
      bad({
        endpoints: [
          { url: 'http://127.0.0.1/a', secret },
          { url: 'http://127.0.0.1/b', secret, name: '127.0.0.1/a' },
        ],
      }).option,
    ).toBe('endpoints[1].name');
    expect(bad({ endpoints: [{ url: 'http://127.0.0.1/', secret }], attempts: 0 }).option).toBe(
      'attempts',
    );
  });

  it('shows neither credentials nor the path of a bad endpoint URL, nor the endpoints past 32', () => {
    const bad = (options: Partial<WebhookAlertSinkOptions>) => {
      try {
        createWebhookAlertSink(options as WebhookAlertSinkOptions);
      } catch (error) {
        if (isLockWatchError(error)) return error as unknown as Error & { value: unknown };
      }
      throw new Error('expected an InvalidOptionError');
    };
    const secret = generateWebhookSecret();
    const url = bad({
      endpoints: [{ url: 'ftp://bot:Sup3rSecret@hooks.example.com/services/T0/B0/TOKEN', secret }],
    });
    expect(url.value).toBe('ftp://bot:***@hooks.example.com…');
    expect(url.message).not.toMatch(/Sup3rSecret|TOKEN/);
    const many = bad({
      endpoints: Array.from({ length: 33 }, (_, i) => ({
        url: `https://h${i}.example/hook?token=T0KEN${i}`,
        secret,
      })),
    });
    expect(many.value).toBe('(33 endpoints)');
    expect(many.message).not.toContain('T0KEN');
  });
});

describe('webhook sink: close() in a process with nothing else to do', () => {
  it('settles at the drain deadline even though only the hung delivery is left', async () => {
    const r = await receiver(() => 'hang');
    const sinkModule = new URL('../../../src/adapters/webhook/index.ts', import.meta.url).href;
    const alertModule = new URL('../../../src/domain/alerts/alert.ts', import.meta.url).href;
    // The receiver lives in this process; the sink's own process has nothing but the sink, as a
    // script whose last line is `await sink.close()` (or `await lw.close()`).
    const source = `
      const { createWebhookAlertSink, generateWebhookSecret } = await import(${JSON.stringify(sinkModule)});
      const { createAlert } = await import(${JSON.stringify(alertModule)});
      const sink = createWebhookAlertSink({
        endpoints: [{ url: ${JSON.stringify(r.url)}, secret: generateWebhookSecret() }],
        timeoutMs: 100,
        attempts: 20,
        backoff: { baseMs: 200, maxMs: 200 },
        drainTimeoutMs: 1000,
        onEvent: (event) => { if (event.type === 'failed') reason = event.reason; },
      });
      let reason;
      let closed = false;
      process.on('exit', () => { if (!closed) process.stdout.write('EXITED-EARLY'); });
      await sink.send(createAlert({ type: 'burst', subject: 'ip:192.0.2.1', ip: '192.0.2.1', timestamp: Date.now(),
        requestCountInWindow: 51, windowMs: 10000, endpoint: '/', method: 'GET', severity: 'warning' }));
      await sink.close();
      closed = true;
      process.stdout.write(JSON.stringify({ ...sink.endpoints[0].counts, reason }));
    `;
    const { code, stdout, stderr } = await runModule(source);
    expect(stdout, stderr).not.toContain('EXITED-EARLY');
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      accepted: 1,
      failed: 1,
      pending: 0,
      reason: 'closed',
    });
    expect(r.requests.length).toBeGreaterThan(0);
  });
});
