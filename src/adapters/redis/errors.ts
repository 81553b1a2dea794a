import { isLockWatchError } from '../../domain/errors.ts';
import { StoreUnavailableError } from '../../domain/failure/errors.ts';

/**
 * Turns whatever a Redis call rejected with (a refused or reset connection,
 * ioredis' retry limit, CLUSTERDOWN, TRYAGAIN, LOADING, READONLY, a command
 * timeout) into a {@link StoreUnavailableError} carrying the original as
 * `cause`, so failure policies see one error type from every store.
 * LockWatch errors and an abort signal's reason pass through unchanged.
 */
export function toStoreError(error: unknown, signal?: AbortSignal): unknown {
  if (signal?.aborted && error === signal.reason) return error;
  if (isLockWatchError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`Redis call failed: ${message}`, { cause: error });
}
