import * as nodeRs from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import {
  createPasswordHasher,
  hasBuiltInArgon2,
} from '../../../src/adapters/crypto/password-hasher.ts';
import { formatArgon2, parseArgon2 } from '../../../src/domain/tokens/passwords.ts';
import { codeOf, errorOf } from './support.ts';

// Small parameters keep the suite fast; one test runs the OWASP defaults.
const light = { memoryKiB: 1024, passes: 1, parallelism: 1 };

describe('password hashing', () => {
  it('argon2id with OWASP parameters by default: a PHC string that verifies, and only for its password', async () => {
    const hasher = await createPasswordHasher();
    const hash = await hasher.hash('correct horse battery staple');
    expect(hash).toMatch(
      /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
    );
    expect(await hasher.verify('correct horse battery staple', hash)).toBe(true);
    expect(await hasher.verify('correct horse battery stapl', hash)).toBe(false);
    expect(hasher.needsRehash(hash)).toBe(false);
  });

  it('salts every hash; unicode passwords hash as UTF-8', async () => {
    const hasher = await createPasswordHasher({ argon2: light });
    const a = await hasher.hash('pässwörd 🔑');
    const b = await hasher.hash('pässwörd 🔑');
    expect(a).not.toBe(b);
    expect(await hasher.verify('pässwörd 🔑', a)).toBe(true);
    expect(await hasher.verify('passwörd 🔑', a)).toBe(false);
  });

  it.runIf(hasBuiltInArgon2)(
    'node crypto.argon2 and @node-rs/argon2 compute the same hashes',
    async () => {
      const node = await createPasswordHasher({ argon2: light, backend: 'node' });
      const rs = await createPasswordHasher({ argon2: light, backend: 'node-rs' });
      const fromNode = await node.hash('same password');
      const fromRs = await rs.hash('same password');
      expect(await rs.verify('same password', fromNode)).toBe(true);
      expect(await node.verify('same password', fromRs)).toBe(true);
      expect(await node.verify('other', fromRs)).toBe(false);
    },
  );

  it('PHC strings interoperate with @node-rs/argon2’s own encoder and verifier', async () => {
    const hasher = await createPasswordHasher({ argon2: light });
    const theirs = await nodeRs.hash('interop', { memoryCost: 1024, timeCost: 1, parallelism: 1 });
    expect(theirs.startsWith('$argon2id$v=19$m=1024,t=1,p=1$')).toBe(true);
    expect(await hasher.verify('interop', theirs)).toBe(true);
    expect(await hasher.verify('Interop', theirs)).toBe(false);
    expect(hasher.needsRehash(theirs)).toBe(false);
    const ours = await hasher.hash('interop');
    expect(await nodeRs.verify(ours, 'interop')).toBe(true);
  });

  it('needsRehash: weaker or different parameters, bcrypt, and garbage all need a rehash', async () => {
    const hasher = await createPasswordHasher({ argon2: light });
    const current = await hasher.hash('x');
    expect(hasher.needsRehash(current)).toBe(false);
    const stronger = await createPasswordHasher({ argon2: { ...light, passes: 3 } });
    expect(stronger.needsRehash(current)).toBe(true);
    expect(await stronger.verify('x', current)).toBe(true);
    expect(hasher.needsRehash(bcrypt.hashSync('x', 4))).toBe(true);
    expect(hasher.needsRehash('plaintext')).toBe(true);
  });

  it('migrates bcrypt users: their hashes verify, then need an argon2id rehash', async () => {
    const hasher = await createPasswordHasher({ argon2: light });
    for (const prefix of ['$2a$', '$2b$', '$2y$']) {
      const hash = bcrypt.hashSync('legacy secret', 4).replace(/^\$2[aby]\$/, prefix);
      expect(await hasher.verify('legacy secret', hash)).toBe(true);
      expect(await hasher.verify('legacy secreT', hash)).toBe(false);
      expect(await hasher.authenticate('legacy secret', hash)).toEqual({ needsRehash: true });
    }
    const noBcrypt = await createPasswordHasher({ argon2: light, bcrypt: false });
    expect(await noBcrypt.verify('legacy secret', bcrypt.hashSync('legacy secret', 4))).toBe(false);
  });

  it('refuses bcrypt costs it will not spend (a planted $2b$31$ hash answers false at once)', async () => {
    const hasher = await createPasswordHasher({ argon2: light });
    const real = bcrypt.hashSync('legacy secret', 4);
    for (const cost of ['03', '16', '31', '99']) {
      const planted = real.replace(/^\$2b\$04\$/, `$2b$${cost}$`);
      const started = performance.now();
      expect(await hasher.verify('legacy secret', planted), cost).toBe(false);
      expect(performance.now() - started, cost).toBeLessThan(5_000);
      expect(await codeOf(hasher.authenticate('legacy secret', planted)), cost).toBe(
        'invalid_credentials',
      );
    }
  });

  it('keeps bcrypt for a password longer than its 72 bytes: a rehash would store an unchecked variant', async () => {
    const hasher = await createPasswordHasher({ argon2: light });
    const long = `${'x'.repeat(72)}the real ending`;
    const hash = bcrypt.hashSync(long, 4);
    // bcrypt compares the first 72 bytes only: another ending matches too.
    expect(await hasher.authenticate(`${'x'.repeat(72)}WRONG`, hash)).toEqual({
      needsRehash: false,
    });
    expect(await hasher.authenticate('short one', bcrypt.hashSync('short one', 4))).toEqual({
      needsRehash: true,
    });
  });

  it('refuses passwords with lone surrogates: UTF-8 would make them one password', async () => {
    const hasher = await createPasswordHasher({ argon2: light });
    expect(await codeOf(hasher.hash('pw\uD800'))).toBe('invalid_option');
    const hash = await hasher.hash('pw\uFFFD');
    expect(await hasher.verify('pw\uFFFD', hash)).toBe(true);
    expect(await hasher.verify('pw\uD800', hash)).toBe(false);
    expect(await hasher.verify('pw\uDC00', hash)).toBe(false);
  });

  it('authenticate throws invalid_credentials; an unknown user (no hash) costs a real check', async () => {
    const hasher = await createPasswordHasher({ argon2: { ...light, memoryKiB: 8192 } });
    const hash = await hasher.hash('right');
    expect(await hasher.authenticate('right', hash)).toEqual({ needsRehash: false });
    const error = await errorOf(hasher.authenticate('wrong', hash));
    expect(error).toMatchObject({ code: 'invalid_credentials', status: 401 });
    expect(await codeOf(hasher.authenticate('right', undefined))).toBe('invalid_credentials');
    expect(await hasher.verify('right', null)).toBe(false);
    expect(await hasher.verify('right', '$argon2id$garbage')).toBe(false);
    // Timing: a missing user takes about as long as a wrong password (same argon2 work).
    const time = async (f: () => Promise<unknown>) => {
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await f();
        samples.push(performance.now() - t);
      }
      return samples.sort((a, b) => a - b)[2]!;
    };
    const wrong = await time(() => hasher.verify('wrong', hash));
    const missing = await time(() => hasher.verify('wrong', undefined));
    expect(missing / wrong).toBeGreaterThan(0.5);
    expect(missing / wrong).toBeLessThan(2);
  });

  it('refuses empty and oversized passwords to hash, and bad options', async () => {
    const hasher = await createPasswordHasher({ argon2: light });
    expect(await codeOf(hasher.hash(''))).toBe('invalid_option');
    expect(await codeOf(hasher.hash('x'.repeat(4097)))).toBe('invalid_option');
    expect(await hasher.verify('', await hasher.hash('x'))).toBe(false);
    expect(await codeOf(createPasswordHasher({ argon2: { memoryKiB: 1 } }))).toBe('invalid_option');
    expect(await codeOf(createPasswordHasher({ backend: 'wasm' as never }))).toBe('invalid_option');
  });

  it('PHC strings round-trip; malformed ones parse to undefined', () => {
    const salt = new Uint8Array(16).fill(7);
    const tag = new Uint8Array(32).fill(9);
    const text = formatArgon2(
      { memoryKiB: 19456, passes: 2, parallelism: 1, tagLength: 32 },
      salt,
      tag,
    );
    expect(parseArgon2(text)).toEqual({
      parameters: { memoryKiB: 19456, passes: 2, parallelism: 1, tagLength: 32 },
      salt,
      tag,
    });
    for (const bad of [
      text.replace('argon2id', 'argon2i'),
      text.replace('v=19', 'v=16'),
      text.replace('m=19456', 'm=4'),
      text.replace('t=2', 't=0'),
      text.replace('t=2', 't=101'),
      text.replace('t=2', 't=4000000000'),
      text.replace('p=1', 'p=256'),
      `${text}$extra`,
      text.slice(0, -10),
    ]) {
      expect(parseArgon2(bad)).toBeUndefined();
    }
  });
});
