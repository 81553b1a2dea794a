import { beforeEach, describe, expect, it } from 'vitest';
import { createUuidV7Generator } from '../../../src/domain/audit/uuid.ts';
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import type { AuditReader, AuditRecord, AuditSink } from '../../../src/ports/audit.ts';

/** A sink and a reader on one empty audit log. */
export interface AuditLogHarness {
  readonly sink: AuditSink;
  readonly reader: AuditReader;
}

/** Gives an empty audit log; called before each test (the suite never closes what it gets). */
export type AuditLogFactory = () => Promise<AuditLogHarness>;

const nextId = createUuidV7Generator();
const t0 = 1_700_000_000_000;

/** A record with defaults; `i` spreads timestamps one second apart. */
export function auditRecord(i: number, patch: Partial<AuditRecord> = {}): AuditRecord {
  const timestamp = patch.timestamp ?? t0 + i * 1000;
  return {
    id: nextId(timestamp),
    timestamp,
    requestId: `req-${i}`,
    userId: `user-${i % 3}`,
    ip: `198.51.100.${i % 4}`,
    endpoint: `/api/items/${i}`,
    method: i % 2 === 0 ? 'GET' : 'POST',
    statusCode: 200 + (i % 5) * 100,
    rateLimitHit: i % 7 === 0,
    anomalyDetected: i % 11 === 0,
    latencyMs: 1.25 + i,
    ...patch,
  };
}

const ids = (records: readonly AuditRecord[]) => records.map((r) => r.id);
const newest = (records: readonly AuditRecord[]) =>
  [...records].sort((a, b) =>
    a.timestamp !== b.timestamp ? b.timestamp - a.timestamp : a.id < b.id ? 1 : -1,
  );

/**
 * The AuditSink/AuditReader contract: every adapter (memory, SQLite,
 * PostgreSQL) runs this one suite against a factory of empty logs.
 */
export function auditLogContract(name: string, create: AuditLogFactory): void {
  describe(`AuditSink/AuditReader contract: ${name}`, () => {
    let sink: AuditSink;
    let reader: AuditReader;
    beforeEach(async () => {
      ({ sink, reader } = await create());
    });

    const sample = Array.from({ length: 60 }, (_, i) => auditRecord(i));

    it('stores every field and reads it back as written', async () => {
      const odd = auditRecord(1, {
        userId: undefined,
        requestId: undefined,
        endpoint: '/ünïcødé/🚦/quote\'"/back\\slash',
        latencyMs: 0.125,
        rateLimitHit: true,
        anomalyDetected: true,
      });
      const plain = auditRecord(0);
      await sink.write([plain, odd]);
      const page = await reader.query({});
      expect(page.records).toEqual([odd, plain]);
    });

    it('ignores a record whose id is already stored (retried batches write once)', async () => {
      await sink.write(sample.slice(0, 30));
      await sink.write(sample.slice(20, 40));
      await sink.write(sample.slice(0, 40));
      await sink.write([]);
      const page = await reader.query({ limit: 1000, includeTotal: true });
      expect(page.total).toBe(40);
      expect(new Set(ids(page.records)).size).toBe(40);
    });

    it('writes large batches whole, fields intact, and rewrites them once', async () => {
      // More than two of the SQLite sink's 100-row inserts plus a remainder, then the same again.
      const large = Array.from({ length: 250 }, (_, i) =>
        auditRecord(2000 + i, i % 9 === 0 ? { userId: undefined, requestId: undefined } : {}),
      );
      await sink.write(large);
      const extra = auditRecord(3000);
      await sink.write([...large.slice(150), extra]);
      const page = await reader.query({ limit: 1000, includeTotal: true });
      expect(page.total).toBe(251);
      expect(page.records).toEqual(newest([...large, extra]));
    });

    it('returns newest first by timestamp, then id', async () => {
      const same = Array.from({ length: 5 }, (_, i) => auditRecord(100 + i, { timestamp: t0 }));
      await sink.write([...sample.slice(0, 10), ...same]);
      const page = await reader.query({ limit: 100 });
      expect(ids(page.records)).toEqual(ids(newest([...sample.slice(0, 10), ...same])));
    });

    it('filters by user, ip, endpoint prefix, method, status range, time range and flags', async () => {
      await sink.write(sample);
      const cases: [Parameters<AuditReader['query']>[0], (r: AuditRecord) => boolean][] = [
        [{ userId: 'user-1' }, (r) => r.userId === 'user-1'],
        [{ ip: '198.51.100.2' }, (r) => r.ip === '198.51.100.2'],
        [{ endpointPrefix: '/api/items/1' }, (r) => r.endpoint.startsWith('/api/items/1')],
        [{ method: 'post' }, (r) => r.method === 'POST'],
        [{ statusFrom: 400, statusTo: 499 }, (r) => r.statusCode >= 400 && r.statusCode <= 499],
        [
          { from: t0 + 10_000, to: t0 + 20_000 },
          (r) => r.timestamp >= t0 + 10_000 && r.timestamp < t0 + 20_000,
        ],
        [{ rateLimitHitsOnly: true }, (r) => r.rateLimitHit],
        [{ anomaliesOnly: true }, (r) => r.anomalyDetected],
        [
          { ip: '198.51.100.0', from: t0 + 8000, rateLimitHitsOnly: true },
          (r) => r.ip === '198.51.100.0' && r.timestamp >= t0 + 8000 && r.rateLimitHit,
        ],
        [{ userId: 'nobody' }, () => false],
      ];
      for (const [query, keep] of cases) {
        const page = await reader.query({ ...query, limit: 1000 });
        expect(ids(page.records), JSON.stringify(query)).toEqual(ids(newest(sample.filter(keep))));
      }
    });

    it('treats %, _ and \\ in an endpoint prefix as text, not patterns', async () => {
      const records = ['/a%b/1', '/a_b/2', '/axb/3', '/a\\b/4', '/aXb/5'].map((endpoint, i) =>
        auditRecord(i, { endpoint }),
      );
      await sink.write(records);
      for (const prefix of ['/a%b', '/a_b', '/a\\b']) {
        const page = await reader.query({ endpointPrefix: prefix });
        expect(page.records.map((r) => r.endpoint)).toEqual(
          records.filter((r) => r.endpoint.startsWith(prefix)).map((r) => r.endpoint),
        );
      }
    });

    it('matches an endpoint prefix case-sensitively, as the path was sent', async () => {
      const records = ['/Admin/x', '/admin/y', '/ADMIN', '/admins', '/é/1', '/É/2'].map(
        (endpoint, i) => auditRecord(i, { endpoint }),
      );
      await sink.write(records);
      for (const prefix of ['/admin', '/Admin', '/é']) {
        const page = await reader.query({ endpointPrefix: prefix });
        expect(page.records.map((r) => r.endpoint).sort(), prefix).toEqual(
          records
            .filter((r) => r.endpoint.startsWith(prefix))
            .map((r) => r.endpoint)
            .sort(),
        );
      }
    });

    it('pages with cursors: every record once, in order, unmoved by newer writes', async () => {
      await sink.write(sample);
      const seen: AuditRecord[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await reader.query({ limit: 7, cursor });
        seen.push(...page.records);
        cursor = page.nextCursor;
        pages++;
        // A newer record arriving between pages must not shift the pages.
        if (pages === 2) await sink.write([auditRecord(1000)]);
      } while (cursor !== undefined);
      expect(ids(seen)).toEqual(ids(newest(sample)));
      expect(pages).toBe(9);
    });

    it('the last page has no cursor; no total unless asked', async () => {
      await sink.write(sample.slice(0, 5));
      const page = await reader.query({ limit: 5 });
      expect(page.records).toHaveLength(5);
      expect(page.nextCursor).toBeUndefined();
      expect(page.total).toBeUndefined();
      expect((await reader.query({ limit: 2, includeTotal: true, ip: '198.51.100.1' })).total).toBe(
        sample.slice(0, 5).filter((r) => r.ip === '198.51.100.1').length,
      );
    });

    it('caps the page size at 1,000 and defaults it to 100', async () => {
      const many = Array.from({ length: 1100 }, (_, i) => auditRecord(i));
      for (let i = 0; i < many.length; i += 500) await sink.write(many.slice(i, i + 500));
      expect((await reader.query({})).records).toHaveLength(100);
      const capped = await reader.query({ limit: 5000 });
      expect(capped.records).toHaveLength(1000);
      expect(capped.nextCursor).toBeDefined();
    });

    it('rejects a forged cursor and filters of the wrong type, naming them', async () => {
      const bad: [string, Parameters<AuditReader['query']>[0]][] = [
        ['cursor', { cursor: 'not a cursor' }],
        ['cursor', { cursor: btoa('1.2') }],
        ['limit', { limit: 0 }],
        ['statusFrom', { statusFrom: 1.5 }],
        ['from', { from: -1 }],
        ['ip', { ip: 5 as unknown as string }],
      ];
      for (const [option, query] of bad) {
        const error = await reader.query(query).catch((e: unknown) => e);
        expect(error, option).toBeInstanceOf(InvalidOptionError);
        expect((error as InvalidOptionError).option).toBe(option);
      }
    });

    it('purges records older than a time and reports how many went', async () => {
      await sink.write(sample);
      expect(await reader.purgeOlderThan(t0 + 25_000)).toBe(25);
      const left = await reader.query({ limit: 1000 });
      expect(left.records).toHaveLength(35);
      expect(Math.min(...left.records.map((r) => r.timestamp))).toBe(t0 + 25_000);
      expect(await reader.purgeOlderThan(t0)).toBe(0);
    });
  });
}
