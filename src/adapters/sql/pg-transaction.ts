import type { PostgresNative, PostgresPoolClient } from './native.ts';

/** An error the server answered with (it has a SQLSTATE): the connection itself is fine. */
function isServerError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/** A statement for {@link PgStatements.query}. */
export interface PgStatement {
  readonly text: string;
  readonly values?: unknown[];
  readonly name?: string;
}

/** The statements of one transaction, each under the transaction's timeout. */
export interface PgStatements {
  query<R = unknown>(statement: PgStatement): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * Runs `work` in one transaction on a connection of its own from `pool`,
 * every statement under `timeoutMs` (node-postgres' `query_timeout`):
 * commit when it returns, rollback when the server refused a statement. A
 * connection that failed outside SQL (reset, timeout, a failed rollback) is
 * discarded without a rollback: a statement past its timeout may still be
 * running there, and the rollback would wait behind it. The server rolls
 * the transaction back when the connection closes.
 */
export async function inPgTransaction<T>(
  pool: PostgresNative,
  timeoutMs: number,
  work: (client: PgStatements) => Promise<T>,
): Promise<T> {
  const client: PostgresPoolClient = await pool.connect();
  const statements: PgStatements = {
    query: (statement) => client.query({ ...statement, query_timeout: timeoutMs }),
  };
  let discard = false;
  try {
    await statements.query({ text: 'begin' });
    try {
      const result = await work(statements);
      await statements.query({ text: 'commit' });
      return result;
    } catch (error) {
      if (!isServerError(error)) throw error;
      await statements.query({ text: 'rollback' }).catch(() => {
        discard = true;
      });
      throw error;
    }
  } catch (error) {
    if (!isServerError(error)) discard = true;
    throw error;
  } finally {
    client.release(discard);
  }
}
