import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/adapters/clock/system.ts';
import { createSqlAuditSink } from '../../../src/adapters/sql/audit-sink.ts';
import { openSqlDatabase, type SqlDatabase } from '../../../src/adapters/sql/database.ts';
import type { AuditEvent } from '../../../src/domain/audit/events.ts';
import { createAuditLoggerCore } from '../../../src/domain/audit/logger.ts';
import { createTempDatabase, postgresService, type TempDatabase } from '../../support/postgres.ts';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts';
import { postgresAvailable } from './harness.ts';

/**
 * PostgreSQL behind a TCP proxy this test controls: cutting the proxy is the
 * database going away for the application (connections dropped, new ones
 * refused), without touching the machine's server. Time here is real: the
 * outage lasts 5 s of wall time, as the scenario says.
 */

const entry = (i: number) => ({
  ip: `203.0.113.${i % 200}`,
  endpoint: `/orders/${i}`,
  method: 'POST',
  statusCode: 201,
  latencyMs: 2,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const pg = postgresAvailable();
describe.runIf(pg.available)(`Audit log through a PostgreSQL outage${pg.note}`, () => {
  let temp: TempDatabase;
  let proxy: TcpProxy;
  let db: SqlDatabase;
  let direct: SqlDatabase;

  beforeAll(async () => {
    temp = await createTempDatabase(postgresService().url!);
    direct = await openSqlDatabase({ url: temp.url, migrate: 'off' });
    await direct.migrateUp();
    const target = new URL(temp.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const proxied = new URL(temp.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    db = await openSqlDatabase({
      url: proxied.href,
      poolSize: 4,
      mikroOrm: { driverOptions: { connectionTimeoutMillis: 1000 } },
    });
  });

  afterAll(async () => {
    await db?.close();
    await direct?.close();
    await proxy?.close();
    await temp?.drop();
  });

  const countRows = async () => {
    const [row] = await direct.orm.em
      .fork()
      .getConnection()
      .execute<{ n: string; d: string }[]>(
        'select count(*) as n, count(distinct id) as d from lockwatch_audit_log',
      );
    return { rows: Number(row!.n), distinct: Number(row!.d) };
  };

  it('2,000 records logged across a 5 s cut are all stored exactly once after recovery', async () => {
    await direct.orm.em.fork().getConnection().execute('delete from lockwatch_audit_log');
    const events: AuditEvent[] = [];
    const logger = createAuditLoggerCore({
      sink: createSqlAuditSink(db),
      clock: systemClock,
      batchSize: 100,
      flushInterval: 50,
      retry: { initial: 50, max: 500 },
      writeTimeout: 2000,
      closeTimeout: 20_000,
    });
    logger.on((event) => events.push(event));
    const offered = 2000;
    const logging = (async () => {
      // 2,000 records over about 7 s: before, during and after the cut.
      for (let i = 0; i < offered; i++) {
        expect(logger.log(entry(i))).not.toBeNull();
        if (i % 10 === 9) await sleep(35);
      }
    })();
    await sleep(1000);
    proxy.mode = 'cut';
    const cutAt = Date.now();
    await sleep(5000);
    const writtenDuringCut = logger.stats.written;
    proxy.mode = 'pass';
    await logging;
    const stats = await logger.close();
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(5000);
    expect(stats).toMatchObject({
      offered,
      written: offered,
      droppedTotal: 0,
      queued: 0,
      inFlight: 0,
    });
    expect(stats.failedWrites).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'write_failed')).toBe(true);
    expect(events.some((e) => e.type === 'recovered')).toBe(true);
    expect(writtenDuringCut).toBeLessThan(offered);
    expect(await countRows()).toEqual({ rows: offered, distinct: offered });
  }, 40_000);

  it('with a queue bound below the offered load, the drop count is exact and written + dropped = offered', async () => {
    await direct.orm.em.fork().getConnection().execute('delete from lockwatch_audit_log');
    const logger = createAuditLoggerCore({
      sink: createSqlAuditSink(db),
      clock: systemClock,
      maxQueue: 500,
      batchSize: 100,
      flushInterval: 20,
      retry: { initial: 50, max: 200 },
      writeTimeout: 2000,
    });
    proxy.mode = 'cut';
    for (let i = 0; i < 2000; i++) logger.log(entry(i));
    expect(logger.stats.dropped.queue_full).toBe(1500);
    await sleep(300);
    proxy.mode = 'pass';
    const stats = await logger.close();
    expect(stats).toMatchObject({
      offered: 2000,
      written: 500,
      droppedTotal: 1500,
      dropped: { queue_full: 1500 },
    });
    expect(stats.written + stats.droppedTotal).toBe(stats.offered);
    expect(await countRows()).toEqual({ rows: 500, distinct: 500 });
  }, 30_000);

  it('log() returns in microseconds while the database hangs', async () => {
    const logger = createAuditLoggerCore({
      sink: createSqlAuditSink(db),
      clock: systemClock,
      maxQueue: 100_000,
      batchSize: 100,
      flushInterval: 5,
      writeTimeout: 60_000,
      closeTimeout: 1000,
    });
    proxy.mode = 'hang';
    logger.log(entry(0));
    await sleep(50);
    const n = 20_000;
    let worst = 0;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i += 100) {
      const t = process.hrtime.bigint();
      for (let k = 0; k < 100; k++) logger.log(entry(i + k));
      const perCall = Number(process.hrtime.bigint() - t) / 1000 / 100;
      if (perCall > worst) worst = perCall;
    }
    const mean = Number(process.hrtime.bigint() - started) / 1000 / n;
    console.log(
      `log() while PostgreSQL hangs: mean ${mean.toFixed(2)} µs, worst 100-call block ${worst.toFixed(2)} µs per call`,
    );
    expect(mean).toBeLessThan(20);
    expect(logger.stats.written).toBe(0);
    const stats = await logger.close();
    expect(stats.written + stats.droppedTotal).toBe(n + 1);
    proxy.mode = 'pass';
  }, 30_000);
});
