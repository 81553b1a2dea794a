import type { SessionRecord } from '../../ports/token-store.ts';
import { InvalidOptionError } from '../config/errors.ts';

/** Longest identifier (user id, session id, jti) a token store accepts, characters. */
export const maxStoreIdLength = 256;

// NUL and unpaired surrogates: text no SQL database stores faithfully (PostgreSQL refuses both).
const unstorable = new RegExp(
  `${String.fromCharCode(0)}|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]`,
);

/** True when every store can keep `text` as it is: no NUL, no unpaired surrogate. */
export function isStorableText(text: string): boolean {
  return !unstorable.test(text);
}

/** Throws unless `value` is storable text (see {@link isStorableText}) of 1 to {@link maxStoreIdLength} characters. */
export function validateStoreId(option: string, value: unknown): void {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > maxStoreIdLength ||
    !isStorableText(value)
  ) {
    throw new InvalidOptionError(
      option,
      value,
      `a string of 1 to ${maxStoreIdLength} characters without NUL or unpaired surrogates`,
    );
  }
}

/** Latest time a token store accepts, epoch ms (year 5138): below 10^14, exact in every backend. */
export const maxStoreTime = 99_999_999_999_999;

/** Throws unless `value` is integer epoch milliseconds from 0 to {@link maxStoreTime}. */
export function validateTime(option: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > maxStoreTime) {
    throw new InvalidOptionError(
      option,
      value,
      `integer epoch milliseconds from 0 to ${maxStoreTime}`,
    );
  }
}

/** Throws unless `record` is a well-formed new session. */
export function validateSessionRecord(record: SessionRecord): void {
  if (typeof record !== 'object' || record === null) {
    throw new InvalidOptionError('session', record, 'a session record');
  }
  validateStoreId('session.id', record.id);
  validateStoreId('session.userId', record.userId);
  validateStoreId('session.familyHash', record.familyHash);
  validateStoreId('session.refreshHash', record.refreshHash);
  validateTime('session.createdAt', record.createdAt);
  validateTime('session.lastUsedAt', record.lastUsedAt);
  validateTime('session.expiresAt', record.expiresAt);
  if (!Number.isSafeInteger(record.generation) || record.generation < 0) {
    throw new InvalidOptionError('session.generation', record.generation, 'an integer from 0');
  }
}
