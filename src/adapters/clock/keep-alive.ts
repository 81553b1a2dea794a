/**
 * Runs `work` with the process kept alive until it settles. The system
 * clock's timers are unref'd (a server must be able to exit), so a shutdown
 * step that waits on them alone, such as a retry backoff or a drain deadline,
 * would let the event loop empty with the step still pending: under a
 * top-level await the process then exits with code 13 and nothing after the
 * step runs. Only for steps whose every wait is bounded.
 */
export async function whileKeepingAlive<T>(work: () => Promise<T>): Promise<T> {
  const keepAlive = setInterval(() => {}, 3_600_000);
  try {
    return await work();
  } finally {
    clearInterval(keepAlive);
  }
}
