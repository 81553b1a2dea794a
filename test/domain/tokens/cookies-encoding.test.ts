import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clearRefreshCookie,
  readCookie,
  refreshCookie,
  refreshCookieFor,
} from '../../../src/domain/tokens/cookies.ts';
import {
  decodeBase64url,
  encodeBase64url,
  hasDuplicateNames,
  parseJsonObject,
} from '../../../src/domain/tokens/encoding.ts';
import { codeOf, testManager } from './support.ts';

describe('refresh-token cookie', () => {
  it('sets an HttpOnly, Secure, SameSite=Strict cookie scoped to the refresh path', async () => {
    const { manager, clock } = await testManager();
    const pair = await manager.issue('u');
    expect(refreshCookieFor(pair, clock.now())).toBe(
      `lw_refresh=${pair.refreshToken}; Max-Age=604800; Path=/auth/refresh; HttpOnly; Secure; SameSite=Strict`,
    );
    expect(
      refreshCookie('abc', 60, {
        name: '__Secure-rt',
        path: '/api/token',
        domain: 'example.com',
        sameSite: 'Lax',
        partitioned: true,
      }),
    ).toBe(
      '__Secure-rt=abc; Max-Age=60; Path=/api/token; Domain=example.com; HttpOnly; Secure; SameSite=Lax; Partitioned',
    );
    expect(clearRefreshCookie()).toBe(
      'lw_refresh=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/auth/refresh; HttpOnly; Secure; SameSite=Strict',
    );
  });

  it('refuses unsafe combinations and injection through names, paths and values', () => {
    const bad: [() => unknown, string][] = [
      [() => refreshCookie('abc', 60, { secure: false, sameSite: 'None' }), 'cookie.secure'],
      [() => refreshCookie('abc', 60, { name: '__Host-rt' }), 'cookie.name'],
      [() => refreshCookie('abc', 60, { name: 'a b' }), 'cookie.name'],
      [() => refreshCookie('abc', 60, { path: '/x; Domain=evil.example' }), 'cookie.path'],
      [() => refreshCookie('abc', 60, { path: 'relative' }), 'cookie.path'],
      [() => refreshCookie('abc', 60, { domain: 'evil.example; Secure' }), 'cookie.domain'],
      [() => refreshCookie('a;b', 60), 'token'],
      [() => refreshCookie('abc', 0), 'maxAgeSeconds'],
    ];
    for (const [call, option] of bad)
      expect(call, option).toThrow(expect.objectContaining({ option }));
    expect(refreshCookie('abc', 60, { name: '__Host-rt', path: '/' })).toContain('__Host-rt=abc');
  });

  it('reads the cookie back; a duplicated name (a planted cookie) reads as absent', () => {
    expect(readCookie('a=1; lw_refresh=tok.en; b=2')).toBe('tok.en');
    expect(readCookie('lw_refresh="quoted"')).toBe('quoted');
    expect(readCookie('a=1')).toBeUndefined();
    expect(readCookie(undefined)).toBeUndefined();
    expect(readCookie('lw_refresh=one; lw_refresh=two')).toBeUndefined();
    expect(readCookie('x_lw_refresh=no')).toBeUndefined();
  });

  it('a refresh token read from the cookie refreshes', async () => {
    const { manager, clock } = await testManager();
    const pair = await manager.issue('u');
    const header = refreshCookieFor(pair, clock.now()).split(';')[0]!;
    const next = await manager.refresh(readCookie(`theme=dark; ${header}`)!);
    expect(next.sessionId).toBe(pair.sessionId);
    expect(await codeOf(manager.refresh(readCookie(header)!))).toBe('refresh_reused');
  });
});

describe('strict encoding', () => {
  it('base64url round-trips any bytes and matches Node’s encoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = encodeBase64url(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64url'));
        expect(decodeBase64url(text)).toEqual(bytes);
      }),
    );
  });

  it('refuses padding, the standard alphabet, impossible lengths and non-canonical last characters', () => {
    for (const bad of ['QQ==', 'a+b/', 'A', 'QR', 'QUJ', 'ab c', 'ÿÿ'])
      expect(decodeBase64url(bad)).toBeUndefined();
    expect(decodeBase64url('QQ')).toEqual(new Uint8Array([65]));
    expect(decodeBase64url('QUI')).toEqual(new Uint8Array([65, 66]));
  });

  it('duplicate names are found at any depth and through escapes, never inside strings', () => {
    expect(hasDuplicateNames('{"a":1,"b":{"a":2}}')).toBe(false);
    expect(hasDuplicateNames('{"a":1,"a":2}')).toBe(true);
    expect(hasDuplicateNames('{"x":[{"a":1},{"a":2}]}')).toBe(false);
    expect(hasDuplicateNames('{"x":[{"a":1,"a":2}]}')).toBe(true);
    expect(hasDuplicateNames('{"a":"\\"a\\":","b" : 1, "b":2}')).toBe(true);
    expect(hasDuplicateNames('{"a":"\\"a\\":1"}')).toBe(false);
    expect(hasDuplicateNames('{"\\u0061":1,"a":2}')).toBe(true);
    expect(parseJsonObject('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonObject('null')).toEqual({ ok: false, reason: 'not_object' });
  });

  it('counts names in JSON nested far deeper than the call stack goes, without recursion', () => {
    const depth = 200_000;
    const text = `{"a":${'[{"k":0},'.repeat(depth)}0${']'.repeat(depth)}}`;
    expect(hasDuplicateNames(text)).toBe(false);
    expect(parseJsonObject(text).ok).toBe(true);
    const duplicate = `{"a":${'['.repeat(depth)}{"k":0,"k":1}${']'.repeat(depth)}}`;
    expect(parseJsonObject(duplicate)).toEqual({ ok: false, reason: 'duplicate' });
  });

  it('agrees with a reference on random JSON objects', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 })), {
          maxLength: 6,
        }),
        (entries) => {
          const text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
          const names = entries.map(([k]) => k);
          const nestedDuplicate = entries.some(([, v]) =>
            hasDuplicateNames(JSON.stringify(v ?? null)),
          );
          expect(hasDuplicateNames(text)).toBe(
            new Set(names).size !== names.length || nestedDuplicate,
          );
        },
      ),
    );
  });
});
