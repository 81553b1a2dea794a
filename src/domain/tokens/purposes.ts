import { type Duration, durationOption } from '../config/duration.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { type DerivedKey, deriveKey } from './secrets.ts';

/** How a purpose's tokens behave, as a user writes it. */
export interface PurposeOptions {
  /** Lifetime of a token: 1 s to 30 days. */
  readonly ttl?: Duration | undefined;
  /** A token verifies once; the second time is `token_already_used`. */
  readonly singleUse?: boolean | undefined;
}

/** A validated purpose. */
export interface Purpose {
  /** Name, carried in the `pur` claim and the `kid`. */
  readonly name: string;
  /** Lifetime, ms. */
  readonly ttlMs: number;
  /** Single use. */
  readonly singleUse: boolean;
}

/** Purposes every session manager with a secret knows; options may change them or add more. */
export const builtInPurposes: Readonly<Record<string, Required<PurposeOptions>>> = Object.freeze({
  password_reset: { ttl: '30m', singleUse: true },
  email_change: { ttl: '1h', singleUse: true },
  email_verify: { ttl: '1d', singleUse: true },
  login_mfa: { ttl: '5m', singleUse: true },
});

/** Longest lifetime of a purpose token, ms (30 days): of a purpose, and of one token's `ttl`. */
export const maxPurposeTtlMs = 30 * 86_400_000;

const namePattern = /^[a-z][a-z0-9_]{0,31}$/;
const reservedNames = new Set(['access', 'refresh', 'session', 'purpose']);

/** Validates built-in and user purposes; returns them by name. */
export function definePurposes(options: unknown, path = 'purposes'): Map<string, Purpose> {
  if (
    options !== undefined &&
    (typeof options !== 'object' || options === null || Array.isArray(options))
  ) {
    throw new InvalidOptionError(path, options, 'an object of purpose name to { ttl, singleUse }');
  }
  const merged: Record<string, unknown> = {
    ...builtInPurposes,
    ...(options as object | undefined),
  };
  const purposes = new Map<string, Purpose>();
  for (const [name, value] of Object.entries(merged)) {
    if (!namePattern.test(name) || reservedNames.has(name)) {
      throw new InvalidOptionError(
        `${path}.${name}`,
        name,
        "a name of 1 to 32 characters from a-z, 0-9 and '_', starting with a letter, other than access, refresh, session, purpose",
      );
    }
    if (typeof value !== 'object' || value === null) {
      throw new InvalidOptionError(`${path}.${name}`, value, 'an object with ttl and singleUse');
    }
    const given = value as PurposeOptions;
    const base = builtInPurposes[name];
    const singleUse = given.singleUse ?? base?.singleUse ?? true;
    if (typeof singleUse !== 'boolean') {
      throw new InvalidOptionError(`${path}.${name}.singleUse`, singleUse, 'true or false');
    }
    purposes.set(
      name,
      Object.freeze({
        name,
        ttlMs: durationOption(
          `${path}.${name}.ttl`,
          given.ttl ?? base?.ttl ?? '1h',
          1000,
          maxPurposeTtlMs,
        ),
        singleUse,
      }),
    );
  }
  return purposes;
}

/** A purpose's signing key and every key it verifies with, by kid. */
export interface PurposeKeys {
  /** The purpose. */
  readonly purpose: Purpose;
  /** Kid and key tokens are signed with (from the current master secret). */
  readonly signing: { readonly kid: string; readonly key: DerivedKey['key'] };
  /** Verification keys by kid: one per master secret. */
  readonly verify: ReadonlyMap<string, DerivedKey['key']>;
}

/**
 * Derives each purpose's keys from every master secret (HKDF, info
 * `purpose:<name>`). A kid is `<purpose>.<key id>`, so a token of one
 * purpose names a key that no other purpose holds.
 */
export async function derivePurposeKeys(
  purposes: ReadonlyMap<string, Purpose>,
  secrets: readonly Uint8Array[],
): Promise<Map<string, PurposeKeys>> {
  const out = new Map<string, PurposeKeys>();
  for (const purpose of purposes.values()) {
    const verify = new Map<string, DerivedKey['key']>();
    let signing: PurposeKeys['signing'] | undefined;
    for (const secret of secrets) {
      const derived = await deriveKey(secret, `purpose:${purpose.name}`);
      const kid = `${purpose.name}.${derived.id}`;
      verify.set(kid, derived.key);
      signing ??= { kid, key: derived.key };
    }
    out.set(purpose.name, { purpose, signing: signing!, verify });
  }
  return out;
}
