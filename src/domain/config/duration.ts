import { InvalidOptionError } from './errors.ts';

const units: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const pattern = /^(\d+)(ms|s|m|h|d)$/;

/** A duration: integer milliseconds, or a string such as `500ms`, `10s`, `15m`, `1h`, `7d`. */
export type Duration = number | string;

/**
 * Converts a {@link Duration} to integer milliseconds within [min, max],
 * throwing an error that names `option` otherwise.
 */
export function durationOption(option: string, value: unknown, min: number, max: number): number {
  let ms: number | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) ms = value;
  else if (typeof value === 'string') {
    const match = pattern.exec(value.trim());
    if (match) ms = Number(match[1]) * (units[match[2]!] ?? Number.NaN);
  }
  if (ms === undefined || !Number.isSafeInteger(ms) || ms < min || ms > max) {
    throw new InvalidOptionError(
      option,
      value,
      `a duration from ${min} ms to ${max} ms: integer milliseconds or a string like '500ms', '10s', '15m', '1h', '7d'`,
    );
  }
  return ms;
}
