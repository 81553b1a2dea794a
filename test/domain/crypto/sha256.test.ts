import { createHash } from 'node:crypto';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64url, sha256, sha256Text } from '../../../src/domain/crypto/sha256.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const nodeSha = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

// Any UTF-16 code units, lone and swapped surrogates included, weighted towards the surrogate range.
const codeUnits = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0xd800, max: 0xdfff }),
      fc.integer({ min: 0, max: 0x7f }),
    ),
    { maxLength: 400 },
  )
  .map((units) => String.fromCharCode(...units));

describe('sha256', () => {
  it('gives the FIPS 180-4 test vectors', () => {
    expect(hex(sha256Text(''))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(hex(sha256Text('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(hex(sha256Text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    expect(hex(sha256(new Uint8Array(1_000_000).fill(0x61)))).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  it('matches node:crypto at every length around the block and padding boundaries', () => {
    for (let n = 0; n <= 260; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 131 + n) & 0xff);
      expect(hex(sha256(bytes))).toBe(nodeSha(bytes));
    }
  });

  it('matches node:crypto on any bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(hex(sha256(bytes))).toBe(nodeSha(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('matches node:crypto on any text as UTF-8, lone surrogates as U+FFFD (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), codeUnits),
        fc.nat({ max: 3 }),
        (text, repeat) => {
          // Longer texts take the path that does not fit the reusable buffer.
          const input = text.repeat(repeat === 3 ? 5 : 1);
          const expected = nodeSha(Buffer.from(input, 'utf8'));
          expect(hex(sha256Text(input))).toBe(expected);
          expect(nodeSha(input)).toBe(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('encodes a lone surrogate as U+FFFD', () => {
    expect(hex(sha256Text('a\ud800b'))).toBe(nodeSha('a\ufffdb'));
    expect(hex(sha256Text('\udc00\ud83d'))).toBe(nodeSha('\ufffd\ufffd'));
    expect(hex(sha256Text('\ud83d\ude00'))).toBe(nodeSha(Buffer.from([0xf0, 0x9f, 0x98, 0x80])));
  });
});

describe('base64url', () => {
  it('matches Buffer base64url at every length (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        expect(base64url(bytes)).toBe(Buffer.from(bytes).toString('base64url'));
      }),
    );
    expect(base64url(new Uint8Array())).toBe('');
    expect(base64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
  });
});
