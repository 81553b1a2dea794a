import type {
  Argon2idFunction,
  Argon2Parameters,
  BcryptVerifyFunction,
  PasswordHasher,
} from '../../ports/password-hasher.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { integerOption } from '../config/validate.ts';
import { InvalidCredentialsError } from './errors.ts';

/**
 * OWASP's first argon2id configuration (Password Storage Cheat Sheet):
 * 19 MiB, 2 passes, 1 lane; 32-byte output, 16-byte salt.
 */
export const owaspArgon2Parameters: Readonly<Argon2Parameters> = Object.freeze({
  memoryKiB: 19_456,
  passes: 2,
  parallelism: 1,
  tagLength: 32,
});

/** Argon2id parameters as a user writes them (each defaults to {@link owaspArgon2Parameters}). */
export type Argon2Options = Partial<Argon2Parameters>;

/** Longest password accepted, characters: beyond it `hash` refuses and `verify` answers false. */
export const maxPasswordLength = 4096;

const saltLength = 16;
const phcPattern =
  /^\$argon2id\$v=19\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,64})\$([A-Za-z0-9+/]{22,171})$/;
const bcryptPattern = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** A parsed argon2id PHC string. */
export interface ParsedArgon2 {
  readonly parameters: Argon2Parameters;
  readonly salt: Uint8Array;
  readonly tag: Uint8Array;
}

/** Validates argon2id options; errors name `argon2.<field>`. */
export function defineArgon2Parameters(options: Argon2Options | undefined): Argon2Parameters {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidOptionError(
      'argon2',
      options,
      'an object with memoryKiB, passes, parallelism',
    );
  }
  const p = { ...owaspArgon2Parameters, ...options };
  const parallelism = integerOption('argon2.parallelism', p.parallelism, 1, 255);
  return Object.freeze({
    memoryKiB: integerOption('argon2.memoryKiB', p.memoryKiB, 8 * parallelism, 4_194_304),
    passes: integerOption('argon2.passes', p.passes, 1, 100),
    parallelism,
    tagLength: integerOption('argon2.tagLength', p.tagLength, 16, 128),
  });
}

/** Formats an argon2id hash as a PHC string (standard base64 without padding). */
export function formatArgon2(
  parameters: Argon2Parameters,
  salt: Uint8Array,
  tag: Uint8Array,
): string {
  return `$argon2id$v=19$m=${parameters.memoryKiB},t=${parameters.passes},p=${parameters.parallelism}$${base64(salt)}$${base64(tag)}`;
}

/** Parses an argon2id PHC string of version 19; undefined for anything else. */
export function parseArgon2(hash: string): ParsedArgon2 | undefined {
  const match = phcPattern.exec(hash);
  if (match === null) return undefined;
  const salt = unbase64(match[4]!);
  const tag = unbase64(match[5]!);
  if (salt === undefined || tag === undefined || salt.length < 8 || tag.length < 16)
    return undefined;
  const memoryKiB = Number(match[1]);
  const passes = Number(match[2]);
  const parallelism = Number(match[3]);
  // The same bounds as defineArgon2Parameters: a corrupted or planted hash
  // row must not make one verification burn minutes of CPU.
  if (
    parallelism < 1 ||
    parallelism > 255 ||
    passes < 1 ||
    passes > 100 ||
    memoryKiB < 8 * parallelism ||
    memoryKiB > 4_194_304 ||
    tag.length > 128
  ) {
    return undefined;
  }
  return { parameters: { memoryKiB, passes, parallelism, tagLength: tag.length }, salt, tag };
}

/** True for a bcrypt hash (`$2a$`, `$2b$`, `$2y$` with a cost and 53 characters of salt and hash). */
export function isBcryptHash(hash: string): boolean {
  return bcryptPattern.test(hash);
}

/**
 * bcrypt costs verified: 4 to 15. A higher one (2^cost rounds: cost 31 is
 * about 40 hours here) in a corrupted or planted row must not make one login
 * burn the CPU, as argon2 parameters are bounded for the same reason.
 */
export const bcryptCostRange = Object.freeze({ min: 4, max: 15 });

function usableBcrypt(hash: string): boolean {
  const match = bcryptPattern.exec(hash);
  if (match === null) return false;
  const cost = Number(match[1]);
  return cost >= bcryptCostRange.min && cost <= bcryptCostRange.max;
}

/** bcrypt reads only the first 72 bytes of a password. */
const bcryptPasswordBytes = 72;

/** What a password hasher is built from: the primitives, found by the adapter. */
export interface PasswordHasherParts {
  readonly argon2id: Argon2idFunction;
  /** Absent when bcryptjs is not installed: bcrypt hashes then never verify. */
  readonly bcryptVerify?: BcryptVerifyFunction | undefined;
  /** Compares two equal-length byte strings in constant time. */
  readonly timingSafeEqual: (a: Uint8Array, b: Uint8Array) => boolean;
  readonly parameters: Argon2Parameters;
}

const encoder = new TextEncoder();
// In `u` mode only a surrogate that is not half of a pair matches.
const loneSurrogate = /\p{Cs}/u;

/**
 * Builds a password hasher: argon2id for new hashes, argon2id or bcrypt for
 * verification, `needsRehash` for everything that is not argon2id with the
 * current parameters. Passwords are hashed as given (UTF-8, no
 * normalisation: NFC and NFD spellings of one password differ), up to
 * {@link maxPasswordLength} characters, and must be well-formed (no lone
 * surrogates).
 */
export function passwordHasherFromParts(parts: PasswordHasherParts): PasswordHasher {
  const { argon2id, bcryptVerify, timingSafeEqual, parameters } = parts;
  // Verified against when there is no stored hash, so that costs the same as a real check.
  let dummy: Promise<ParsedArgon2> | undefined;
  const dummyHash = () => {
    dummy ??= (async () => {
      const salt = crypto.getRandomValues(new Uint8Array(saltLength));
      const tag = await argon2id(encoder.encode('lockwatch-dummy'), salt, parameters);
      return { parameters, salt, tag };
    })();
    return dummy;
  };
  // Made now, not on the first unknown user: that first check would take twice as long as a wrong
  // password and tell that the user does not exist. (A failure shows on first use.)
  dummyHash().catch(() => {});

  const checkArgon2 = async (password: string, parsed: ParsedArgon2): Promise<boolean> => {
    const tag = await argon2id(encoder.encode(password), parsed.salt, {
      ...parsed.parameters,
      tagLength: parsed.tag.length,
    });
    return tag.length === parsed.tag.length && timingSafeEqual(tag, parsed.tag);
  };

  const hasher: PasswordHasher = {
    async hash(password) {
      if (
        typeof password !== 'string' ||
        password.length === 0 ||
        password.length > maxPasswordLength ||
        // A lone surrogate is encoded as U+FFFD: different texts would share one hash.
        loneSurrogate.test(password)
      ) {
        throw new InvalidOptionError(
          'password',
          '(hidden)',
          `a well-formed string of 1 to ${maxPasswordLength} characters`,
        );
      }
      const salt = crypto.getRandomValues(new Uint8Array(saltLength));
      const tag = await argon2id(encoder.encode(password), salt, parameters);
      return formatArgon2(parameters, salt, tag);
    },

    async verify(password, hash) {
      const usable =
        typeof password === 'string' &&
        password.length <= maxPasswordLength &&
        !loneSurrogate.test(password);
      if (typeof hash === 'string') {
        const parsed = parseArgon2(hash);
        if (parsed !== undefined) {
          const ok = await checkArgon2(usable ? password : '', parsed);
          return usable && password.length > 0 && ok;
        }
        if (usableBcrypt(hash) && bcryptVerify !== undefined) {
          const ok = await bcryptVerify(usable ? password : '', hash);
          return usable && password.length > 0 && ok;
        }
      }
      await checkArgon2('', await dummyHash());
      return false;
    },

    needsRehash(hash) {
      const parsed = typeof hash === 'string' ? parseArgon2(hash) : undefined;
      if (parsed === undefined) return true;
      const p = parsed.parameters;
      return (
        p.memoryKiB !== parameters.memoryKiB ||
        p.passes !== parameters.passes ||
        p.parallelism !== parameters.parallelism ||
        p.tagLength !== parameters.tagLength ||
        parsed.salt.length < saltLength
      );
    },

    async authenticate(password, hash) {
      if (!(await hasher.verify(password, hash))) throw new InvalidCredentialsError();
      // bcrypt matched the first 72 bytes only: a longer password may differ after them, and
      // rehashing it would store that variant and lock the real password out. Keep bcrypt then.
      const truncated =
        isBcryptHash(hash as string) && encoder.encode(password).length > bcryptPasswordBytes;
      return { needsRehash: !truncated && hasher.needsRehash(hash as string) };
    },
  };
  return hasher;
}

const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const b64Values = new Int8Array(128).fill(-1);
for (let i = 0; i < b64.length; i++) b64Values[b64.charCodeAt(i)] = i;

function base64(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += b64[(value >> bits) & 63];
    }
  }
  if (bits > 0) out += b64[(value << (6 - bits)) & 63];
  return out;
}

function unbase64(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const v = b64Values[text.charCodeAt(i)] ?? -1;
    if (v < 0) return undefined;
    value = ((value << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 255;
    }
  }
  return out;
}
