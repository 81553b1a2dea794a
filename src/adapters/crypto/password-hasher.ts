import * as nodeCrypto from 'node:crypto';
import { InvalidOptionError } from '../../domain/config/errors.ts';
import {
  type Argon2Options,
  defineArgon2Parameters,
  passwordHasherFromParts,
} from '../../domain/tokens/passwords.ts';
import type {
  Argon2idFunction,
  BcryptVerifyFunction,
  PasswordHasher,
} from '../../ports/password-hasher.ts';

/** Which Argon2id implementation hashes. */
export type Argon2Backend = 'node' | 'node-rs';

/** Options of {@link createPasswordHasher}. */
export interface PasswordHasherOptions {
  /** Argon2id parameters; OWASP's (19 MiB, t=2, p=1) by default. */
  readonly argon2?: Argon2Options | undefined;
  /**
   * `node`: Node's built-in `crypto.argon2` (Node 24.7 and later);
   * `node-rs`: the `@node-rs/argon2` package. By default the built-in one
   * when present, else `@node-rs/argon2`.
   */
  readonly backend?: Argon2Backend | undefined;
  /**
   * Verify bcrypt hashes (needs the `bcryptjs` package, loaded on first
   * use): true by default, so users migrated from bcrypt can log in and be
   * rehashed with argon2id.
   */
  readonly bcrypt?: boolean | undefined;
}

type NodeArgon2 = (
  algorithm: 'argon2id',
  parameters: {
    message: Uint8Array;
    nonce: Uint8Array;
    parallelism: number;
    tagLength: number;
    memory: number;
    passes: number;
  },
  callback: (error: Error | null, key: Uint8Array) => void,
) => void;

const builtIn = (nodeCrypto as unknown as { argon2?: NodeArgon2 }).argon2;

/** True when this Node has `crypto.argon2`. */
export const hasBuiltInArgon2 = typeof builtIn === 'function';

const nodeArgon2id: Argon2idFunction = (password, salt, p) =>
  new Promise((resolve, reject) => {
    builtIn!(
      'argon2id',
      {
        message: password,
        nonce: salt,
        parallelism: p.parallelism,
        tagLength: p.tagLength,
        memory: p.memoryKiB,
        passes: p.passes,
      },
      (error, key) => (error ? reject(error) : resolve(new Uint8Array(key))),
    );
  });

async function nodeRsArgon2id(): Promise<Argon2idFunction> {
  let module: typeof import('@node-rs/argon2');
  try {
    module = await import('@node-rs/argon2');
  } catch {
    throw new InvalidOptionError(
      'backend',
      'node-rs',
      'an installed @node-rs/argon2 (npm install @node-rs/argon2), or Node 24.7+ for the built-in argon2',
    );
  }
  return async (password, salt, p) =>
    new Uint8Array(
      await module.hashRaw(password, {
        // Algorithm.Argon2id and Version.V0x13 (const enums cannot be imported under isolatedModules).
        algorithm: 2 as never,
        version: 1 as never,
        memoryCost: p.memoryKiB,
        timeCost: p.passes,
        parallelism: p.parallelism,
        outputLen: p.tagLength,
        salt,
      }),
    );
}

let bcryptModule: Promise<BcryptVerifyFunction | undefined> | undefined;

/** bcryptjs' compare, loaded once on first use; undefined when the package is missing. */
function loadBcrypt(): Promise<BcryptVerifyFunction | undefined> {
  bcryptModule ??= import('bcryptjs').then(
    (module) => {
      const compare = (module.default ?? module).compare;
      return (password: string, hash: string) => compare(password, hash);
    },
    () => undefined,
  );
  return bcryptModule;
}

function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && nodeCrypto.timingSafeEqual(a, b);
}

/**
 * Creates a password hasher: argon2id (OWASP parameters by default) on
 * Node's built-in implementation or `@node-rs/argon2`, bcrypt verification
 * for migrated users through `bcryptjs`, constant-time comparison. Both
 * packages are optional and loaded only when needed.
 */
export async function createPasswordHasher(
  options: PasswordHasherOptions = {},
): Promise<PasswordHasher> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object');
  }
  const parameters = defineArgon2Parameters(options.argon2);
  const backend = options.backend ?? (hasBuiltInArgon2 ? 'node' : 'node-rs');
  if (backend !== 'node' && backend !== 'node-rs') {
    throw new InvalidOptionError('backend', backend, "'node' or 'node-rs'");
  }
  if (backend === 'node' && !hasBuiltInArgon2) {
    throw new InvalidOptionError('backend', backend, "'node-rs': this Node has no crypto.argon2");
  }
  const bcrypt = options.bcrypt ?? true;
  if (typeof bcrypt !== 'boolean') throw new InvalidOptionError('bcrypt', bcrypt, 'true or false');
  const argon2id = backend === 'node' ? nodeArgon2id : await nodeRsArgon2id();
  const bcryptVerify: BcryptVerifyFunction | undefined = bcrypt
    ? async (password, hash) => {
        const compare = await loadBcrypt();
        if (compare === undefined) {
          throw new InvalidOptionError(
            'bcrypt',
            true,
            'an installed bcryptjs (npm install bcryptjs) to verify bcrypt hashes, or bcrypt: false',
          );
        }
        return compare(password, hash);
      }
    : undefined;
  return passwordHasherFromParts({ argon2id, bcryptVerify, timingSafeEqual, parameters });
}
