import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  importSPKI,
  type JWK,
} from 'jose';
import type { Clock } from '../../ports/clock.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { encodeBase64url, utf8Bytes } from './encoding.ts';

/** Signature algorithms LockWatch signs and verifies with. */
export type TokenAlgorithm = 'ES256' | 'EdDSA' | 'RS256' | 'PS256' | 'HS256';

/** Every supported algorithm; ES256 is the default. */
export const tokenAlgorithms: readonly TokenAlgorithm[] = [
  'ES256',
  'EdDSA',
  'RS256',
  'PS256',
  'HS256',
];

/**
 * A key as a user supplies it: a `CryptoKey`, a Node `KeyObject`, a JWK
 * object, or PEM text (PKCS#8 private or SPKI public).
 */
export type KeyMaterial = CryptoKey | JWK | string | { readonly type: string };

/** One entry of the key ring as a user writes it. */
export interface KeyOptions {
  /** Key id put in every token's `kid`: 1 to 64 characters from `A-Z a-z 0-9 . _ -`. */
  readonly kid: string;
  /** The algorithm this key is used with; tokens naming another algorithm never verify with it. */
  readonly alg: TokenAlgorithm;
  /** Private key (asymmetric algorithms): needed to sign. */
  readonly privateKey?: KeyMaterial | undefined;
  /** Public key (asymmetric algorithms): derived from `privateKey` when that is a JWK, PEM or an extractable key. */
  readonly publicKey?: KeyMaterial | undefined;
  /** HS256 secret, at least 32 bytes (a string is taken as UTF-8). */
  readonly secret?: string | Uint8Array | undefined;
  /**
   * From this time on (epoch ms or Date) the key verifies nothing: the end
   * of a retired key's grace. Set it to when the key stopped signing plus
   * the longest token lifetime.
   */
  readonly retireAt?: number | Date | undefined;
}

/** A key after import: what signing and verification use, call after call. */
export interface RingKey {
  /** Key id. */
  readonly kid: string;
  /** The only algorithm accepted with this key. */
  readonly alg: TokenAlgorithm;
  /** Signing key, when the ring holds private material for it. */
  readonly signingKey?: CryptoKey | undefined;
  /** Verification key. */
  readonly verifyKey: CryptoKey;
  /** Public JWK for the JWKS document (asymmetric keys only). */
  readonly publicJwk?: JWK | undefined;
  /** Epoch ms from which the key verifies nothing; undefined when never. */
  readonly retireAt?: number | undefined;
}

/** A JWKS document (RFC 7517 §5). */
export interface JsonWebKeySet {
  /** The public keys. */
  readonly keys: readonly JWK[];
}

/** Imported keys by `kid`, and the one that signs. */
export interface KeyRing {
  /** The signing key chosen when the ring was made, undefined for a verify-only ring. */
  readonly signer?: RingKey | undefined;
  /**
   * The key to sign a token issued at `now` (epoch ms) that lives
   * `lifetimeMs`: `signingKid`'s key while it is not retired; otherwise the
   * first key that can sign and does not retire before the token expires,
   * else the first one not retired yet (the token's `exp` is then capped at
   * its `retireAt`). Undefined when no key can sign.
   */
  signerAt(now: number, lifetimeMs: number): RingKey | undefined;
  /** Looks a key up by `kid`; undefined for an unknown kid. */
  get(kid: string): RingKey | undefined;
  /** Every key, signer first. */
  readonly keys: readonly RingKey[];
  /** JWKS of the public keys not retired at `now`. */
  jwks(now: number): JsonWebKeySet;
}

/** Options of {@link createKeyRing}. */
export interface KeyRingOptions {
  /** The keys. */
  readonly keys: readonly KeyOptions[];
  /** Kid of the signing key; by default the first key that can sign. */
  readonly signingKid?: string | undefined;
  /** Option path for error messages; `keys` by default. */
  readonly path?: string | undefined;
  /** Used to refuse a signing key that is already retired. */
  readonly clock?: Clock | undefined;
}

const kidPattern = /^[A-Za-z0-9._-]{1,64}$/;

/** Validates a kid; returns it. */
export function kidOption(option: string, value: unknown): string {
  if (typeof value !== 'string' || !kidPattern.test(value)) {
    throw new InvalidOptionError(
      option,
      value,
      "1 to 64 characters from A-Z, a-z, 0-9, '.', '_', '-'",
    );
  }
  return value;
}

/**
 * Imports every key once (never per call), derives missing public keys,
 * checks that each key suits its algorithm, and picks the signer.
 */
export async function createKeyRing(options: KeyRingOptions): Promise<KeyRing> {
  const path = options.path ?? 'keys';
  if (!Array.isArray(options.keys) || options.keys.length === 0) {
    throw new InvalidOptionError(path, options.keys, 'a non-empty array of keys');
  }
  const imported: RingKey[] = [];
  const byKid = new Map<string, RingKey>();
  for (let i = 0; i < options.keys.length; i++) {
    const key = await importKey(options.keys[i]!, `${path}[${i}]`);
    if (byKid.has(key.kid))
      throw new InvalidOptionError(`${path}[${i}].kid`, key.kid, 'a unique kid');
    byKid.set(key.kid, key);
    imported.push(key);
  }
  let signer: RingKey | undefined;
  if (options.signingKid !== undefined) {
    signer = byKid.get(options.signingKid);
    if (signer?.signingKey === undefined) {
      throw new InvalidOptionError(
        'signingKid',
        options.signingKid,
        'the kid of a key in the ring that has private material (or a secret)',
      );
    }
  } else {
    signer = imported.find(
      (key) =>
        key.signingKey !== undefined &&
        (key.retireAt === undefined || key.retireAt > (options.clock?.now() ?? 0)),
    );
  }
  if (signer?.retireAt !== undefined && options.clock && signer.retireAt <= options.clock.now()) {
    throw new InvalidOptionError('signingKid', signer.kid, 'a key that is not retired');
  }
  const keys = signer ? [signer, ...imported.filter((k) => k !== signer)] : imported;
  // Chosen per token, not once: a key retiring later must stop signing before its tokens would
  // outlive it (verification refuses them from its retireAt on).
  const chosen = options.signingKid !== undefined ? signer : undefined;
  const signing = imported.filter((key) => key.signingKey !== undefined);
  return {
    signer,
    signerAt(now, lifetimeMs) {
      if (chosen !== undefined && (chosen.retireAt === undefined || chosen.retireAt > now)) {
        return chosen;
      }
      return (
        signing.find((key) => key.retireAt === undefined || key.retireAt >= now + lifetimeMs) ??
        signing.find((key) => key.retireAt === undefined || key.retireAt > now)
      );
    },
    keys,
    get: (kid) => byKid.get(kid),
    jwks(now) {
      return {
        keys: keys.flatMap((key) =>
          key.publicJwk !== undefined && (key.retireAt === undefined || key.retireAt > now)
            ? [key.publicJwk]
            : [],
        ),
      };
    },
  };
}

async function importKey(options: KeyOptions, path: string): Promise<RingKey> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(path, options, 'an object with kid, alg and key material');
  }
  const kid = kidOption(`${path}.kid`, options.kid);
  const alg = options.alg;
  if (!tokenAlgorithms.includes(alg)) {
    throw new InvalidOptionError(
      `${path}.alg`,
      alg,
      `one of ${tokenAlgorithms.map((a) => `'${a}'`).join(', ')}`,
    );
  }
  const retireAt = timeOption(`${path}.retireAt`, options.retireAt);
  if (alg === 'HS256') {
    if (options.privateKey !== undefined || options.publicKey !== undefined) {
      throw new InvalidOptionError(
        `${path}.privateKey`,
        'given',
        'no key pair for HS256: use secret',
      );
    }
    const secret = secretBytes(`${path}.secret`, options.secret);
    const hmac = await crypto.subtle.importKey(
      'raw',
      secret as Uint8Array<ArrayBuffer>,
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    return Object.freeze({ kid, alg, signingKey: hmac, verifyKey: hmac, retireAt });
  }
  if (options.secret !== undefined) {
    throw new InvalidOptionError(
      `${path}.secret`,
      'given',
      `no secret for ${alg}: use privateKey/publicKey`,
    );
  }
  if (options.privateKey === undefined && options.publicKey === undefined) {
    throw new InvalidOptionError(
      `${path}.privateKey`,
      undefined,
      `a private or public key for ${alg}`,
    );
  }
  let signingKey: CryptoKey | undefined;
  let publicJwk: JWK | undefined;
  try {
    if (options.privateKey !== undefined) {
      const exported = await toJwk(options.privateKey, alg, 'private');
      signingKey =
        exported.jwk !== undefined
          ? ((await importJWK({ ...exported.jwk, alg }, alg, { extractable: false })) as CryptoKey)
          : exported.key;
      if (exported.jwk !== undefined) publicJwk = publicPart(exported.jwk);
    }
    if (options.publicKey !== undefined) {
      const given = await toJwk(options.publicKey, alg, 'public');
      const jwk = given.jwk ?? (await exportJWK(given.key!));
      const pub = publicPart(jwk);
      if (publicJwk !== undefined && !sameKey(publicJwk, pub)) {
        throw new InvalidOptionError(`${path}.publicKey`, 'given', 'the public half of privateKey');
      }
      publicJwk = pub;
    }
  } catch (error) {
    if (error instanceof InvalidOptionError) throw error;
    throw new InvalidOptionError(
      `${path}.privateKey`,
      'given',
      `key material usable with ${alg} (${(error as Error).message})`,
    );
  }
  if (publicJwk === undefined) {
    throw new InvalidOptionError(
      `${path}.publicKey`,
      undefined,
      'a public key: the private key given cannot be exported to derive it',
    );
  }
  let verifyKey: CryptoKey;
  try {
    verifyKey = (await importJWK({ ...publicJwk, alg }, alg)) as CryptoKey;
  } catch (error) {
    throw new InvalidOptionError(
      `${path}.publicKey`,
      'given',
      `a public key usable with ${alg} (${(error as Error).message})`,
    );
  }
  checkKeySize(alg, verifyKey, path);
  return Object.freeze({
    kid,
    alg,
    signingKey,
    verifyKey,
    publicJwk: Object.freeze({ ...publicJwk, kid, alg, use: 'sig' }),
    retireAt,
  });
}

/** Turns key material into a JWK when it can be exported, else keeps the CryptoKey. */
async function toJwk(
  material: KeyMaterial,
  alg: TokenAlgorithm,
  kind: 'private' | 'public',
): Promise<{ jwk?: JWK; key?: CryptoKey }> {
  if (typeof material === 'string') {
    const pem = material.trim();
    const key =
      kind === 'private'
        ? await importPKCS8(pem, alg, { extractable: true })
        : await importSPKI(pem, alg, { extractable: true });
    return { jwk: await exportJWK(key) };
  }
  if (isCryptoKey(material)) {
    if (material.type !== kind)
      throw new Error(`expected a ${kind} key, got a ${material.type} key`);
    if (material.extractable || kind === 'public') return { jwk: await exportJWK(material) };
    return { key: material };
  }
  if (isKeyObject(material)) {
    if (material.type !== kind)
      throw new Error(`expected a ${kind} key, got a ${material.type} key`);
    return { jwk: await exportJWK(material as Parameters<typeof exportJWK>[0]) };
  }
  if (
    typeof material === 'object' &&
    material !== null &&
    typeof (material as JWK).kty === 'string'
  ) {
    const jwk = material as JWK;
    const isPrivate = typeof jwk.d === 'string';
    if (isPrivate !== (kind === 'private')) {
      throw new Error(`expected a ${kind} JWK`);
    }
    if (jwk.alg !== undefined && jwk.alg !== alg) throw new Error(`the JWK says alg ${jwk.alg}`);
    // Import once to prove the JWK suits the algorithm.
    await importJWK({ ...jwk, alg }, alg);
    return { jwk: { ...jwk } };
  }
  throw new Error('not a CryptoKey, KeyObject, JWK or PEM text');
}

function isCryptoKey(value: unknown): value is CryptoKey {
  return (value as { [Symbol.toStringTag]?: string })?.[Symbol.toStringTag] === 'CryptoKey';
}

function isKeyObject(value: unknown): value is { type: string } {
  return (value as { [Symbol.toStringTag]?: string })?.[Symbol.toStringTag] === 'KeyObject';
}

// The members a public key consists of: anything else a given JWK carries (a private member under
// an unusual name, a note) must never reach the published JWKS.
const publicJwkMembers = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

function publicPart(jwk: JWK): JWK {
  const out: Record<string, unknown> = {};
  for (const name of publicJwkMembers) {
    if (jwk[name] !== undefined) out[name] = jwk[name];
  }
  return out as JWK;
}

function sameKey(a: JWK, b: JWK): boolean {
  return publicJwkMembers.every((f) => a[f] === b[f]);
}

function checkKeySize(alg: TokenAlgorithm, key: CryptoKey, path: string): void {
  if (alg !== 'RS256' && alg !== 'PS256') return;
  const bits = (key.algorithm as { modulusLength?: number }).modulusLength ?? 0;
  if (bits < 2048) {
    throw new InvalidOptionError(
      `${path}.privateKey`,
      `${bits}-bit RSA`,
      'an RSA key of 2048 bits or more',
    );
  }
}

function secretBytes(option: string, value: unknown): Uint8Array {
  const bytes =
    typeof value === 'string' ? utf8Bytes(value) : value instanceof Uint8Array ? value : undefined;
  if (bytes === undefined || bytes.length < 32) {
    throw new InvalidOptionError(
      option,
      value,
      'a secret of at least 32 bytes (string or Uint8Array)',
    );
  }
  return bytes;
}

/** Validates an optional time given as epoch ms or Date; returns epoch ms. */
export function timeOption(option: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) {
    throw new InvalidOptionError(option, value, 'epoch milliseconds or a Date');
  }
  return ms;
}

/** A freshly generated key, exported so that it can be stored and given back as {@link KeyOptions}. */
export interface GeneratedKey {
  /** Key id: the RFC 7638 thumbprint of the public key (or of the secret for HS256). */
  readonly kid: string;
  /** Algorithm. */
  readonly alg: TokenAlgorithm;
  /** Private JWK (asymmetric algorithms). */
  readonly privateKey?: JWK | undefined;
  /** Public JWK (asymmetric algorithms). */
  readonly publicKey?: JWK | undefined;
  /** Base64url secret of 32 random bytes (HS256). */
  readonly secret?: string | undefined;
}

/**
 * Generates a signing key for `alg` (ES256 by default; RSA keys have 2048
 * bits). Keep the result in a secret store; pass it as a {@link KeyOptions}.
 */
export async function generateSigningKey(alg: TokenAlgorithm = 'ES256'): Promise<GeneratedKey> {
  if (!tokenAlgorithms.includes(alg)) {
    throw new InvalidOptionError('alg', alg, `one of ${tokenAlgorithms.join(', ')}`);
  }
  if (alg === 'HS256') {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const secret = encodeBase64url(bytes);
    const kid = (await calculateJwkThumbprint({ kty: 'oct', k: secret })).slice(0, 16);
    return { kid, alg, secret };
  }
  const pair = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const privateKey = await exportJWK(pair.privateKey);
  const publicKey = await exportJWK(pair.publicKey);
  const kid = (await calculateJwkThumbprint(publicKey)).slice(0, 16);
  return {
    kid,
    alg,
    privateKey: { ...privateKey, kid, alg },
    publicKey: { ...publicKey, kid, alg },
  };
}
