import { LockWatchError } from '../errors.ts';

/** Raised at construction when an option is missing or out of range; names the option. */
export class InvalidOptionError extends LockWatchError {
  /** Dotted path of the offending option, such as `policies[0].limit`. */
  readonly option: string;
  /** The value that was given. */
  readonly value: unknown;
  /** What is accepted, as the message says it. */
  readonly accepted: string;

  constructor(option: string, value: unknown, accepted: string, options?: ErrorOptions) {
    super(
      'invalid_option',
      `Invalid option ${option}: got ${describe(value)}; expected ${accepted}.`,
      options,
    );
    this.option = option;
    this.value = value;
    this.accepted = accepted;
  }
}

/**
 * The same error under the path the user wrote. A part validates its options
 * under its own names (`batchSize`); the code that handed them down knows
 * the full path (`audit.batchSize`), and only that one tells the user where
 * to look. `value` replaces the value (a variable's text for the number it
 * became); the original error is kept as the cause.
 */
export function renameOptionError(
  error: InvalidOptionError,
  option: string,
  value: unknown = error.value,
): InvalidOptionError {
  if (option === error.option && value === error.value) return error;
  return new InvalidOptionError(option, value, error.accepted, { cause: error });
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (value === undefined || value === null) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}
