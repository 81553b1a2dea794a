import type { PostgresNative, PostgresPoolClient } from './native.ts';

/** An error the server answered with (it has a SQLSTATE): the connection itself is fine. */
function isServerError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/**
 * Runs `work` in one transaction on a connection of its own from `pool`:
 * commit when it returns, rollback when it throws. A connection that failed
 * outside SQL (reset, timeout, a failed rollback) is discarded, not pooled again.
 */
export async function inPgTransaction<T>(
  pool: PostgresNative,
  work: (client: PostgresPoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let discard = false;
  try {
    await client.query('begin');
    try {
      const result = await work(client);
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => {
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
