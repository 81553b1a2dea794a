import { isAbsolute, resolve } from 'node:path';
import { InvalidOptionError } from '../../domain/config/errors.ts';
import { redactUrl } from '../../domain/config/redact.ts';

/** The SQL engines LockWatch runs on. */
export type SqlEngine = 'sqlite' | 'postgresql';

/** Where a database is, as parsed from a URL. */
export type SqlTarget =
  | {
      readonly engine: 'sqlite';
      /** Absolute file path, or `:memory:`. */
      readonly file: string;
    }
  | {
      readonly engine: 'postgresql';
      /** The connection URL (scheme normalised to `postgresql:`). */
      readonly url: string;
    };

/** The database used when neither an option nor `LOCKWATCH_DATABASE_URL` names one. */
export const defaultDatabaseUrl = 'sqlite:lockwatch.db';

/**
 * Query settings of a PostgreSQL URL that node-postgres honours, and that
 * LockWatch therefore passes to it. libpq knows more (`connect_timeout`,
 * `target_session_attrs`, `sslpassword`, ...), which node-postgres would
 * ignore without a word, connecting otherwise than the URL asks: those are
 * refused instead. So is `schema`: MikroORM would put only its migrations
 * table there, and LockWatch's own statements would not follow it.
 */
const postgresUrlSettings: readonly string[] = [
  'host',
  'port',
  'user',
  'password',
  'sslmode',
  'ssl',
  'sslcert',
  'sslkey',
  'sslrootcert',
  'sslnegotiation',
  'uselibpqcompat',
  'application_name',
  'fallback_application_name',
  'options',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
];

const accepted =
  "a database URL: 'sqlite:<file path>' (such as sqlite:./data/lockwatch.db or sqlite:///var/lib/app/lockwatch.db), 'sqlite::memory:', or 'postgres://user:password@host:5432/database'";

/**
 * Parses a database URL. `sqlite:` takes a file path (relative paths are
 * resolved against `cwd`), `sqlite:///abs/path` an absolute one;
 * `postgres:` and `postgresql:` URLs are passed to the driver as they are,
 * query settings included (only those node-postgres honours: any other is
 * refused, naming it).
 * Anything else throws an InvalidOptionError that shows the accepted forms.
 */
export function parseDatabaseUrl(
  value: unknown,
  option = 'url',
  cwd: string = process.cwd(),
): SqlTarget {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidOptionError(option, value, accepted);
  }
  const url = value.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite' || scheme === 'sqlite3') {
    let path = url.slice(scheme.length + 1);
    if (path.startsWith('//')) path = path.slice(2);
    path = decodeURIComponent(path.split('?')[0]!);
    if (path === '') throw new InvalidOptionError(option, value, accepted);
    if (path === ':memory:') return { engine: 'sqlite', file: path };
    return { engine: 'sqlite', file: isAbsolute(path) ? path : resolve(cwd, path) };
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidOptionError(option, redact(url), accepted);
    }
    if (parsed.hostname === '' && !parsed.searchParams.has('host')) {
      throw new InvalidOptionError(option, redact(url), accepted);
    }
    for (const setting of new Set(parsed.searchParams.keys())) {
      if (!postgresUrlSettings.includes(setting)) {
        throw new InvalidOptionError(
          option,
          redact(url),
          `no '${setting}' setting: ${setting === 'schema' ? 'LockWatch would not follow it' : 'node-postgres would ignore it'} (LockWatch passes on ${postgresUrlSettings.join(', ')})`,
        );
      }
    }
    const sslmode = parsed.searchParams.get('sslmode');
    if (sslmode === 'prefer' || sslmode === 'allow') {
      // libpq tries TLS and falls back to plain text; node-postgres cannot fall back, and would
      // make it `require` (failing on a server without TLS): say which one is meant instead.
      throw new InvalidOptionError(
        option,
        redact(url),
        `sslmode=require or verify-full (TLS), or sslmode=disable, not sslmode=${sslmode}: node-postgres cannot try TLS and fall back to plain text`,
      );
    }
    parsed.protocol = 'postgresql:';
    return { engine: 'postgresql', url: parsed.href };
  }
  throw new InvalidOptionError(
    option,
    redact(url),
    scheme === undefined ? accepted : `${accepted} (scheme '${scheme}:' is not supported)`,
  );
}

/** The URL without its password (one holding `@`, `/` or `#` included) or query, for messages. */
export function redact(url: string): string {
  return redactUrl(url);
}

/** Where a target is, for messages (no password). */
export function describeTarget(target: SqlTarget): string {
  return target.engine === 'sqlite' ? `SQLite ${target.file}` : `PostgreSQL ${redact(target.url)}`;
}
