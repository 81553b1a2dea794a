/** Parameters of one Argon2id computation. */
export interface Argon2Parameters {
  /** Memory, KiB. */
  readonly memoryKiB: number;
  /** Passes over memory (t). */
  readonly passes: number;
  /** Lanes (p). */
  readonly parallelism: number;
  /** Output length, bytes. */
  readonly tagLength: number;
}

/**
 * The Argon2id primitive (RFC 9106, version 0x13): raw output for a
 * password and a salt. Node's `crypto.argon2` or `@node-rs/argon2` behind it.
 */
export type Argon2idFunction = (
  password: Uint8Array,
  salt: Uint8Array,
  parameters: Argon2Parameters,
) => Promise<Uint8Array>;

/** Checks a password against a bcrypt hash (`$2a$`, `$2b$`, `$2y$`), for users migrated from bcrypt. */
export type BcryptVerifyFunction = (password: string, hash: string) => Promise<boolean>;

/** Hashes and verifies passwords. */
export interface PasswordHasher {
  /** Hashes a password with argon2id and a fresh salt; returns a PHC string (`$argon2id$v=19$m=…`). */
  hash(password: string): Promise<string>;
  /**
   * Checks a password against a stored argon2id or bcrypt hash. With no
   * hash (unknown user) it does the same work against a dummy hash and
   * answers false, so response time does not tell whether the user exists.
   */
  verify(password: string, hash: string | null | undefined): Promise<boolean>;
  /** True when the hash is not argon2id with the current parameters (bcrypt, or weaker settings): rehash on next login. */
  needsRehash(hash: string): boolean;
  /**
   * Verifies, throwing `invalid_credentials` when the password does not
   * match; otherwise says whether to store a fresh hash.
   */
  authenticate(
    password: string,
    hash: string | null | undefined,
  ): Promise<{ readonly needsRehash: boolean }>;
}
