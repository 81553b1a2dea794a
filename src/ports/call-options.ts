/** Options accepted by every port call that may wait on I/O. */
export interface CallOptions {
  /** Aborts the call; the adapter rejects with the signal's reason as soon as it can. */
  readonly signal?: AbortSignal | undefined;
}
