import type { CryptoKey } from 'jose';
import type { Clock } from '../../ports/clock.ts';
import type { TokenStore } from '../../ports/token-store.ts';
import { type Duration, durationOption } from '../config/duration.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { integerOption } from '../config/validate.ts';
import { maxClaimLength } from './claims.ts';
import { defaultMaxTokenBytes } from './jwt.ts';
import { createKeyRing, type KeyOptions, type KeyRing } from './keys.ts';
import {
  definePurposes,
  derivePurposeKeys,
  type PurposeKeys,
  type PurposeOptions,
} from './purposes.ts';
import { deriveKey, type SecretInput, secretsOption } from './secrets.ts';
import { isStorableText } from './store-arguments.ts';
import type { ClaimValidator } from './types.ts';

/** Session-manager options that concern tokens (the store and failure policy are wired around them). */
export interface SessionTokenOptions {
  /** `iss` of every token, and the only issuer accepted. */
  readonly issuer: string;
  /** Accepted audiences; tokens are issued for the first unless an issue call names another. */
  readonly audience: string | readonly string[];
  /** The key ring (at least one key; the first that can sign signs unless `signingKid` says otherwise). */
  readonly keys: readonly KeyOptions[];
  /** Kid of the signing key. */
  readonly signingKid?: string | undefined;
  /** Default `client_id` claim; the issuer by default. */
  readonly clientId?: string | undefined;
  /** Access-token lifetime: 10 s to 1 day; 15 minutes by default. */
  readonly accessTokenTtl?: Duration | undefined;
  /** Refresh-token lifetime, renewed on every rotation: 1 minute to 366 days; 7 days by default. */
  readonly refreshTokenTtl?: Duration | undefined;
  /** Absolute session lifetime, whatever the rotations: 1 minute to 366 days; 30 days by default. */
  readonly sessionMaxAge?: Duration | undefined;
  /**
   * How long a just-rotated refresh token still returns the same new pair,
   * for clients that send concurrent refreshes: 0 (off, the default) to 60 s.
   * Needs `secret`.
   */
  readonly refreshGrace?: Duration | undefined;
  /** Allowed clock difference when checking exp, nbf and iat: 0 (the default) to 5 minutes. */
  readonly clockTolerance?: Duration | undefined;
  /** Tokens longer than this are refused before any parsing: 1,024 to 65,536; 8,192 by default. */
  readonly maxTokenBytes?: number | undefined;
  /**
   * Master secret (at least 32 bytes), or a list with the current first:
   * derives the per-purpose keys and the refresh-successor key. Required for
   * purpose tokens and for a refresh grace period; share it between servers.
   */
  readonly secret?: SecretInput | readonly SecretInput[] | undefined;
  /** Purposes besides (or overriding) the built-in ones. */
  readonly purposes?: Readonly<Record<string, PurposeOptions>> | undefined;
  /** Custom claim checks run on every verified token. */
  readonly validators?: readonly ClaimValidator[] | undefined;
}

/** Validated settings. */
export interface SessionSettings {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly clientId: string;
  readonly accessTtlMs: number;
  readonly refreshTtlMs: number;
  readonly sessionMaxAgeMs: number;
  readonly refreshGraceMs: number;
  readonly toleranceMs: number;
  readonly maxTokenBytes: number;
  /** What verification does when the store cannot answer. */
  readonly failureMode: 'open' | 'closed';
}

/** Everything a session manager is built from. */
export interface SessionManagerParts {
  readonly settings: SessionSettings;
  readonly keyRing: KeyRing;
  /** Per-purpose keys; undefined without a master secret. */
  readonly purposes?: ReadonlyMap<string, PurposeKeys> | undefined;
  /** Key deriving refresh successors; undefined without a master secret (successors are random). */
  readonly refreshKey?: CryptoKey | undefined;
  readonly validators: readonly ClaimValidator[];
  readonly store: TokenStore;
  readonly clock: Clock;
  /** Told when a verification passed without its revocation check (`open` policy). */
  readonly onDegraded?: ((operation: string, error: unknown) => void) | undefined;
  /** Close the store with the manager. */
  readonly ownsStore: boolean;
}

/** Validates a string option of 1 to {@link maxClaimLength} characters. */
export function textOption(option: string, value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > maxClaimLength ||
    !isStorableText(value)
  ) {
    throw new InvalidOptionError(
      option,
      value,
      `a string of 1 to ${maxClaimLength} characters without NUL or unpaired surrogates`,
    );
  }
  return value;
}

/**
 * Validates the token options, imports the keys and derives the purpose and
 * refresh keys, once. Everything async happens here, never per call.
 */
export async function buildSessionParts(
  options: SessionTokenOptions,
  wiring: {
    readonly store: TokenStore;
    readonly clock: Clock;
    readonly failureMode: 'open' | 'closed';
    readonly onDegraded?: ((operation: string, error: unknown) => void) | undefined;
    readonly ownsStore: boolean;
  },
): Promise<SessionManagerParts> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object with issuer, audience and keys');
  }
  const issuer = textOption('issuer', options.issuer);
  const audienceList = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (!Array.isArray(audienceList) || audienceList.length === 0 || audienceList.length > 16) {
    throw new InvalidOptionError('audience', options.audience, 'a string or 1 to 16 strings');
  }
  const audiences = audienceList.map((a, i) => textOption(`audience[${i}]`, a));
  const clientId = textOption('clientId', options.clientId ?? issuer);
  const accessTtlMs = durationOption(
    'accessTokenTtl',
    options.accessTokenTtl ?? '15m',
    10_000,
    86_400_000,
  );
  const refreshTtlMs = durationOption(
    'refreshTokenTtl',
    options.refreshTokenTtl ?? '7d',
    60_000,
    366 * 86_400_000,
  );
  const sessionMaxAgeMs = durationOption(
    'sessionMaxAge',
    options.sessionMaxAge ?? '30d',
    60_000,
    366 * 86_400_000,
  );
  const refreshGraceMs = durationOption('refreshGrace', options.refreshGrace ?? 0, 0, 60_000);
  const toleranceMs = durationOption('clockTolerance', options.clockTolerance ?? 0, 0, 300_000);
  const maxTokenBytes = integerOption(
    'maxTokenBytes',
    options.maxTokenBytes ?? defaultMaxTokenBytes,
    1024,
    65_536,
  );
  const secrets = secretsOption('secret', options.secret);
  if (refreshGraceMs > 0 && secrets === undefined) {
    throw new InvalidOptionError(
      'secret',
      undefined,
      'a master secret when refreshGrace is set (every server must derive the same successor)',
    );
  }
  if (options.purposes !== undefined && secrets === undefined) {
    throw new InvalidOptionError(
      'secret',
      undefined,
      'a master secret when purposes are configured',
    );
  }
  const validators = options.validators ?? [];
  if (!Array.isArray(validators) || !validators.every((v) => typeof v === 'function')) {
    throw new InvalidOptionError('validators', options.validators, 'an array of functions');
  }
  const purposeDefs = definePurposes(options.purposes);
  const keyRing = await createKeyRing({
    keys: options.keys,
    signingKid: options.signingKid,
    clock: wiring.clock,
  });
  const purposes =
    secrets === undefined ? undefined : await derivePurposeKeys(purposeDefs, secrets);
  const refreshKey =
    secrets === undefined ? undefined : (await deriveKey(secrets[0]!, 'refresh')).key;
  return {
    settings: Object.freeze({
      issuer,
      audiences,
      clientId,
      accessTtlMs,
      refreshTtlMs,
      sessionMaxAgeMs,
      refreshGraceMs,
      toleranceMs,
      maxTokenBytes,
      failureMode: wiring.failureMode,
    }),
    keyRing,
    purposes,
    refreshKey,
    validators: [...validators],
    store: wiring.store,
    clock: wiring.clock,
    onDegraded: wiring.onDegraded,
    ownsStore: wiring.ownsStore,
  };
}
