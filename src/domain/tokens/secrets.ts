import type { CryptoKey } from 'jose';
import { InvalidOptionError } from '../config/errors.ts';
import { encodeBase64url, utf8Bytes } from './encoding.ts';

/** A master secret as a user gives it: text (UTF-8) or bytes, at least 32 bytes. */
export type SecretInput = string | Uint8Array;

/** An HMAC-SHA256 key derived from a master secret for one use, with a public id. */
export interface DerivedKey {
  /** Short public id of the key (never reveals it): goes into `kid`. */
  readonly id: string;
  /** The HMAC key, not extractable. */
  readonly key: CryptoKey;
}

const salt = utf8Bytes('lockwatch/tokens/v1');

/**
 * Validates master secrets: one, or a list whose first entry is current and
 * the rest are previous ones still accepted while tokens made with them live.
 */
export function secretsOption(option: string, value: unknown): Uint8Array[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.length > 8) {
    throw new InvalidOptionError(
      option,
      value,
      'a secret or a list of 1 to 8 secrets (current first)',
    );
  }
  return list.map((entry, i) => {
    const bytes =
      typeof entry === 'string'
        ? utf8Bytes(entry)
        : entry instanceof Uint8Array
          ? entry
          : undefined;
    if (bytes === undefined || bytes.length < 32) {
      throw new InvalidOptionError(
        Array.isArray(value) ? `${option}[${i}]` : option,
        entry,
        'a secret of at least 32 bytes (string or Uint8Array)',
      );
    }
    return bytes;
  });
}

/**
 * Derives the HMAC key for `use` (such as `purpose:password_reset`) from a
 * master secret with HKDF-SHA256. Keys for different uses are independent:
 * knowing one tells nothing about another or about the master secret.
 */
export async function deriveKey(secret: Uint8Array, use: string): Promise<DerivedKey> {
  const base = await crypto.subtle.importKey(
    'raw',
    secret as Uint8Array<ArrayBuffer>,
    'HKDF',
    false,
    ['deriveBits'],
  );
  const bits = await crypto.subtle.deriveBits(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: salt as Uint8Array<ArrayBuffer>,
      info: utf8Bytes(use) as Uint8Array<ArrayBuffer>,
    },
    base,
    256,
  );
  const key = await crypto.subtle.importKey('raw', bits, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
  const tag = await crypto.subtle.sign('HMAC', key, utf8Bytes('key-id') as Uint8Array<ArrayBuffer>);
  return { id: encodeBase64url(new Uint8Array(tag, 0, 6)), key };
}

/** HMAC-SHA256 of `text` under `key`. */
export async function hmac(key: CryptoKey, text: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign('HMAC', key, utf8Bytes(text) as Uint8Array<ArrayBuffer>),
  );
}

/** SHA-256 of `text`, base64url. */
export async function sha256(text: string): Promise<string> {
  return encodeBase64url(
    new Uint8Array(
      await crypto.subtle.digest('SHA-256', utf8Bytes(text) as Uint8Array<ArrayBuffer>),
    ),
  );
}

/** `bytes` random bytes, base64url. */
export function randomId(bytes: number): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
