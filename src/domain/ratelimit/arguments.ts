import { InvalidOptionError } from '../config/errors.ts';
import { isDefinedPolicy, validateCost } from './policy.ts';
import type { Policy } from './types.ts';

/**
 * Checks the arguments every WindowStore call receives: a string subject, a
 * non-empty list of policies made by `definePolicy`, and an integer cost.
 * Stores call it first so that bad input is a typed error, not corrupt state.
 */
export function validateCall(subject: unknown, policies: unknown, cost: unknown): void {
  if (typeof subject !== 'string') {
    throw new InvalidOptionError('subject', subject, 'a string');
  }
  if (!Array.isArray(policies) || policies.length === 0) {
    throw new InvalidOptionError(
      'policies',
      policies,
      'a non-empty array of policies from definePolicy()',
    );
  }
  for (let i = 0; i < policies.length; i++) {
    if (!isDefinedPolicy(policies[i] as Policy)) {
      throw new InvalidOptionError(
        `policies[${i}]`,
        policies[i],
        'a policy returned by definePolicy()',
      );
    }
  }
  validateCost(cost);
}
