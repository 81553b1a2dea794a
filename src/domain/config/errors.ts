import { LockWatchError } from '../errors.ts';

/** Raised at construction when an option is missing or out of range; names the option. */
export class InvalidOptionError extends LockWatchError {
  /** Dotted path of the offending option, such as `policies[0].limit`. */
  readonly option: string;
  /** The value that was given. */
  readonly value: unknown;

  constructor(option: string, value: unknown, accepted: string) {
    super(
      'invalid_option',
      `Invalid option ${option}: got ${describe(value)}; expected ${accepted}.`,
    );
    this.option = option;
    this.value = value;
  }
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
