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
 * How long node-postgres waits for a statement's answer before it gives up
 * and closes the connection: the server cancels lock waits at
 * `queryTimeoutMs` itself (`lock_timeout`) and the connection stays usable;
 * this later client-side limit is for a server or network that stopped
 * answering altogether.
 */
export function clientTimeoutMs(queryTimeoutMs: number): number {
  return queryTimeoutMs + 1000;
}

/**
 * Runs `work` in one transaction on a connection of its own from `pool`,
 * every statement under `timeoutMs` of client-side wait (node-postgres'
 * `query_timeout`): commit when it returns, rollback when it throws. A
 * connection on which a statement failed outside SQL (reset, timeout) is
 * discarded without a rollback: the statement may still be running there,
 * and the rollback would wait behind it; the server rolls the transaction
 * back when the connection closes.
 */
export async function inPgTransaction<T>(
  pool: PostgresNative,
  timeoutMs: number,
  work: (client: PgStatements) => Promise<T>,
): Promise<T> {
  const client: PostgresPoolClient = await pool.connect();
  let broken = false;
  const statements: PgStatements = {
    query: <R>(statement: PgStatement) =>
      client.query<R>({ ...statement, query_timeout: timeoutMs }).catch((error: unknown) => {
        if (!isServerError(error)) broken = true;
        throw error;
      }),
  };
  let discard = false;
  try {
    await statements.query({ text: 'begin' });
    try {
      const result = await work(statements);
      await statements.query({ text: 'commit' });
      return result;
    } catch (error) {
      if (!broken) {
        await statements.query({ text: 'rollback' }).catch(() => {
          discard = true;
        });
      }
      throw error;
    }
  } finally {
    client.release(discard || broken);
  }
}
