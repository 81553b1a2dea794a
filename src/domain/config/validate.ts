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

/**
 * The keys an options object may have: `true` for an option whose value is
 * not looked into here, a nested shape for an object option (checked when
 * the value given is a plain object, so `false` or a function still pass).
 */
export interface KeyShape {
  readonly [key: string]: KeyShape | true;
}

/**
 * Throws when `value`, or an object nested in it, has a key its shape does
 * not name. The error names the full path (`http.rotues`) and suggests the
 * key that was probably meant: a misspelt option would otherwise be ignored
 * without a word, and a guard or a limit never installed. The value of an
 * unknown string key is not shown: it may be a secret under a misspelt name.
 */
export function knownKeysOption(path: string, value: unknown, shape: KeyShape): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const known = Object.keys(shape);
  for (const key of Object.keys(value)) {
    const option = path === '' ? key : `${path}.${key}`;
    const inner = (value as Record<string, unknown>)[key];
    const nested = Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (nested === undefined) {
      const meant = closest(key, known);
      throw new InvalidOptionError(
        option,
        typeof inner === 'string' ? '(not shown)' : inner,
        `no such option${meant === undefined ? '' : ` (did you mean ${path === '' ? meant : `${path}.${meant}`}?)`}; known here: ${known.join(', ')}`,
      );
    }
    if (nested !== true) knownKeysOption(option, inner, nested);
  }
}

// The known key a typo most likely meant: same letters in another case, or at most two edits away.
function closest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(key.length / 3));
  for (const candidate of known) {
    if (candidate.toLowerCase() === lower) return candidate;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= bestDistance) {
      best = candidate;
      bestDistance = distance - 1;
    }
  }
  return best;
}

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours.
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0]![j] = j;
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
