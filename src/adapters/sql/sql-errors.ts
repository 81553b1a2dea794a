import { AuditRecordsRejectedError } from '../../domain/audit/errors.ts';
import { isLockWatchError } from '../../domain/errors.ts';
import { StoreUnavailableError } from '../../domain/failure/errors.ts';
import { SqlSchemaError } from './errors.ts';

/**
 * Sorts a driver error into what callers act on: the records themselves are
 * bad (PostgreSQL classes 22 and 23, SQLite constraint and type errors) →
 * {@link AuditRecordsRejectedError}; the table is missing →
 * {@link SqlSchemaError}; anything else (refused or dropped connection,
 * server shutting down, lock timeout) → {@link StoreUnavailableError}. The
 * original is kept as `cause`; an abort signal's reason passes through.
 */
export function toSqlError(error: unknown, what: string, signal?: AbortSignal): unknown {
  if (signal?.aborted && error === signal.reason) return error;
  if (isLockWatchError(error)) return error;
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (code === '42P01' || /no such table/i.test(message)) {
    return new SqlSchemaError(
      `${what}: LockWatch's tables are missing (${message}). Run \`npx lockwatch migrate up\` for this database.`,
      { cause: error },
    );
  }
  if (
    /^2[23][0-9A-Z]{3}$/.test(code) ||
    code === 'SQLITE_MISMATCH' ||
    code === 'SQLITE_TOOBIG' ||
    (code.startsWith('SQLITE_CONSTRAINT') && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY')
  ) {
    return new AuditRecordsRejectedError(`${what}: the database refused the data (${message}).`, {
      cause: error,
    });
  }
  return new StoreUnavailableError(`${what} failed: ${message}`, { cause: error });
}
