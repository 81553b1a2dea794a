import { describe, expect, it } from 'vitest';
import { createSqlAuditReader } from '../../../src/adapters/sql/audit-reader.ts';
import { createSqlAuditSink } from '../../../src/adapters/sql/audit-sink.ts';
import { parseTime, usage } from '../../../src/adapters/sql/cli/run.ts';
import { openSqlDatabase } from '../../../src/adapters/sql/database.ts';
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import { auditRecord } from '../../contracts/audit/index.ts';
import { adminQuery } from '../../support/postgres.ts';
import { cli as runCommand } from './cli-runner.ts';
import {
  postgresAvailable,
  postgresTarget,
  type SqlTargetFixture,
  sqliteTarget,
} from './harness.ts';

const t0 = 1_700_000_000_000;

/** The command line at a fixed time, 100 s after the records' base time. */
const cli = (args: string[], now = t0 + 100_000) => runCommand(args, now);

function commands(target: SqlTargetFixture) {
  it('migrate: status, down, status, up again on a migrated database', async () => {
    const url = ['--url', target.url()];
    expect((await cli(['migrate', 'up', ...url])).stdout).toMatch(/nothing to do|applied/);
    let status = await cli(['migrate', 'status', ...url]);
    expect(status.stdout).toMatch(
      /applied {2}Migration\d+_init\n(?: {2}applied {2}Migration\d+_\w+\n)*up to date/,
    );
    // Reverting drops the tables with their rows: not without --yes.
    const unconfirmed = await cli(['migrate', 'down', '--all', ...url]);
    expect(unconfirmed).toMatchObject({ code: 2, stdout: '' });
    expect(unconfirmed.stderr).toContain('--yes');
    expect((await cli(['migrate', 'down', ...url])).code).toBe(2);
    expect((await cli(['migrate', 'status', ...url])).stdout).toContain('up to date');
    const down = await cli(['migrate', 'down', '--all', '--yes', ...url]);
    expect(down).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/reverted Migration\d+_init/),
    });
    status = await cli(['migrate', 'status', ...url]);
    expect(status.stdout).toMatch(
      /pending {2}Migration\d+_init\n(?: {2}pending {2}Migration\d+_\w+\n)*\d+ pending/,
    );
    // Without the tables, reading fails at once with the command that fixes it.
    const missing = await cli(['audit', 'query', ...url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('npx lockwatch migrate up');
    const up = await cli(['migrate', 'up', ...url]);
    expect(up).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^applied Migration\d+_init/),
    });
    expect((await cli(['migrate', 'status', ...url])).stdout).toContain('up to date');
  });

  it('audit query prints a table or JSON with filters and a next-page cursor; purge deletes by age', async () => {
    const db = await openSqlDatabase({ url: target.url() });
    await db.orm.em.fork().getConnection().execute('delete from lockwatch_audit_log');
    const records = Array.from({ length: 30 }, (_, i) => auditRecord(i));
    await createSqlAuditSink(db).write(records);
    await db.close();
    const url = ['--url', target.url()];

    const table = await cli(['audit', 'query', ...url, '--ip', '198.51.100.1', '--limit', '3']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^time +ip +user +method +endpoint +status +ms +flags +id$/);
    expect(lines).toHaveLength(5);
    expect(lines[1]).toContain('/api/items/29');
    const cursor = /--cursor (\S+)/.exec(table.stdout)?.[1];
    expect(cursor).toBeDefined();

    const next = await cli([
      'audit',
      'query',
      ...url,
      '--ip',
      '198.51.100.1',
      '--format',
      'json',
      '--cursor',
      cursor!,
      '--limit',
      '3',
      '--total',
    ]);
    const page = JSON.parse(next.stdout);
    expect(page.records.map((r: { endpoint: string }) => r.endpoint)).toEqual([
      '/api/items/17',
      '/api/items/13',
      '/api/items/9',
    ]);
    expect(page.total).toBe(8);

    const flagged = await cli([
      'audit',
      'query',
      ...url,
      '--rate-limited',
      '--status',
      '200-299',
      '--format',
      'json',
      '--from',
      String(t0),
      '--to',
      new Date(t0 + 29_000).toISOString(),
    ]);
    expect(JSON.parse(flagged.stdout).records.map((r: { endpoint: string }) => r.endpoint)).toEqual(
      records
        .filter((r) => r.rateLimitHit && r.statusCode < 300 && r.timestamp < t0 + 29_000)
        .map((r) => r.endpoint)
        .reverse(),
    );

    // An option purge does not use is refused, not ignored: nothing is deleted.
    const narrowed = await cli([
      'audit',
      'purge',
      ...url,
      '--older-than',
      '80s',
      '--ip',
      '198.51.100.1',
    ]);
    expect(narrowed).toMatchObject({ code: 2, stdout: '' });
    expect(narrowed.stderr).toContain("'audit purge' does not take --ip");

    // "now" is t0 + 100 s: older than 80 s means before t0 + 20 s.
    const purge = await cli(['audit', 'purge', ...url, '--older-than', '80s']);
    expect(purge).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('deleted 20 audit record(s)'),
    });
    const left = await cli(['audit', 'query', ...url, '--format', 'json']);
    expect(JSON.parse(left.stdout).records).toHaveLength(10);
  });

  it('refuses a NUL character in a filter as a bad filter, not as the database being down', async () => {
    const db = await target.open();
    try {
      const reader = createSqlAuditReader(db);
      for (const filter of ['ip', 'userId', 'endpointPrefix', 'method'] as const) {
        const error = await reader.query({ [filter]: 'a\0b' }).catch((e: unknown) => e);
        expect(error, filter).toBeInstanceOf(InvalidOptionError);
        expect((error as InvalidOptionError).option).toBe(filter);
      }
    } finally {
      await db.close();
    }
  });
}

describe('lockwatch CLI: SQLite file', () => commands(sqliteTarget()));

const pg = postgresAvailable();
if (pg.available) {
  describe('lockwatch CLI: PostgreSQL', () => commands(postgresTarget()));

  describe('lockwatch CLI: PostgreSQL URL settings', () => {
    const target = postgresTarget();
    it('honours sslmode=require in --url: no unencrypted connection to a server without TLS', async () => {
      const [row] = (await adminQuery(target.url(), 'show ssl')) as { ssl: string }[];
      const url = new URL(target.url());
      url.search = 'sslmode=require';
      const result = await cli(['migrate', 'status', '--url', url.href]);
      if (row?.ssl === 'off') {
        expect(result.code).toBe(1);
        expect(result.stderr).toContain('does not support SSL');
      } else {
        expect(result.code === 0 || /certificate/i.test(result.stderr)).toBe(true);
      }
    });
  });
}

describe('lockwatch CLI: usage and bad input', () => {
  it('prints help, and exits 2 on an unknown command or option', async () => {
    expect(await cli(['--help'])).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('Usage: lockwatch'),
    });
    expect((await cli([])).code).toBe(2);
    expect(await cli(['migrate', 'sideways'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("unknown command 'migrate sideways'"),
    });
    expect((await cli(['audit', 'query', '--colour'])).code).toBe(2);
  });

  it('names the accepted URL forms for an unknown scheme or an unparsable URL', async () => {
    for (const url of [
      'mysql://root@localhost/db',
      'postgres://exa mple:5432/db',
      'not a url',
      'sqlite:',
    ]) {
      const result = await cli(['migrate', 'status', '--url', url]);
      expect(result.code, url).toBe(2);
      expect(result.stderr).toContain('Invalid option url');
      expect(result.stderr).toContain("'postgres://user:password@host:5432/database'");
    }
  });

  it('rejects bad filter values naming the flag, before connecting', async () => {
    for (const [flag, value] of [
      ['--status', 'teapot'],
      ['--from', 'yesterday-ish'],
      ['--limit', 'many'],
      ['--format', 'xml'],
      ['--cursor', 'forged'],
    ] as const) {
      // The URL points nowhere: a connection attempt would fail differently (exit 1).
      const result = await cli([
        'audit',
        'query',
        '--url',
        'postgres://127.0.0.1:1/none',
        flag,
        value,
      ]);
      expect(result.code, flag).toBe(2);
      expect(result.stderr, flag).toMatch(
        flag === '--cursor' ? /option cursor/ : new RegExp(`option ${flag}`),
      );
    }
    const purge = await cli(['audit', 'purge', '--url', 'postgres://127.0.0.1:1/none']);
    expect(purge).toMatchObject({ code: 2, stderr: expect.stringContaining('--older-than') });
    const everything = await cli([
      'audit',
      'purge',
      '--url',
      'postgres://127.0.0.1:1/none',
      '--older-than',
      '0s',
    ]);
    expect(everything).toMatchObject({ code: 2, stderr: expect.stringContaining('--older-than') });
  });

  it('refuses an option the command does not use, before connecting', async () => {
    for (const [args, refused] of [
      [['audit', 'purge', '--older-than', '90d', '--ip', '1.2.3.4'], '--ip'],
      [['audit', 'query', '--older-than', '90d'], '--older-than'],
      [['migrate', 'up', '--all'], '--all'],
      [['migrate', 'status', '--format', 'json'], '--format'],
      [['migrate', 'up', '--yes'], '--yes'],
    ] as const) {
      const result = await cli([...args, '--url', 'postgres://127.0.0.1:1/none']);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(`'${args[0]} ${args[1]}' does not take ${refused}`);
    }
    expect(usage).toContain('--yes');
  });

  it('a PostgreSQL URL setting node-postgres would ignore is bad usage, before connecting', async () => {
    const result = await cli([
      'migrate',
      'status',
      '--url',
      'postgres://app:s3cret@127.0.0.1:1/audit?connect_timeout=5',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no 'connect_timeout' setting");
    expect(result.stderr).not.toContain('s3cret');
  });

  it('reads every all-digit --from and --to as epoch ms, however short', () => {
    const now = t0;
    expect(parseTime('--from', '0', now)).toBe(0);
    expect(parseTime('--from', '999', now)).toBe(999);
    expect(parseTime('--to', '20240101', now)).toBe(20_240_101);
    expect(parseTime('--to', String(t0), now)).toBe(t0);
    expect(parseTime('--from', '2024-01-01T00:00:00Z', now)).toBe(Date.UTC(2024, 0, 1));
    expect(parseTime('--from', '1h', now)).toBe(t0 - 3_600_000);
  });

  it('says it cannot connect, naming the database without its password', async () => {
    const result = await cli([
      'migrate',
      'status',
      '--url',
      'postgres://app:s3cret@127.0.0.1:1/audit',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'Cannot connect to PostgreSQL postgresql://app:***@127.0.0.1:1/audit',
    );
    expect(result.stderr).not.toContain('s3cret');
  });
});
