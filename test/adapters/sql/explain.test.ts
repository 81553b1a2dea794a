import { describe, expect, it } from 'vitest';
import { createSqlAuditReader } from '../../../src/adapters/sql/audit-reader.ts';
import { createSqlAuditSink } from '../../../src/adapters/sql/audit-sink.ts';
import { createUuidV7Generator } from '../../../src/domain/audit/uuid.ts';
import type { AuditRecord } from '../../../src/ports/audit.ts';
import {
  postgresAvailable,
  postgresTarget,
  type SqlTargetFixture,
  sqliteTarget,
  useDatabase,
} from './harness.ts';

/**
 * The reader's queries use the indexes built for them (the 1,000,000-row
 * timings are in bench/audit.ts; here a 20,000-row table, analysed, is
 * enough for the planners to show their choice).
 */

const rows = 20_000;
const t0 = 1_700_000_000_000;

function table(): AuditRecord[] {
  const nextId = createUuidV7Generator();
  return Array.from({ length: rows }, (_, i) => {
    const timestamp = t0 + i * 60_000;
    return {
      id: nextId(timestamp),
      timestamp,
      userId: `user-${i % 40}`,
      ip: `10.0.${i % 100}.1`,
      endpoint: `/api/${i % 50}`,
      method: 'GET',
      statusCode: i % 50 === 0 ? 429 : 200,
      rateLimitHit: i % 50 === 0,
      anomalyDetected: i % 500 === 0,
      latencyMs: 3,
    };
  });
}

function plans(target: SqlTargetFixture) {
  const holder = useDatabase(target);

  it('each query of the issue is served by its own index', async () => {
    const db = holder.db;
    const data = table();
    const sink = createSqlAuditSink(db);
    for (let i = 0; i < data.length; i += 1000) await sink.write(data.slice(i, i + 1000));
    await db.orm.em.fork().getConnection().execute('analyze');
    const reader = createSqlAuditReader(db);
    const last = data.at(-1)!.timestamp;
    const cases: [string, Parameters<typeof reader.explain>[0]][] = [
      ['lockwatch_audit_log_ip_time_idx', { ip: data[1234]!.ip, from: t0, to: last, limit: 100 }],
      ['lockwatch_audit_log_user_time_idx', { userId: 'user-7', limit: 100 }],
      [
        'lockwatch_audit_log_rate_limit_idx',
        { rateLimitHitsOnly: true, from: last - 3_600_000, limit: 100 },
      ],
      ['lockwatch_audit_log_anomaly_idx', { anomaliesOnly: true, limit: 100 }],
      ['lockwatch_audit_log_time_idx', { from: last - 3_600_000, to: last, limit: 100 }],
    ];
    for (const [index, query] of cases) {
      const plan = (await reader.explain(query)).join('\n');
      expect(plan, JSON.stringify(query)).toContain(index);
      expect(plan, JSON.stringify(query)).not.toMatch(/Seq Scan|SCAN lockwatch_audit_log$/m);
      // SQLite reads the index backwards; PostgreSQL may instead fetch a few hundred matches by
      // bitmap and sort them when that is cheaper, which its cost model decides per table.
      if (db.engine === 'sqlite') expect(plan).not.toContain('TEMP B-TREE');
    }
  }, 60_000);
}

describe('query plans: SQLite file', () => plans(sqliteTarget()));

const pg = postgresAvailable();
describe.runIf(pg.available)(`query plans: PostgreSQL${pg.note}`, () => plans(postgresTarget()));
