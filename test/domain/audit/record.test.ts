import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/domain/audit/backoff.ts';
import { auditFieldLimits, toAuditRecord } from '../../../src/domain/audit/record.ts';

describe('audit records', () => {
  const base = {
    ip: '203.0.113.9',
    endpoint: '/x',
    method: 'get',
    statusCode: 200,
    latencyMs: 3.5,
  };

  it('fills defaults and keeps what is valid', () => {
    expect(toAuditRecord(base, 'id-1', 1234)).toEqual({
      id: 'id-1',
      timestamp: 1234,
      requestId: undefined,
      userId: undefined,
      ip: '203.0.113.9',
      endpoint: '/x',
      method: 'GET',
      statusCode: 200,
      rateLimitHit: false,
      anomalyDetected: false,
      latencyMs: 3.5,
    });
  });

  it('never throws on bad fields: caps text, strips NUL, bounds numbers', () => {
    const record = toAuditRecord(
      {
        ...base,
        timestamp: Number.NaN,
        endpoint: `/a\u0000b${'x'.repeat(5000)}`,
        userId: '',
        statusCode: 1.5,
        latencyMs: -1,
        ip: undefined as unknown as string,
        rateLimitHit: 'yes' as unknown as boolean,
      },
      'id-2',
      99,
    );
    expect(record.timestamp).toBe(99);
    expect(record.endpoint.length).toBe(auditFieldLimits.endpoint);
    expect(record.endpoint.startsWith('/a\ufffdb')).toBe(true);
    expect(record.userId).toBeUndefined();
    expect(record.statusCode).toBe(0);
    expect(record.latencyMs).toBe(0);
    expect(record.ip).toBe('');
    expect(record.rateLimitHit).toBe(false);
    // Times no cursor could encode exactly are replaced by the logger's clock.
    for (const timestamp of [1.7e16, Number.POSITIVE_INFINITY, -1]) {
      expect(toAuditRecord({ ...base, timestamp }, 'id-3', 99).timestamp).toBe(99);
    }
    expect(toAuditRecord({ ...base, timestamp: 1234.9 }, 'id-4', 99).timestamp).toBe(1234);
  });
});

describe('retry backoff', () => {
  const settings = { initialMs: 100, maxMs: 5000 };

  it('doubles from the initial delay up to the cap, with half of it jittered', () => {
    expect(backoffDelay(1, settings, 0)).toBe(50);
    expect(backoffDelay(1, settings, 1)).toBe(100);
    expect(backoffDelay(3, settings, 0.5)).toBe(300);
    expect(backoffDelay(50, settings, 1)).toBe(5000);
    expect(backoffDelay(50, settings, 0)).toBe(2500);
  });
});
