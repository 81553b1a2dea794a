import { type Duration, durationOption } from '../config/duration.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { choiceOption, integerOption, nameOption } from '../config/validate.ts';
import type { Algorithm, Policy, PolicyMode } from './types.ts';

/** Options of one rate-limit policy, as a user writes them. */
export interface PolicyOptions {
  /** Unique name: letters, digits, `.`, `_`, `-`; at most 64 characters. */
  readonly name: string;
  /** Units per window: an integer from 1 to 1,000,000,000. */
  readonly limit: number;
  /** Window length: integer ms or a string like `60s`; from 1 ms to 366 days. */
  readonly window: Duration;
  /** Algorithm; `gcra` by default. */
  readonly algorithm?: Algorithm | undefined;
  /** gcra only: units that may arrive at once (1..limit·100); `limit` by default. */
  readonly burst?: number | undefined;
  /** `enforce` (default) or `observe`. */
  readonly mode?: PolicyMode | undefined;
}

/** Every algorithm name, in documentation order. */
export const algorithms: readonly Algorithm[] = [
  'gcra',
  'sliding-window',
  'fixed-window',
  'sliding-log',
];

const maxLimit = 1_000_000_000;
const maxWindowMs = 366 * 86_400_000;
// Keeps every product the step functions form (limit × window, burst × window)
// an exact integer in IEEE doubles, in JavaScript and in Redis Lua alike.
const maxProduct = 2 ** 52;

/** Validates `options` and returns an immutable policy; throws InvalidOptionError naming the option. */
export function definePolicy(options: PolicyOptions, path = 'policy'): Policy {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(path, options, 'an object with name, limit and window');
  }
  const name = nameOption(
    `${path}.name`,
    options.name,
    /^[A-Za-z0-9._-]{1,64}$/,
    "1 to 64 characters from A-Z, a-z, 0-9, '.', '_', '-'",
  );
  const limit = integerOption(`${path}.limit`, options.limit, 1, maxLimit);
  const windowMs = durationOption(`${path}.window`, options.window, 1, maxWindowMs);
  const algorithm = choiceOption(`${path}.algorithm`, options.algorithm ?? 'gcra', algorithms);
  const mode = choiceOption(`${path}.mode`, options.mode ?? 'enforce', ['enforce', 'observe']);
  let burst = limit;
  if (options.burst !== undefined) {
    if (algorithm !== 'gcra') {
      throw new InvalidOptionError(
        `${path}.burst`,
        options.burst,
        "no burst unless algorithm is 'gcra'",
      );
    }
    burst = integerOption(`${path}.burst`, options.burst, 1, limit * 100);
  }
  if (Math.max(limit, burst) * windowMs > maxProduct) {
    throw new InvalidOptionError(
      `${path}.window`,
      options.window,
      `a window whose product with limit and burst stays below 2^52 (limit ${limit}, burst ${burst})`,
    );
  }
  const policy: Policy = Object.freeze({ name, limit, windowMs, algorithm, burst, mode });
  validated.add(policy);
  return policy;
}

const validated = new WeakSet<Policy>();

/** Validates a list of policies for one subject: at least one, names unique. */
export function definePolicies(
  options: readonly (PolicyOptions | Policy)[],
  path = 'policies',
): readonly Policy[] {
  if (!Array.isArray(options) || options.length === 0) {
    throw new InvalidOptionError(path, options, 'a non-empty array of policies');
  }
  const seen = new Set<string>();
  const policies = options.map((option, index) => {
    const policy = isPolicy(option) ? option : definePolicy(option, `${path}[${index}]`);
    if (seen.has(policy.name)) {
      throw new InvalidOptionError(
        `${path}[${index}].name`,
        policy.name,
        'a name not used by another policy',
      );
    }
    seen.add(policy.name);
    return policy;
  });
  return Object.freeze(policies);
}

function isPolicy(value: PolicyOptions | Policy): value is Policy {
  return validated.has(value as Policy);
}

/** True when `value` is a policy returned by {@link definePolicy} (validated, immutable). */
export function isDefinedPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && validated.has(value as Policy);
}

/** The largest cost a policy can ever admit. */
export function capacityOf(policy: Policy): number {
  return policy.algorithm === 'gcra' ? policy.burst : policy.limit;
}

/** Validates a per-call cost: an integer from 0 to 1,000,000,000. */
export function validateCost(cost: unknown, option = 'cost'): number {
  return integerOption(option, cost, 0, maxLimit);
}
