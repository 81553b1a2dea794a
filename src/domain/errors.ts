/**
 * The root of every error LockWatch throws. Each area has its own module of
 * subclasses; `code` is stable across versions and safe to branch on.
 */

const brand = Symbol.for('lockwatch.error');

/** Base class of all LockWatch errors; `code` is a stable machine-readable string. */
export class LockWatchError extends Error {
  /** Stable error code, such as `invalid_option` or `store_unavailable`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, brand, { value: true });
  }
}

/**
 * True for any LockWatch error, also one thrown by another copy of the package
 * (a second install in node_modules), where `instanceof` would say false.
 */
export function isLockWatchError(value: unknown): value is LockWatchError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}
