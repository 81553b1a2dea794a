/**
 * Audit log benchmarks (docs/benchmarks.md, "Audit log"):
 *
 * 1. Writes: 100,000 records into a SQLite file and into PostgreSQL, per run,
 *    through the AuditLogger + SqlAuditSink, against the raw driver's batched
 *    insert and MikroORM's `insertMany`, in interleaved rounds in one process
 *    (median rows/s and ratios to the raw driver).
 * 2. Queries on 1,000,000 rows per engine through the AuditReader: "newest
 *    100 for one IP in a time range", "newest 100 for one user", "rate-limit
 *    hits in the last hour": p50/p95 and each query's plan (EXPLAIN).
 *
 * Run: node bench/audit.ts [--rounds 3] [--rows 100000] [--batch 500] [--table 1000000]
 *                           [--skip-postgres] [--skip-queries] [--skip-writes] [--dir /dev/shm] [--pg-async-commit]
 * --dir puts the SQLite file there (a tmpfs takes the shared disk's fsync stalls out of the
 * comparison; every candidate pays the same I/O on a real disk).
 * PostgreSQL: LOCKWATCH_TEST_POSTGRES_URL or postgresql://postgres@127.0.0.1:5432/test;
 * a scratch database is created and dropped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MikroORM as PostgresORM } from '@mikro-orm/postgresql';
import { createSqlAuditReader } from '../src/adapters/sql/audit-reader.ts';
import {
  createSqlAuditSink,
  postgresInsertSql,
  sqliteInsertSql,
} from '../src/adapters/sql/audit-sink.ts';
import { openSqlDatabase, type SqlDatabase } from '../src/adapters/sql/database.ts';
import { AuditLogEntry } from '../src/adapters/sql/entities.ts';
import { createAuditLogger } from '../src/audit-logger.ts';
import type { AuditEntry } from '../src/domain/audit/record.ts';
import { createUuidV7Generator } from '../src/domain/audit/uuid.ts';
import type { AuditQuery, AuditRecord } from '../src/ports/audit.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    rows: { type: 'string', default: '100000' },
    table: { type: 'string', default: '1000000' },
    'skip-postgres': { type: 'boolean', default: false },
    'skip-queries': { type: 'boolean', default: false },
    'skip-writes': { type: 'boolean', default: false },
    batch: { type: 'string', default: '500' },
    dir: { type: 'string' },
    'pg-async-commit': { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const total = Number(args.rows);
const tableRows = Number(args.table);
const batch = Number(args.batch);

const t0 = Date.UTC(2026, 0, 1);
const entries: AuditEntry[] = Array.from({ length: total }, (_, i) => ({
  timestamp: t0 + i,
  requestId: `req-${i}`,
  userId: i % 10 === 0 ? undefined : `user-${i % 2000}`,
  ip: `10.0.${(i >> 8) & 255}.${i & 255}`,
  endpoint: `/api/v1/orders/${i % 1000}`,
  method: i % 3 === 0 ? 'POST' : 'GET',
  statusCode: i % 50 === 0 ? 429 : 200,
  rateLimitHit: i % 50 === 0,
  anomalyDetected: i % 1000 === 0,
  latencyMs: 1.5 + (i % 40),
}));

/** Records with fresh ids for a candidate that takes finished records (the logger makes its own). */
function records(from: number, to: number): AuditRecord[] {
  const nextId = createUuidV7Generator();
  return entries.slice(from, to).map((e) => ({
    id: nextId(e.timestamp!),
    timestamp: e.timestamp!,
    requestId: e.requestId,
    userId: e.userId,
    ip: e.ip,
    endpoint: e.endpoint,
    method: e.method,
    statusCode: e.statusCode,
    rateLimitHit: e.rateLimitHit === true,
    anomalyDetected: e.anomalyDetected === true,
    latencyMs: e.latencyMs,
  }));
}

const row = (r: AuditRecord) => [
  r.id,
  r.timestamp,
  r.requestId ?? null,
  r.userId ?? null,
  r.ip,
  r.endpoint,
  r.method,
  r.statusCode,
  r.rateLimitHit,
  r.anomalyDetected,
  r.latencyMs,
];

interface WriteCandidate {
  readonly name: string;
  /** Writes entries[from, to); the timer runs around this call only. */
  run(from: number, to: number): Promise<void>;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Records are written in chunks of this many, every candidate in turn, so a change of machine load hits all alike. */
const chunk = 10_000;

async function compareWrites(title: string, db: SqlDatabase, candidates: WriteCandidate[]) {
  if (args['skip-writes']) return;
  const conn = () => db.orm.em.fork().getConnection();
  const samples = new Map(candidates.map((c) => [c.name, [] as number[]]));
  for (let round = 0; round < rounds; round++) {
    await conn().execute('delete from lockwatch_audit_log');
    if (db.engine === 'postgresql') await conn().execute('vacuum lockwatch_audit_log');
    else if (db.native.kind === 'sqlite') db.native.db.pragma('wal_checkpoint(TRUNCATE)');
    const spent = new Map(candidates.map((c) => [c.name, 0]));
    for (let from = 0, step = 0; from < total; from += chunk, step++) {
      const to = Math.min(total, from + chunk);
      const order = (round + step) % 2 === 0 ? candidates : [...candidates].reverse();
      for (const candidate of order) {
        const started = performance.now();
        await candidate.run(from, to);
        spent.set(candidate.name, spent.get(candidate.name)! + performance.now() - started);
      }
    }
    const [counted] = await conn().execute<{ n: number | string }[]>(
      'select count(*) as n from lockwatch_audit_log',
    );
    if (Number(counted!.n) !== total * candidates.length) {
      throw new Error(`wrote ${counted!.n} rows, not ${total * candidates.length}`);
    }
    for (const c of candidates) samples.get(c.name)!.push((total / spent.get(c.name)!) * 1000);
  }
  const base = median(samples.get(candidates[0]!.name)!);
  console.log(
    `\n### ${title}: ${total.toLocaleString('en-US')} records per candidate per round, in turns of ${chunk.toLocaleString('en-US')}, median of ${rounds} rounds\n`,
  );
  console.log(`| candidate | rows/s (median) | ratio to ${candidates[0]!.name} |`);
  console.log('| --- | ---: | ---: |');
  for (const c of candidates) {
    const rate = median(samples.get(c.name)!);
    console.log(
      `| ${c.name} | ${Math.round(rate).toLocaleString('en-US')} | ${(rate / base).toFixed(2)} |`,
    );
  }
}

/** Longest single sink write per logger candidate: on SQLite (synchronous) that is how long the event loop is held. */
const longestWrite = new Map<string, number>();

function loggerCandidate(db: SqlDatabase, size = batch): WriteCandidate {
  const name = `AuditLogger + SqlAuditSink (batches of ${size})`;
  return {
    name,
    async run(from, to) {
      const sink = createSqlAuditSink(db);
      let longest = 0;
      const logger = createAuditLogger({
        sink: {
          async write(records, options) {
            const started = performance.now();
            await sink.write(records, options);
            longest = Math.max(longest, performance.now() - started);
          },
          close: () => sink.close(),
        },
        batchSize: size,
        maxQueue: total,
      });
      for (let i = from; i < to; i++) logger.log(entries[i]!);
      const stats = await logger.close();
      if (stats.written !== to - from) throw new Error(`logger wrote ${stats.written}`);
      longestWrite.set(name, Math.max(longestWrite.get(name) ?? 0, longest));
    },
  };
}

function mikroCandidate(db: SqlDatabase): WriteCandidate {
  return {
    name: `MikroORM em.insertMany (batches of ${batch})`,
    async run(from, to) {
      const data = records(from, to);
      for (let i = 0; i < data.length; i += batch) {
        await db.orm.em.fork().insertMany(AuditLogEntry, data.slice(i, i + batch) as never);
      }
    },
  };
}

async function sqliteWrites(dir: string) {
  const db = await openSqlDatabase({ url: `sqlite:${join(dir, 'writes.db')}` });
  if (db.native.kind !== 'sqlite') throw new Error('expected SQLite');
  const native = db.native.db;
  const insert = native.prepare(sqliteInsertSql);
  const many = native.transaction((rows: AuditRecord[]) => {
    for (const r of rows) {
      const v = row(r);
      v[8] = r.rateLimitHit ? 1 : 0;
      v[9] = r.anomalyDetected ? 1 : 0;
      insert.run(...v);
    }
  });
  await compareWrites('SQLite file (WAL, synchronous NORMAL)', db, [
    {
      name: `raw better-sqlite3, prepared insert, one transaction per ${batch}`,
      async run(from, to) {
        const data = records(from, to);
        for (let i = 0; i < data.length; i += batch) many(data.slice(i, i + batch));
      },
    },
    {
      name: `raw better-sqlite3, prepared insert, one transaction per ${chunk.toLocaleString('en-US')}`,
      async run(from, to) {
        many(records(from, to));
      },
    },
    loggerCandidate(db),
    loggerCandidate(db, 5000),
    mikroCandidate(db),
  ]);
  if (longestWrite.size > 0)
    console.log('\nLongest single batch write (SQLite holds the event loop that long):');
  for (const [name, ms] of longestWrite) console.log(`- ${name}: ${ms.toFixed(1)} ms`);
  longestWrite.clear();
  return db;
}

async function pool0(db: SqlDatabase) {
  if (db.native.kind !== 'postgresql') throw new Error('expected PostgreSQL');
  return db.native.pool.query<{ synchronous_commit: string }>('show synchronous_commit');
}

async function postgresWrites(url: string) {
  const db = await openSqlDatabase({
    url,
    migrate: 'auto',
    // Optional: no WAL flush per commit, for every candidate alike (the shared disk's fsync stalls
    // otherwise dominate and vary from run to run).
    mikroOrm: args['pg-async-commit']
      ? { driverOptions: { options: '-c synchronous_commit=off' } }
      : undefined,
  });
  if (db.native.kind !== 'postgresql') throw new Error('expected PostgreSQL');
  console.log(`\nsynchronous_commit: ${(await pool0(db)).rows[0]?.synchronous_commit}`);
  const pool = db.native.pool;
  const columns = (data: AuditRecord[]) => {
    const cols: unknown[][] = Array.from({ length: 11 }, () => new Array(data.length));
    data.forEach((r, i) => {
      row(r).forEach((v, c) => {
        cols[c]![i] = v;
      });
    });
    return cols;
  };
  const valuesSql = (n: number) => {
    const tuples: string[] = [];
    for (let i = 0; i < n; i++) {
      tuples.push(`(${Array.from({ length: 11 }, (_, c) => `$${i * 11 + c + 1}`).join(', ')})`);
    }
    return `insert into lockwatch_audit_log (id, timestamp, request_id, user_id, ip, endpoint, method, status_code, rate_limit_hit, anomaly_detected, latency_ms) values ${tuples.join(', ')} on conflict (id) do nothing`;
  };
  const multiRow = valuesSql(batch);
  await compareWrites('PostgreSQL 15 (localhost)', db, [
    {
      name: `raw pg, unnest insert per ${batch}`,
      async run(from, to) {
        const data = records(from, to);
        for (let i = 0; i < data.length; i += batch) {
          await pool.query({
            name: 'bench_unnest',
            text: postgresInsertSql,
            values: columns(data.slice(i, i + batch)),
          });
        }
      },
    },
    {
      name: `raw pg, multi-row VALUES insert per ${batch}`,
      async run(from, to) {
        const data = records(from, to);
        for (let i = 0; i < data.length; i += batch) {
          const slice = data.slice(i, i + batch);
          const text = slice.length === batch ? multiRow : valuesSql(slice.length);
          await pool.query({ text, values: slice.flatMap(row) });
        }
      },
    },
    loggerCandidate(db),
    loggerCandidate(db, 5000),
    mikroCandidate(db),
  ]);
  return db;
}

/** Fills the table with `tableRows` rows in SQL: 30 days, 5,000 IPs, 2,000 users, 2 % rate-limited. */
async function fill(db: SqlDatabase) {
  const conn = db.orm.em.fork().getConnection();
  await conn.execute('delete from lockwatch_audit_log');
  const step = Math.floor((30 * 86_400_000) / tableRows);
  const start = Date.now() - 30 * 86_400_000;
  const started = performance.now();
  if (db.engine === 'sqlite') {
    await conn.execute(`with recursive s(i) as (select 0 union all select i + 1 from s where i < ${tableRows - 1})
      insert into lockwatch_audit_log (id, timestamp, request_id, user_id, ip, endpoint, method, status_code, rate_limit_hit, anomaly_detected, latency_ms)
      select printf('%08x-%04x-7000-8000-%012x', (${start} + i * ${step}) / 65536, (${start} + i * ${step}) % 65536, i),
        ${start} + i * ${step}, null, 'user-' || (i % 2000), '10.' || (i % 5000 / 250) || '.' || (i % 250) || '.1',
        '/api/' || (i % 100), 'GET', case when i % 50 = 0 then 429 else 200 end, i % 50 = 0, i % 1000 = 0, 3.5 from s`);
  } else {
    await conn.execute(`insert into lockwatch_audit_log (id, timestamp, request_id, user_id, ip, endpoint, method, status_code, rate_limit_hit, anomaly_detected, latency_ms)
      select md5(i::text)::uuid, ${start}::int8 + i::int8 * ${step}, null, 'user-' || (i % 2000), '10.' || (i % 5000 / 250) || '.' || (i % 250) || '.1',
        '/api/' || (i % 100), 'GET', case when i % 50 = 0 then 429 else 200 end, i % 50 = 0, i % 1000 = 0, 3.5
      from generate_series(0, ${tableRows - 1}) as i`);
  }
  await conn.execute(db.engine === 'sqlite' ? 'analyze' : 'vacuum analyze lockwatch_audit_log');
  return { start, end: start + tableRows * step, seconds: (performance.now() - started) / 1000 };
}

async function queries(title: string, db: SqlDatabase) {
  const span = await fill(db);
  const reader = createSqlAuditReader(db);
  const ip = (k: number) => `10.${((k % 5000) / 250) | 0}.${k % 250}.1`;
  const cases: [string, (k: number) => AuditQuery][] = [
    [
      'newest 100 for one IP in a time range (last 7 days)',
      (k) => ({ ip: ip(k * 7919), from: span.end - 7 * 86_400_000, to: span.end, limit: 100 }),
    ],
    ['newest 100 for one user', (k) => ({ userId: `user-${(k * 7919) % 2000}`, limit: 100 })],
    [
      'rate-limit hits in the last hour',
      () => ({ rateLimitHitsOnly: true, from: span.end - 3_600_000, limit: 100 }),
    ],
  ];
  console.log(
    `\n### ${title}: queries on ${tableRows.toLocaleString('en-US')} rows through AuditReader (table filled in ${span.seconds.toFixed(1)} s)\n`,
  );
  console.log('| query | rows returned | p50 ms | p95 ms | max ms |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  const plans: string[] = [];
  for (const [name, make] of cases) {
    for (let k = 0; k < 50; k++) await reader.query(make(k));
    const times: number[] = [];
    let returned = 0;
    for (let k = 0; k < 500; k++) {
      const started = performance.now();
      const page = await reader.query(make(k + 1000));
      times.push(performance.now() - started);
      returned += page.records.length;
    }
    times.sort((a, b) => a - b);
    const at = (q: number) =>
      times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(2);
    console.log(
      `| ${name} | ${Math.round(returned / times.length)} | ${at(0.5)} | ${at(0.95)} | ${times.at(-1)!.toFixed(2)} |`,
    );
    plans.push(`${name}:\n${(await reader.explain(make(1))).map((l) => `    ${l}`).join('\n')}`);
  }
  console.log(
    `\nPlans (${db.engine === 'sqlite' ? 'EXPLAIN QUERY PLAN' : 'EXPLAIN'}):\n\n\`\`\`\n${plans.join('\n')}\n\`\`\``,
  );
}

const dir = mkdtempSync(join(args.dir ?? tmpdir(), 'lockwatch-bench-'));
console.log(`Node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
try {
  const sqlite = await sqliteWrites(dir);
  if (!args['skip-queries']) await queries('SQLite file', sqlite);
  await sqlite.close();
  if (!args['skip-postgres']) {
    const base = new URL(
      process.env.LOCKWATCH_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test',
    );
    const scratch = `lockwatch_bench_${process.pid}`;
    const admin = await PostgresORM.init({
      clientUrl: base.href,
      entities: [],
      discovery: { warnWhenNoEntities: false },
    });
    await admin.em.getConnection().execute(`create database ${scratch}`);
    try {
      const target = new URL(base.href);
      target.pathname = `/${scratch}`;
      const pg = await postgresWrites(target.href);
      if (!args['skip-queries']) await queries('PostgreSQL', pg);
      await pg.close();
    } finally {
      await admin.em.getConnection().execute(`drop database if exists ${scratch} with (force)`);
      await admin.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
