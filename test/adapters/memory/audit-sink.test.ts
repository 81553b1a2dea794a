import { describe, expect, it } from 'vitest';
import { createMemoryAuditSink } from '../../../src/adapters/memory/audit-sink.ts';
import { memoryStores } from '../../../src/compose/stores.ts';
import { createUuidV7Generator } from '../../../src/domain/audit/uuid.ts';
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import type { AuditRecord } from '../../../src/ports/audit.ts';

const nextId = createUuidV7Generator();

function records(count: number, from = 0): AuditRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    id: nextId(1_700_000_000_000 + from + i),
    timestamp: 1_700_000_000_000 + from + i,
    ip: '192.0.2.1',
    endpoint: `/r/${from + i}`,
    method: 'GET',
    statusCode: 200,
    rateLimitHit: false,
    anomalyDetected: false,
    latencyMs: 1,
  }));
}

describe('memory audit sink bound', () => {
  it('keeps at most maxRecords, the newest, dropping the oldest eighth at once', async () => {
    const sink = createMemoryAuditSink({ maxRecords: 80 });
    const written = records(200);
    for (let i = 0; i < written.length; i += 25) await sink.write(written.slice(i, i + 25));
    expect(sink.records.length).toBeLessThanOrEqual(80);
    expect(sink.records.length).toBeGreaterThanOrEqual(70);
    expect(sink.evicted).toBe(200 - sink.records.length);
    // The newest are the ones held, in write order.
    expect(sink.records.map((r) => r.endpoint)).toEqual(
      written.slice(200 - sink.records.length).map((r) => r.endpoint),
    );
  });

  it('still ignores an id it holds after evicting older ones', async () => {
    const sink = createMemoryAuditSink({ maxRecords: 8 });
    const batch = records(20);
    await sink.write(batch);
    const held = sink.records.length;
    await sink.write(batch.slice(-3));
    expect(sink.records.length).toBe(held);
  });

  it('holds 10,000 records by default', async () => {
    const sink = createMemoryAuditSink();
    await sink.write(records(10_000));
    expect(sink.records.length).toBe(10_000);
    expect(sink.evicted).toBe(0);
    await sink.write(records(1, 10_000));
    expect(sink.records.length).toBe(10_001 - 1250);
    expect(sink.evicted).toBe(1250);
  });

  it('refuses a bad bound, naming the option', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, '10'])
      expect(() => createMemoryAuditSink({ maxRecords: bad as number })).toThrow(/maxRecords/);
    expect(() => memoryStores({ maxAuditRecords: 0 })).toThrow(InvalidOptionError);
    expect(() => memoryStores({ maxAuditRecords: 0 })).toThrow(/maxAuditRecords/);
  });

  it('memoryStores passes the bound on', async () => {
    const stores = memoryStores({ maxAuditRecords: 16 });
    await stores.audit.write(records(40));
    expect(stores.audit.records.length).toBeLessThanOrEqual(16);
    await stores.close();
  });
});
