import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import type { AuditEvent } from '../../../src/domain/audit/events.ts';
import {
  type AuditLoggerOptions,
  createAuditLoggerCore,
} from '../../../src/domain/audit/logger.ts';
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import { createSwitchableAuditSink } from '../../support/switchable-audit-sink.ts';

/** Lets pending promise callbacks run (no time passes on any clock). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const entry = (i: number) => ({
  ip: `198.51.100.${i % 250}`,
  endpoint: `/items/${i}`,
  method: 'GET',
  statusCode: 200,
  latencyMs: 1,
});

function setup(options: Partial<AuditLoggerOptions> = {}) {
  const clock = createManualClock(1_700_000_000_000);
  const sink = createSwitchableAuditSink();
  const events: AuditEvent[] = [];
  const logger = createAuditLoggerCore({ sink, clock, random: () => 0.5, ...options });
  logger.on((event) => events.push(event));
  return { clock, sink, logger, events };
}

const accounted = (s: {
  written: number;
  droppedTotal: number;
  queued: number;
  inFlight: number;
}) => s.written + s.droppedTotal + s.queued + s.inFlight;

describe('AuditLogger', () => {
  it('writes a full batch at once and the rest when the interval ends', async () => {
    const { clock, sink, logger } = setup({ batchSize: 500, flushInterval: 1000 });
    for (let i = 0; i < 1200; i++) logger.log(entry(i));
    await settle();
    expect(sink.batchSizes).toEqual([500, 500]);
    clock.advance(999);
    await settle();
    expect(sink.batchSizes).toEqual([500, 500]);
    clock.advance(1);
    await settle();
    expect(sink.batchSizes).toEqual([500, 500, 200]);
    expect(logger.stats).toMatchObject({ offered: 1200, written: 1200, queued: 0, inFlight: 0 });
    expect(sink.inner.records.map((r) => r.endpoint)).toEqual(
      Array.from({ length: 1200 }, (_, i) => `/items/${i}`),
    );
  });

  it('gives each record a UUIDv7 id, returned by log()', async () => {
    const { sink, logger } = setup();
    const ids = [logger.log(entry(1)), logger.log(entry(2))];
    await logger.flush();
    expect(sink.inner.records.map((r) => r.id)).toEqual(ids);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });

  it("keeps an entry's own id when it is a UUIDv7, and makes one for any other", async () => {
    const { sink, logger } = setup();
    const own = '0192f3a4-5b6c-7d8e-9f01-23456789abcd';
    const other = '0192f3a4-5b6c-7d8e-bf01-23456789abce';
    const refused = [
      '0192F3A4-5B6C-7D8E-BF01-23456789ABCD', // upper case: text columns would hold it twice
      '0192f3a4-5b6c-4d8e-9f01-23456789abcd', // version 4
      '0192f3a4-5b6c-7d8e-cf01-23456789abcd', // variant 110
      '0192f3a4-5b6c-7d8e-9f01-23456789abcg', // not hex
      '0192f3a45b6c7d8e9f0123456789abcd', // no dashes
      'req-1',
      42,
    ];
    expect(logger.log({ ...entry(1), id: own })).toBe(own);
    expect(logger.log({ ...entry(2), id: other })).toBe(other);
    const made = refused.map((id, i) => logger.log({ ...entry(3 + i), id: id as string }));
    await logger.flush();
    expect(sink.inner.records.map((r) => r.id)).toEqual([own, other, ...made]);
    for (const id of made) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(refused).not.toContain(id);
    }
  });

  it('log() returns in microseconds while the sink hangs', async () => {
    const { sink, logger } = setup({ batchSize: 100, maxQueue: 100_000 });
    sink.mode = 'hang';
    logger.log(entry(0));
    void logger.flush(); // never settles while the sink hangs
    await settle();
    const n = 50_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) logger.log(entry(i));
    const perCallUs = Number(process.hrtime.bigint() - started) / 1000 / n;
    expect(sink.hanging).toBe(1);
    expect(perCallUs).toBeLessThan(20);
    console.log(`log() while the sink hangs: ${perCallUs.toFixed(2)} µs per call over ${n} calls`);
    expect(logger.stats.queued + logger.stats.inFlight).toBe(n + 1);
  }, 10_000);

  it('retries a failed batch with growing jittered delays and writes each record once', async () => {
    const { clock, sink, logger, events } = setup({
      batchSize: 10,
      retry: { initial: 100, max: 400 },
    });
    sink.mode = 'fail';
    for (let i = 0; i < 10; i++) logger.log(entry(i));
    await settle();
    const delays: number[] = [];
    for (let k = 0; k < 4; k++) {
      const failure = events.filter((e) => e.type === 'write_failed').at(-1)!;
      if (failure.type !== 'write_failed') throw new Error('no failure');
      delays.push(failure.retryInMs);
      clock.advance(failure.retryInMs);
      await settle();
    }
    // random() = 0.5: three quarters of 100, 200, 400, 400 (capped).
    expect(delays).toEqual([75, 150, 300, 300]);
    expect(logger.stats).toMatchObject({
      failing: true,
      failedWrites: 5,
      written: 0,
      inFlight: 10,
    });
    sink.mode = 'ok';
    const last = events.at(-1);
    if (last?.type !== 'write_failed') throw new Error('expected a failure');
    clock.advance(last.retryInMs);
    await settle();
    expect(logger.stats).toMatchObject({ failing: false, written: 10, inFlight: 0 });
    expect(events.filter((e) => e.type === 'recovered')).toEqual([
      { type: 'recovered', failedAttempts: 5, at: clock.now() },
    ]);
    expect(sink.inner.records).toHaveLength(10);
  });

  it('with a queue bound below the offered load: exact drop count, written + dropped = offered', async () => {
    const { clock, sink, logger, events } = setup({ maxQueue: 100, batchSize: 50 });
    sink.mode = 'fail';
    let accepted = 0;
    for (let i = 0; i < 1000; i++) if (logger.log(entry(i)) !== null) accepted++;
    expect(accepted).toBe(100);
    expect(logger.stats.dropped.queue_full).toBe(900);
    expect(accounted(logger.stats)).toBe(1000);
    sink.mode = 'ok';
    clock.advance(60_000);
    await settle();
    clock.advance(60_000);
    await settle();
    const stats = await logger.close();
    expect(stats).toMatchObject({ offered: 1000, written: 100, droppedTotal: 900, queued: 0 });
    expect(sink.inner.records).toHaveLength(100);
    // The streak is reported once as it starts, then summed: 1 + 899.
    const drops = events.filter((e) => e.type === 'dropped');
    expect(drops.reduce((sum, e) => sum + (e.type === 'dropped' ? e.count : 0), 0)).toBe(900);
    expect(drops.length).toBeLessThanOrEqual(3);
  });

  it('flush() resolves once everything logged before it is written', async () => {
    const { sink, logger } = setup({ batchSize: 500 });
    for (let i = 0; i < 7; i++) logger.log(entry(i));
    await logger.flush();
    expect(sink.inner.records).toHaveLength(7);
    await logger.flush();
  });

  it('close() drains what is held, then counts later records as dropped (closed)', async () => {
    const { sink, logger } = setup();
    for (let i = 0; i < 3; i++) logger.log(entry(i));
    const stats = await logger.close();
    expect(stats).toMatchObject({ offered: 3, written: 3 });
    expect(logger.log(entry(9))).toBeNull();
    expect(logger.stats.dropped.closed).toBe(1);
    expect(sink.inner.records).toHaveLength(3);
  });

  it('close() gives up after closeTimeout: queued records shutdown, the hung batch unconfirmed', async () => {
    const { clock, sink, logger } = setup({
      batchSize: 10,
      closeTimeout: 2000,
      writeTimeout: 60_000,
    });
    sink.mode = 'hang';
    for (let i = 0; i < 25; i++) logger.log(entry(i));
    await settle();
    const closing = logger.close();
    await settle();
    clock.advance(2000);
    const stats = await closing;
    expect(stats.dropped).toMatchObject({ shutdown: 15, unconfirmed: 10 });
    expect(stats.written + stats.droppedTotal).toBe(stats.offered);
    // A write that lands after the logger gave up changes no count.
    sink.releaseHung();
    await settle();
    expect(logger.stats.written).toBe(0);
  });

  it('close() during a retry wait retries at once, and soon after each failure until its deadline', async () => {
    const { sink, logger, events } = setup({
      batchSize: 10,
      closeTimeout: 2000,
      retry: { initial: '20s', max: '60s' },
    });
    sink.mode = 'fail';
    for (let i = 0; i < 20; i++) logger.log(entry(i));
    await settle();
    expect(logger.stats.failedWrites).toBe(1);
    // The sink is back; the batch would wait 15 s more for its retry, past the 2 s deadline.
    sink.mode = 'ok';
    const stats = await logger.close();
    expect(stats).toMatchObject({ written: 20, droppedTotal: 0 });
    expect(sink.inner.records).toHaveLength(20);

    // A sink still failing while closing: retried every 100 ms, not after the 20 s backoff.
    const failing = setup({ batchSize: 10, closeTimeout: 2000, retry: { initial: '20s' } });
    failing.sink.mode = 'fail';
    for (let i = 0; i < 10; i++) failing.logger.log(entry(i));
    await settle();
    const closing = failing.logger.close();
    await settle();
    const retryDelays = () =>
      failing.events.flatMap((e) => (e.type === 'write_failed' ? [e.retryInMs] : []));
    expect(retryDelays().at(-1)).toBe(100);
    failing.sink.mode = 'ok';
    failing.clock.advance(100);
    await settle();
    expect((await closing).written).toBe(10);
    expect(events.filter((e) => e.type === 'write_failed')).toHaveLength(1);
  });

  it('a write that hangs past writeTimeout is aborted and retried; the id keeps it stored once', async () => {
    const { clock, sink, logger, events } = setup({ batchSize: 5, writeTimeout: 1000 });
    sink.mode = 'hang';
    for (let i = 0; i < 5; i++) logger.log(entry(i));
    await settle();
    sink.mode = 'ok';
    clock.advance(1000);
    await settle();
    const failure = events.find((e) => e.type === 'write_failed');
    expect(failure).toMatchObject({ attempt: 1, error: { code: 'audit_write_timeout' } });
    clock.advance(1000);
    await settle();
    expect(logger.stats).toMatchObject({ written: 5, failing: false });
    expect(sink.inner.records).toHaveLength(5);
  });

  it('isolates records the sink refuses and drops only those (rejected)', async () => {
    const { sink, logger } = setup({ batchSize: 16 });
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push(logger.log(entry(i))!);
    sink.poison.add(ids[3]!);
    sink.poison.add(ids[11]!);
    await logger.flush();
    expect(logger.stats).toMatchObject({ written: 14, dropped: { rejected: 2 } });
    expect(sink.inner.records.map((r) => r.id)).not.toContain(ids[3]);
    expect(sink.inner.records).toHaveLength(14);
  });

  it("replaces a time no cursor could encode by the logger's clock", async () => {
    const { clock, sink, logger } = setup({ batchSize: 1 });
    logger.log({ ...entry(1), timestamp: 1.7e16 });
    await logger.flush();
    expect(sink.inner.records[0]?.timestamp).toBe(clock.now());
  });

  it('counts entries that are not objects as rejected instead of throwing', () => {
    const { logger } = setup();
    expect(logger.log(null as never)).toBeNull();
    expect(logger.stats.dropped.rejected).toBe(1);
  });

  it('rejects bad options with errors that name them', () => {
    const clock = createManualClock();
    const sink = createSwitchableAuditSink();
    const bad: [string, Partial<AuditLoggerOptions>][] = [
      ['maxQueue', { maxQueue: 0 }],
      ['batchSize', { batchSize: 10_001 }],
      ['flushInterval', { flushInterval: '2h' }],
      ['retry.initial', { retry: { initial: -1 } }],
      ['writeTimeout', { writeTimeout: 'soon' }],
      ['sink', { sink: {} as never }],
    ];
    for (const [option, patch] of bad) {
      let error: unknown;
      try {
        createAuditLoggerCore({ sink, clock, ...patch });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe(option);
    }
  });
});
