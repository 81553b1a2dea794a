/**
 * Tries `attempt` again while it fails with an error `retryable` accepts,
 * after `pauseMs(tries)` each time, until `waitMs` has passed since
 * `started` (a `performance.now()` time); then, or on any other error, the
 * error is thrown. Used for waits on other processes (a lock, a migration
 * running elsewhere) that must not block the event loop.
 */
export async function retryWithin<T>(
  started: number,
  waitMs: number,
  retryable: (error: unknown) => boolean,
  pauseMs: (tries: number) => number,
  attempt: () => T | Promise<T>,
): Promise<T> {
  for (let tries = 0; ; tries++) {
    await new Promise<void>((resolve) => setTimeout(resolve, pauseMs(tries)));
    try {
      return await attempt();
    } catch (error) {
      if (!retryable(error) || performance.now() - started >= waitMs) throw error;
    }
  }
}
