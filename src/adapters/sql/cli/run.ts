import { parseArgs } from 'node:util';
import { checkQuery } from '../../../domain/audit/query.ts';
import { durationOption } from '../../../domain/config/duration.ts';
import { InvalidOptionError } from '../../../domain/config/errors.ts';
import { isLockWatchError } from '../../../domain/errors.ts';
import type { AuditQuery } from '../../../ports/audit.ts';
import { createSqlAuditReader } from '../audit-reader.ts';
import { defaultDatabaseUrl } from '../config.ts';
import {
  openSqlDatabase,
  type SqlDatabase,
  type SqlDatabaseOptions,
  skipOpenShapeCheck,
} from '../database.ts';
import { SqlSchemaError, SqlSchemaMismatchError } from '../errors.ts';
import { formatJson, formatTable } from './format.ts';

/** Where the CLI writes and what it reads from its environment. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Current time, epoch ms (for relative times such as `--from 1h`). */
  readonly now: () => number;
}

/** The CLI's help text. */
export const usage = `Usage: lockwatch <command> [options]

Commands:
  migrate up                 apply LockWatch's pending migrations
  migrate down --yes [--all] revert the last migration (or all of them): drops LockWatch's
                             tables with their rows (audit log, sessions); --yes confirms
  migrate status             list applied and pending migrations
  audit query [filters]      print audit records, newest first
  audit purge --older-than <duration>
                             delete audit records older than now minus <duration> (e.g. 90d)

Options:
  --url <url>                database URL (default: LOCKWATCH_DATABASE_URL, else ${defaultDatabaseUrl}):
                             sqlite:<file>, sqlite::memory:, postgres://user:pass@host:5432/db
  -h, --help                 show this text

An option the command does not use is an error (exit 2), never ignored.

Filters of audit query:
  --user <id>  --ip <ip>  --endpoint <prefix>  --method <method>
  --status <code | from-to>  e.g. 429 or 500-599
  --from <time>  --to <time> ISO date, epoch ms (any all-digit value), or a duration ago (15m, 1h, 7d)
  --rate-limited             only requests refused by a rate limit
  --anomalies                only requests an anomaly detector flagged
  --limit <n>                page size (default 100, at most 1000)
  --cursor <cursor>          the next page, as printed by the previous one
  --total                    also count all matching records
  --format table|json        output format (default table)
`;

const options = {
  url: { type: 'string' },
  all: { type: 'boolean' },
  yes: { type: 'boolean' },
  user: { type: 'string' },
  ip: { type: 'string' },
  endpoint: { type: 'string' },
  method: { type: 'string' },
  status: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  'rate-limited': { type: 'boolean' },
  anomalies: { type: 'boolean' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  total: { type: 'boolean' },
  format: { type: 'string' },
  'older-than': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The options each command uses besides `--url` and `--help`; any other given is refused. */
const commandOptions: Readonly<Record<string, readonly (keyof typeof options)[]>> = {
  'migrate up': [],
  'migrate down': ['all', 'yes'],
  'migrate status': [],
  'audit query': [
    'user',
    'ip',
    'endpoint',
    'method',
    'status',
    'from',
    'to',
    'rate-limited',
    'anomalies',
    'limit',
    'cursor',
    'total',
    'format',
  ],
  'audit purge': ['older-than'],
};

/** A time argument: ISO date, epoch ms (any all-digit value), or a duration before `now`. */
export function parseTime(option: string, value: string, now: number): number {
  // Every all-digit value is epoch ms: Date.parse would read a short one as a year ('0' is 2000).
  if (/^\d+$/.test(value)) return Number(value);
  if (/^\d+(ms|s|m|h|d)$/.test(value)) {
    return now - durationOption(option, value, 0, 100 * 366 * 86_400_000);
  }
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) {
    throw new InvalidOptionError(
      option,
      value,
      'an ISO date, epoch ms, or a duration such as 1h or 7d',
    );
  }
  return parsed;
}

function parseStatus(value: string): { statusFrom: number; statusTo: number } {
  const match = /^(\d{3})(?:-(\d{3}))?$/.exec(value);
  if (!match)
    throw new InvalidOptionError('--status', value, 'a status code or a range like 500-599');
  return { statusFrom: Number(match[1]), statusTo: Number(match[2] ?? match[1]) };
}

function parseLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new InvalidOptionError('--limit', value, 'a whole number from 1');
  return Number(value);
}

/**
 * Runs the `lockwatch` command line with `args` (without node and the
 * script); returns the exit code: 0 done, 1 failed, 2 bad usage.
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr(`lockwatch: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, action, ...rest] = positionals;
  if (values.help || command === undefined) {
    (values.help ? io.stdout : io.stderr)(usage);
    return values.help ? 0 : 2;
  }
  const known =
    (command === 'migrate' && ['up', 'down', 'status'].includes(action ?? '')) ||
    (command === 'audit' && ['query', 'purge'].includes(action ?? ''));
  if (!known || rest.length > 0) {
    io.stderr(`lockwatch: unknown command '${positionals.join(' ')}'\n\n${usage}`);
    return 2;
  }
  const name = `${command} ${action}`;
  // An option the command would ignore is refused: `audit purge --older-than 90d --ip 1.2.3.4`
  // must not delete every old record while its author believes it deletes one IP's.
  const unused = Object.keys(values).filter(
    (key) => key !== 'url' && !commandOptions[name]!.includes(key as keyof typeof options),
  );
  if (unused.length > 0) {
    io.stderr(
      `lockwatch: '${name}' does not take ${unused.map((key) => `--${key}`).join(', ')}\n\n${usage}`,
    );
    return 2;
  }
  if (name === 'migrate down' && values.yes !== true) {
    io.stderr(
      `lockwatch: 'migrate down${values.all ? ' --all' : ''}' drops LockWatch's tables and their rows (${
        values.all ? 'audit log, rate-limit windows, sessions' : 'those of the last migration'
      }): run it again with --yes to confirm\n`,
    );
    return 2;
  }
  const url = values.url ?? io.env.LOCKWATCH_DATABASE_URL ?? defaultDatabaseUrl;
  let db: SqlDatabase | undefined;
  try {
    // Arguments are checked before anything connects, so a typo costs no connection attempt.
    const now = io.now();
    let cutoff = 0;
    let query: AuditQuery = {};
    const format = values.format ?? 'table';
    if (command === 'audit' && action === 'purge') {
      const olderThan = values['older-than'];
      if (olderThan === undefined) {
        throw new InvalidOptionError('--older-than', olderThan, 'a duration such as 90d');
      }
      // Not 0: `--older-than 0` would empty the whole audit log by a slip.
      cutoff = now - durationOption('--older-than', olderThan, 1000, 100 * 366 * 86_400_000);
    } else if (command === 'audit') {
      if (format !== 'table' && format !== 'json') {
        throw new InvalidOptionError('--format', format, "'table' or 'json'");
      }
      query = {
        userId: values.user,
        ip: values.ip,
        endpointPrefix: values.endpoint,
        method: values.method,
        ...(values.status === undefined ? {} : parseStatus(values.status)),
        from: values.from === undefined ? undefined : parseTime('--from', values.from, now),
        to: values.to === undefined ? undefined : parseTime('--to', values.to, now),
        rateLimitHitsOnly: values['rate-limited'],
        anomaliesOnly: values.anomalies,
        limit: parseLimit(values.limit),
        cursor: values.cursor,
        includeTotal: values.total,
      };
      checkQuery(query);
    }
    db = await openSqlDatabase(
      command === 'migrate'
        ? ({ url, migrate: 'off', [skipOpenShapeCheck]: true } as SqlDatabaseOptions)
        : { url, migrate: 'check' },
    );
    if (command === 'migrate') return await migrate(db, action!, values.all === true, io);
    const reader = createSqlAuditReader(db);
    if (action === 'purge') {
      const deleted = await reader.purgeOlderThan(cutoff);
      io.stdout(
        `deleted ${deleted} audit record(s) older than ${new Date(cutoff).toISOString()}\n`,
      );
      return 0;
    }
    const page = await reader.query(query);
    io.stdout(format === 'json' ? formatJson(page) : formatTable(page));
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`lockwatch: ${message}\n`);
    return isLockWatchError(error) && error.code === 'invalid_option' ? 2 : 1;
  } finally {
    await db?.close();
  }
}

async function migrate(db: SqlDatabase, action: string, all: boolean, io: CliIo): Promise<number> {
  if (action === 'status') {
    const { executed, pending } = await db.migrationStatus();
    io.stdout(`${db.description}\n`);
    for (const name of executed) io.stdout(`  applied  ${name}\n`);
    for (const name of pending) io.stdout(`  pending  ${name}\n`);
    io.stdout(pending.length === 0 ? 'up to date\n' : `${pending.length} pending\n`);
    try {
      await db.assertMigrated();
    } catch (error) {
      // Pending migrations are listed above; a table of another shape is said after the list.
      if (!(error instanceof SqlSchemaMismatchError)) {
        if (error instanceof SqlSchemaError) return 0;
        throw error;
      }
      io.stderr(`lockwatch: ${error.message}\n`);
      return 1;
    }
    return 0;
  }
  const names = action === 'up' ? await db.migrateUp() : await db.migrateDown({ all });
  const verb = action === 'up' ? 'applied' : 'reverted';
  if (names.length === 0) io.stdout(`nothing to do on ${db.description}\n`);
  for (const name of names) io.stdout(`${verb} ${name}\n`);
  return 0;
}
