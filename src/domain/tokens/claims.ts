import { InvalidOptionError } from '../config/errors.ts';
import { TokenExpiredError, TokenInvalidError, TokenNotYetValidError } from './errors.ts';
import { isStorableText } from './store-arguments.ts';

/** Largest NumericDate accepted: 9999-12-31T23:59:59Z. */
export const maxNumericDate = 253_402_300_799;

/** Longest string claim (`sub`, `jti`, `sid`, `client_id`, `iss`, ...) accepted, characters. */
export const maxClaimLength = 256;

/** Claim names LockWatch sets itself; custom claims may not use them. */
export const reservedClaims: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'sid',
  'client_id',
  'scope',
  'roles',
  'pur',
  'auth_time',
  'acr',
  'amr',
  'azp',
  'cnf',
  'act',
  'may_act',
  'nonce',
  'typ',
]);

/** Time claims of a verified token, in NumericDate seconds. */
export interface TimeClaims {
  readonly iat: number;
  readonly exp: number;
  readonly nbf?: number | undefined;
}

/** Returns `value` when it is a NumericDate: an integer from 0 to {@link maxNumericDate}. */
function numericDate(
  payload: Record<string, unknown>,
  name: string,
  required: boolean,
): number | undefined {
  const value = payload[name];
  if (value === undefined && !required) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 0 ||
    value > maxNumericDate
  ) {
    throw new TokenInvalidError(`claim.${name}`);
  }
  return value;
}

/** Returns the claim when it is a non-empty string of at most {@link maxClaimLength} characters. */
export function stringClaim(
  payload: Record<string, unknown>,
  name: string,
  required: boolean,
): string | undefined {
  const value = payload[name];
  if (value === undefined && !required) return undefined;
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > maxClaimLength ||
    !isStorableText(value)
  ) {
    throw new TokenInvalidError(`claim.${name}`);
  }
  return value;
}

/**
 * Checks `iat`, `nbf` and `exp` (structure first, then time). Valid at
 * `now` (epoch ms) exactly when `nbf·1000 − tolerance ≤ now < exp·1000 +
 * tolerance`, with `iat ≤ exp`, `nbf ≤ exp`, and `iat` not later than
 * `now + tolerance` (a token from the future was not issued by a
 * well-behaved clock).
 */
export function checkTimes(
  payload: Record<string, unknown>,
  now: number,
  toleranceMs: number,
): TimeClaims {
  const iat = numericDate(payload, 'iat', true)!;
  const exp = numericDate(payload, 'exp', true)!;
  const nbf = numericDate(payload, 'nbf', false);
  if (exp <= iat) throw new TokenInvalidError('claim.exp');
  if (nbf !== undefined && nbf > exp) throw new TokenInvalidError('claim.nbf');
  if (iat * 1000 > now + toleranceMs) throw new TokenInvalidError('claim.iat');
  if (now >= exp * 1000 + toleranceMs) throw new TokenExpiredError();
  if (nbf !== undefined && now < nbf * 1000 - toleranceMs) throw new TokenNotYetValidError();
  return { iat, exp, nbf };
}

/** True when `aud` (a string or array of strings) names one of `accepted`. */
export function audienceMatches(aud: unknown, accepted: readonly string[]): boolean {
  if (typeof aud === 'string') return accepted.includes(aud);
  if (!Array.isArray(aud) || aud.length === 0 || aud.length > 32) return false;
  let match = false;
  for (const entry of aud) {
    if (typeof entry !== 'string') return false;
    if (accepted.includes(entry)) match = true;
  }
  return match;
}

/** Validates custom claims given to an issuing call; returns a plain copy. */
export function customClaimsOption(option: string, claims: unknown): Record<string, unknown> {
  if (claims === undefined) return {};
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new InvalidOptionError(option, claims, 'an object of JSON values');
  }
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (reservedClaims.has(name)) {
      throw new InvalidOptionError(
        `${option}.${name}`,
        value,
        'a claim name LockWatch does not set itself',
      );
    }
    if (value === undefined) continue;
    out[name] = value;
  }
  try {
    JSON.stringify(out);
  } catch {
    throw new InvalidOptionError(option, claims, 'JSON-serialisable values');
  }
  return out;
}

/** Splits an OAuth scope (a string of space-separated tokens, or an array of them) into its tokens. */
export function scopeTokens(option: string, scope: unknown): string[] {
  if (scope === undefined) return [];
  const list = typeof scope === 'string' ? scope.split(' ').filter((s) => s !== '') : scope;
  if (
    !Array.isArray(list) ||
    !list.every((s) => typeof s === 'string' && /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))
  ) {
    throw new InvalidOptionError(
      option,
      scope,
      'scope tokens (printable ASCII without space, " or \\)',
    );
  }
  return [...new Set(list as string[])];
}

/** Validates a list of role names. */
export function rolesOption(option: string, roles: unknown): string[] | undefined {
  if (roles === undefined) return undefined;
  if (
    !Array.isArray(roles) ||
    !roles.every((r) => typeof r === 'string' && r.length > 0 && r.length <= maxClaimLength)
  ) {
    throw new InvalidOptionError(
      option,
      roles,
      `an array of non-empty strings up to ${maxClaimLength} characters`,
    );
  }
  return [...roles];
}
