import { InvalidOptionError } from './errors.ts';

/** Returns `value` when it is an integer in [min, max]; otherwise throws naming `option`. */
export function integerOption(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(option, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

/** Returns `value` when it is one of `choices`; otherwise throws naming `option`. */
export function choiceOption<T extends string>(
  option: string,
  value: unknown,
  choices: readonly T[],
): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new InvalidOptionError(
      option,
      value,
      `one of ${choices.map((c) => `'${c}'`).join(', ')}`,
    );
  }
  return value as T;
}

/** Returns `value` when it is a non-empty string matching `pattern`; otherwise throws. */
export function nameOption(
  option: string,
  value: unknown,
  pattern: RegExp,
  accepted: string,
): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new InvalidOptionError(option, value, accepted);
  }
  return value;
}
