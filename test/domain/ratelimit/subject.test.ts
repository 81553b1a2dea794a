import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeSubject } from '../../../src/domain/ratelimit/subject.ts';

// Inverse of escapeSubject: %XX bytes decoded as generalized UTF-8 (WTF-8),
// so a 3-byte sequence in the surrogate range gives back a lone surrogate.
function unescapeSubject(escaped: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    if (escaped[i] === '%') {
      bytes.push(Number.parseInt(escaped.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(escaped.charCodeAt(i));
    }
  }
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i += 1;
    } else if (b < 0xe0) {
      out += String.fromCharCode(((b & 0x1f) << 6) | (bytes[i + 1]! & 0x3f));
      i += 2;
    } else if (b < 0xf0) {
      out += String.fromCharCode(
        ((b & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f),
      );
      i += 3;
    } else {
      out += String.fromCodePoint(
        ((b & 0x07) << 18) |
          ((bytes[i + 1]! & 0x3f) << 12) |
          ((bytes[i + 2]! & 0x3f) << 6) |
          (bytes[i + 3]! & 0x3f),
      );
      i += 4;
    }
  }
  return out;
}

// Every UTF-16 code unit, lone surrogates included, with extra weight on the awkward ones.
const codeUnit = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('%', ':', '{', '}', '\n', ' ', '\ud800', '\udfff', '😀', 'é', '@', '/', '.'),
  fc.constantFrom(...'azAZ09-_'),
);
const anyString = fc.oneof(
  fc.string({ unit: codeUnit }),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
);
const wellFormed = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));

const outputShape = /^(?:[A-Za-z0-9._@/-]|%[0-9A-F]{2})*$/;

describe('escapeSubject', () => {
  it('returns the input itself when nothing needs escaping', () => {
    for (const s of ['', 'ip.203.0.113.7', 'user@example.com', 'a/b-c_d.e', 'ABCxyz0189']) {
      expect(escapeSubject(s)).toBe(s);
    }
  });

  it.each([
    ['ip:2001:db8::/64', 'ip%3A2001%3Adb8%3A%3A/64'],
    ['{tag}', '%7Btag%7D'],
    ['a b', 'a%20b'],
    ['a\nb\r\t', 'a%0Ab%0D%09'],
    ['100%', '100%25'],
    ['%25', '%2525'],
    ['é', '%C3%A9'],
    ['€', '%E2%82%AC'],
    ['😀', '%F0%9F%98%80'],
    ['\u0000\u007f', '%00%7F'],
    ['\ud800', '%ED%A0%80'],
    ['\udfff', '%ED%BF%BF'],
    ['\udc00\ud800', '%ED%B0%80%ED%A0%80'],
    ['a\ud83d', 'a%ED%A0%BD'],
  ])('escapes %j as %s', (input, expected) => {
    expect(escapeSubject(input)).toBe(expected);
  });

  it('only ever outputs the safe alphabet and %XX (property)', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const out = escapeSubject(s);
        expect(out).toMatch(outputShape);
        expect(/[{}:\s]/.test(out)).toBe(false);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
        expect(/[\u0000-\u001f\u007f-\uffff]/.test(out)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('is injective: it can be decoded back, lone surrogates included (property)', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expect(unescapeSubject(escapeSubject(s))).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives distinct outputs for distinct inputs (property)', () => {
    fc.assert(
      fc.property(anyString, anyString, (a, b) => {
        fc.pre(a !== b);
        expect(escapeSubject(a)).not.toBe(escapeSubject(b));
      }),
      { numRuns: 2000 },
    );
    const tricky = ['a:', 'a%3A', 'a%253A', '\ud800', '\ud800\udc00', '\udc00\ud800'];
    expect(new Set(tricky.map(escapeSubject)).size).toBe(new Set(tricky).size);
  });

  it('agrees with encodeURIComponent on well-formed strings (property)', () => {
    const reference = (s: string) =>
      encodeURIComponent(s)
        .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
        .replace(/%40/g, '@')
        .replace(/%2F/g, '/');
    fc.assert(
      fc.property(wellFormed, (s) => {
        expect(escapeSubject(s)).toBe(reference(s));
      }),
      { numRuns: 2000 },
    );
  });
});
