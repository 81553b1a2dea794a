import type { PostgresNative, PostgresPoolClient } from './native.ts';

/**
 * An error the server answered with: the connection itself is fine. pg's
 * DatabaseError carries the server's severity; Node's socket errors (EPIPE)
 * have a five-letter code too, so the code alone does not tell.
 */
function isServerError(error: unknown): boolean {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return typeof severity === 'string' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
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
 * How long node-postgres waits for the answer to a statement inside one of
 * LockWatch's transactions: the server cancels a lock wait at
 * `queryTimeoutMs` itself (`SET LOCAL lock_timeout`) and the connection
 * stays usable; this later client-side limit is for a server or network
 * that stopped answering altogether.
 */
export function transactionClientTimeoutMs(queryTimeoutMs: number): number {
  return queryTimeoutMs + 1000;
}

/**
 * Runs `work` in one transaction on a connection of its own from `pool`.
 * The transaction sets `lock_timeout` to `queryTimeoutMs` for itself (in
 * the same round trip as BEGIN, and per transaction rather than per
 * connection, which poolers such as PgBouncer would refuse or leak), so a
 * statement stuck behind another session's lock is cancelled by the server
 * and rolled back cleanly. Every statement also gives up client-side a
 * second later (node-postgres' `query_timeout`). Commit when `work` returns,
 * rollback when it throws. A connection on which a statement failed outside
 * SQL (reset, timeout) is discarded without a rollback: the statement may
 * still be running there, and the rollback would wait behind it; the server
 * rolls the transaction back once it notices the connection closed.
 */
export async function inPgTransaction<T>(
  pool: PostgresNative,
  queryTimeoutMs: number,
  work: (client: PgStatements) => Promise<T>,
): Promise<T> {
  const client: PostgresPoolClient = await pool.connect();
  const timeoutMs = transactionClientTimeoutMs(queryTimeoutMs);
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
    // BEGIN and SET LOCAL in one simple query: one round trip. Should the SET fail, the rollback
    // below ends the transaction BEGIN opened before the connection goes back to the pool.
    await statements.query({
      text: `begin; set local lock_timeout = ${Math.trunc(queryTimeoutMs)}`,
    });
    const result = await work(statements);
    // A statement that failed on the wire and whose error `work` swallowed: never commit there.
    if (broken) throw new Error('the PostgreSQL connection failed during the transaction');
    await statements.query({ text: 'commit' });
    return result;
  } catch (error) {
    if (!broken) {
      await statements.query({ text: 'rollback' }).catch(() => {
        discard = true;
      });
    }
    throw error;
  } finally {
    client.release(discard || broken);
  }
}
