import { describe, expect, it } from 'vitest';
import { createSqlAuditSink } from '../../../src/adapters/sql/audit-sink.ts';
import { type CliIo, runCli } from '../../../src/adapters/sql/cli/run.ts';
import { openSqlDatabase } from '../../../src/adapters/sql/database.ts';
import { auditRecord } from '../../contracts/audit/index.ts';
import {
  postgresAvailable,
  postgresTarget,
  type SqlTargetFixture,
  sqliteTarget,
} from './harness.ts';

const t0 = 1_700_000_000_000;

async function cli(args: string[], now = t0 + 100_000) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: {},
    now: () => now,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

function commands(target: SqlTargetFixture) {
  it('migrate: status, down, status, up again on a migrated database', async () => {
    const url = ['--url', target.url()];
    expect((await cli(['migrate', 'up', ...url])).stdout).toMatch(/nothing to do|applied/);
    let status = await cli(['migrate', 'status', ...url]);
    expect(status.stdout).toMatch(
      /applied {2}Migration\d+_init\n(?: {2}applied {2}Migration\d+_\w+\n)*up to date/,
    );
    const down = await cli(['migrate', 'down', '--all', ...url]);
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

    // "now" is t0 + 100 s: older than 80 s means before t0 + 20 s.
    const purge = await cli(['audit', 'purge', ...url, '--older-than', '80s']);
    expect(purge).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('deleted 20 audit record(s)'),
    });
    const left = await cli(['audit', 'query', ...url, '--format', 'json']);
    expect(JSON.parse(left.stdout).records).toHaveLength(10);
  });
}

describe('lockwatch CLI: SQLite file', () => commands(sqliteTarget()));

const pg = postgresAvailable();
describe.runIf(pg.available)(`lockwatch CLI: PostgreSQL${pg.note}`, () =>
  commands(postgresTarget()),
);

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
