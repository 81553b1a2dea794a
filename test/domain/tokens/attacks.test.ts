import { createHmac, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../../src/adapters/clock/manual.ts';
import type { TokenError } from '../../../src/domain/tokens/errors.ts';
import type { GeneratedKey } from '../../../src/domain/tokens/keys.ts';
import type { SessionManager, TokenPair } from '../../../src/domain/tokens/types.ts';
import { b64, codeOf, errorOf, testKey, testManager } from './support.ts';

/**
 * The attack catalogue: every token here must be refused. Tokens signed with
 * the manager's own key are made with jose directly, so only the claim or
 * header under attack is wrong.
 */

let manager: SessionManager;
let clock: ManualClock;
let es: GeneratedKey;
let rs: GeneratedKey;
let pair: TokenPair;
let claims: Record<string, unknown>;

beforeAll(async () => {
  es = await testKey('ES256');
  rs = await testKey('RS256');
  ({ manager, clock } = await testManager({ keys: [es, rs] }));
  pair = await manager.issue('victim', { scope: 'read' });
  claims = { ...(await manager.verify(pair.accessToken)).claims };
});

/** Signs `payload` with the manager's real ES256 key and the given header. */
async function signed(
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
  key: GeneratedKey = es,
): Promise<string> {
  const privateKey = await importJWK(key.privateKey as JWK, key.alg);
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header } as never)
    .sign(privateKey);
}

/** Signs any header (jose would refuse some) with the manager's real ES256 key. */
function signedRaw(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
  const key = createPrivateKey({ key: es.privateKey as never, format: 'jwk' });
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** Assembles a token from raw header and payload text and a signature segment. */
function raw(header: string, payload: string, signature = 'c2ln'): string {
  return `${b64(header)}.${b64(payload)}.${signature}`;
}

async function expectRefused(token: string, code = 'token_invalid', reason?: string) {
  const error = (await errorOf(manager.verify(token))) as TokenError;
  expect(error.code).toBe(code);
  if (reason !== undefined) expect(error.reason).toBe(reason);
}

describe('attack catalogue: access-token verification refuses', () => {
  it('the baseline token verifies (so every refusal below is about the attack)', async () => {
    expect((await manager.verify(await signed(claims))).claims.sub).toBe('victim');
  });

  it('alg: none, with and without a signature', async () => {
    const header = JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: es.kid });
    await expectRefused(
      `${b64(header)}.${b64(JSON.stringify(claims))}.`,
      'token_invalid',
      'format.signature',
    );
    await expectRefused(raw(header, JSON.stringify(claims)), 'token_invalid', 'header.alg');
    const noneKid = JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: 'none' });
    await expectRefused(raw(noneKid, JSON.stringify(claims)), 'token_invalid', 'header.kid');
  });

  it('RS256 to HS256 key confusion: the public key (PEM and JWK text) used as an HMAC secret', async () => {
    const pem = createPublicKey({ key: rs.publicKey as never, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    for (const secret of [pem, JSON.stringify(rs.publicKey)]) {
      const header = b64(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: rs.kid }));
      const body = b64(JSON.stringify(claims));
      const mac = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
      await expectRefused(`${header}.${body}.${mac}`, 'token_invalid', 'header.alg');
    }
  });

  it('an algorithm other than the key’s own (PS256 on an RS256 key, ES256 on an EdDSA kid)', async () => {
    const ps = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'PS256', typ: 'at+jwt', kid: rs.kid })
      .sign(createPrivateKey({ key: rs.privateKey as never, format: 'jwk' }));
    await expectRefused(ps, 'token_invalid', 'header.alg');
  });

  it('unknown and injected kids: path traversal, SQL text, null bytes, huge', async () => {
    for (const kid of [
      'unknown',
      '../../../../../../dev/null',
      '/etc/passwd',
      "x' UNION SELECT 'secret' --",
      '1; DROP TABLE keys',
      'abc\u0000def',
      'k'.repeat(5000),
      '',
    ]) {
      await expectRefused(await signed(claims, { kid }), 'token_invalid', 'header.kid');
    }
    await expectRefused(await signed(claims, { kid: 42 }), 'token_invalid', 'header.kid');
  });

  it('embedded jwk, jku, x5u, x5c and x5t headers (attacker’s own key offered)', async () => {
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(attacker.publicKey);
    const forged = async (header: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: es.kid, ...header } as never)
        .sign(attacker.privateKey);
    await expectRefused(await forged({ jwk }), 'token_invalid', 'header.jwk');
    await expectRefused(
      await forged({ jku: 'https://evil.example/jwks.json' }),
      'token_invalid',
      'header.jku',
    );
    await expectRefused(
      await forged({ x5u: 'https://evil.example/cert.pem' }),
      'token_invalid',
      'header.x5u',
    );
    await expectRefused(await forged({ x5c: ['MIIB'] }), 'token_invalid', 'header.x5c');
    await expectRefused(await forged({ x5t: 'abc' }), 'token_invalid', 'header.x5t');
    // Even genuinely signed, an extra header member is refused.
    await expectRefused(
      await signed(claims, { jku: 'https://evil.example' }),
      'token_invalid',
      'header.jku',
    );
  });

  it('crit (unknown extension, or naming a registered claim), b64:false and zip, genuinely signed', async () => {
    const base = { alg: 'ES256', typ: 'at+jwt', kid: es.kid };
    expect((await manager.verify(signedRaw(base, claims))).claims.sub).toBe('victim');
    await expectRefused(
      signedRaw({ ...base, crit: ['exp'] }, claims),
      'token_invalid',
      'header.crit',
    );
    await expectRefused(
      signedRaw({ ...base, crit: ['x-unknown'], 'x-unknown': 1 }, claims),
      'token_invalid',
      'header.crit',
    );
    await expectRefused(
      signedRaw({ ...base, b64: false, crit: ['b64'] }, claims),
      'token_invalid',
      'header.b64',
    );
    await expectRefused(signedRaw({ ...base, zip: 'DEF' }, claims), 'token_invalid', 'header.zip');
  });

  it('wrong iss, aud and typ; a missing typ', async () => {
    await expectRefused(
      await signed({ ...claims, iss: 'https://evil.example' }),
      'token_invalid',
      'claim.iss',
    );
    await expectRefused(
      await signed({ ...claims, aud: 'other-api' }),
      'token_invalid',
      'claim.aud',
    );
    await expectRefused(await signed({ ...claims, aud: [] }), 'token_invalid', 'claim.aud');
    await expectRefused(
      await signed({ ...claims, aud: ['other', 7] }),
      'token_invalid',
      'claim.aud',
    );
    await expectRefused(await signed(claims, { typ: 'JWT' }), 'token_invalid', 'header.typ');
    await expectRefused(
      await signed(claims, { typ: 'id_token+jwt' }),
      'token_invalid',
      'header.typ',
    );
    const noTyp = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: es.kid })
      .sign(await importJWK(es.privateKey as JWK, 'ES256'));
    await expectRefused(noTyp, 'token_invalid', 'header.typ');
  });

  it('expired, not yet valid, and issued in the far future', async () => {
    const now = Math.floor(clock.now() / 1000);
    await expectRefused(
      await signed({ ...claims, iat: now - 1000, nbf: now - 1000, exp: now - 1 }),
      'token_expired',
    );
    await expectRefused(
      await signed({ ...claims, nbf: now + 60, exp: now + 900 }),
      'token_not_yet_valid',
    );
    await expectRefused(
      await signed({ ...claims, iat: now + 86_400 * 365, nbf: now, exp: now + 86_400 * 366 }),
      'token_invalid',
      'claim.iat',
    );
    await expectRefused(
      await signed({ ...claims, iat: now, exp: now }),
      'token_invalid',
      'claim.exp',
    );
    await expectRefused(
      await signed({ ...claims, nbf: now + 2000, exp: now + 1000 }),
      'token_invalid',
      'claim.nbf',
    );
  });

  it('required claims missing or ill-typed; numeric claims that are not finite integers in range', async () => {
    for (const name of ['exp', 'iat', 'jti', 'sub', 'sid', 'client_id', 'iss']) {
      const { [name]: _gone, ...rest } = claims;
      await expectRefused(await signed(rest));
    }
    for (const exp of [1.5, '2000000000', 1e20, -1, 253_402_300_800, null, true, [1]]) {
      await expectRefused(await signed({ ...claims, exp }), 'token_invalid', 'claim.exp');
    }
    const huge = JSON.stringify(claims).replace(/"exp":\d+/, '"exp":1e999');
    await expectRefused(
      raw(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: es.kid }), huge),
      'token_invalid',
    );
    await expectRefused(await signed({ ...claims, jti: '' }), 'token_invalid', 'claim.jti');
    await expectRefused(
      await signed({ ...claims, sub: 'x'.repeat(257) }),
      'token_invalid',
      'claim.sub',
    );
    await expectRefused(
      await signed({ ...claims, scope: ['read'] }),
      'token_invalid',
      'claim.scope',
    );
  });

  it('tampered payload, tampered signature, and a second spelling of the same signature', async () => {
    const [h, p, s] = pair.accessToken.split('.') as [string, string, string];
    const admin = b64(JSON.stringify({ ...claims, sub: 'admin' }));
    await expectRefused(`${h}.${admin}.${s}`, 'token_invalid', 'signature');
    const flipped = s[10] === 'A' ? 'B' : 'A';
    await expectRefused(
      `${h}.${p}.${s.slice(0, 10)}${flipped}${s.slice(11)}`,
      'token_invalid',
      'signature',
    );
    await expectRefused(`${h}.${p}.${s.slice(0, -4)}`, 'token_invalid');
    // ES256 signatures are 64 bytes: 86 characters, the last carrying 2 unused bits.
    const last = s.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) | 1]!;
    if (twin !== last)
      await expectRefused(
        `${h}.${p}.${s.slice(0, -1)}${twin}`,
        'token_invalid',
        'format.signature',
      );
    await expectRefused(`${h}.${p}.${s}=`, 'token_invalid', 'format.signature');
  });

  it('a 64 KB token is refused before any parsing or cryptography', async () => {
    const big = await signed({ ...claims, pad: 'x'.repeat(64 * 1024) });
    const started = performance.now();
    await expectRefused(big, 'token_invalid', 'format.size');
    expect(performance.now() - started).toBeLessThan(20);
    await expectRefused('a'.repeat(8193), 'token_invalid', 'format.size');
  });

  it('malformed base64, UTF-8 and JSON; duplicate member names; not an object', async () => {
    const header = JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: es.kid });
    const body = JSON.stringify(claims);
    await expectRefused('!!!.???.***', 'token_invalid', 'format.header');
    await expectRefused(`${b64(header)}.${b64(body)}`, 'token_invalid', 'format.segments');
    await expectRefused(
      `${b64(header)}.${b64(body)}.c2ln.c2ln`,
      'token_invalid',
      'format.segments',
    );
    await expectRefused(`${b64(header)}=.${b64(body)}.c2ln`, 'token_invalid', 'format.header');
    await expectRefused(
      `${Buffer.from(header).toString('base64')}+/.${b64(body)}.c2ln`,
      'token_invalid',
      'format.header',
    );
    await expectRefused(
      `${b64(header)}.${Buffer.from([0xc3, 0x28]).toString('base64url')}.c2ln`,
      'token_invalid',
      'format.payload.utf8',
    );
    await expectRefused(raw('{"alg":"ES256",', body), 'token_invalid', 'header.syntax');
    await expectRefused(raw(header, '{"sub":'), 'token_invalid', 'payload.syntax');
    await expectRefused(raw(header, '[1,2]'), 'token_invalid', 'payload.not_object');
    await expectRefused(raw(header, '"str"'), 'token_invalid', 'payload.not_object');
    await expectRefused(
      raw(`{"alg":"ES256","typ":"at+jwt","kid":"x","kid":"${es.kid}"}`, body),
      'token_invalid',
      'header.duplicate',
    );
    await expectRefused(
      raw(header, body.replace('{', '{"sub":"admin",')),
      'token_invalid',
      'payload.duplicate',
    );
    await expectRefused(
      raw(header, body.replace('{', '{"s\\u0075b":"admin",')),
      'token_invalid',
      'payload.duplicate',
    );
    await expectRefused(raw(header, '{"a":{"b":1,"b":2}}'), 'token_invalid', 'payload.duplicate');
    await expectRefused(raw(`\ufeff${header}`, body), 'token_invalid', 'header.syntax');
    for (const value of [undefined, null, 42, {}, ['a.b.c']]) {
      await expectRefused(value as never, 'token_invalid', 'format.type');
    }
    await expectRefused('', 'token_invalid', 'format.segments');
  });

  it('deeply nested JSON (maxTokenBytes raised) is token_invalid, never a stack overflow', async () => {
    const { manager: roomy } = await testManager({ keys: [es], maxTokenBytes: 65_536 });
    const header = JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: es.kid });
    const nested = (depth: number, inner = '') =>
      `{"a":${'['.repeat(depth)}${inner}${']'.repeat(depth)}}`;
    for (const depth of [20_000, 24_000]) {
      const token = raw(header, nested(depth));
      expect(token.length).toBeLessThanOrEqual(65_536);
      const error = (await errorOf(roomy.verify(token))) as TokenError;
      expect(error.code).toBe('token_invalid');
      // Parsed (and its names counted) to the bottom; refused by the claim checks.
      expect(error.reason).toBe('claim.sub');
    }
    // A duplicate name at the bottom is still found.
    const deepDuplicate = raw(header, nested(20_000, '{"b":1,"b":2}'));
    expect(((await errorOf(roomy.verify(deepDuplicate))) as TokenError).reason).toBe(
      'payload.duplicate',
    );
  });

  it('a token signed by a retired key, after its grace', async () => {
    const old = await testKey('EdDSA', 'retired');
    const { manager: before, clock: c, store } = await testManager({ keys: [old] });
    const issued = await before.issue('u');
    const { manager: after } = await testManager({
      keys: [
        es,
        { kid: old.kid, alg: 'EdDSA', publicKey: old.publicKey, retireAt: c.now() + 60_000 },
      ],
      clock: c,
      store,
    });
    await after.verify(issued.accessToken);
    c.advance(60_000);
    const error = (await errorOf(after.verify(issued.accessToken))) as TokenError;
    expect(error).toMatchObject({ code: 'token_invalid', reason: 'key.retired' });
  });
});

describe('attack catalogue: tokens presented for the wrong use', () => {
  it('an access token as a refresh token or a purpose token', async () => {
    expect(await codeOf(manager.refresh(pair.accessToken))).toBe('token_wrong_purpose');
    expect(await codeOf(manager.verifyPurposeToken('password_reset', pair.accessToken))).toBe(
      'token_wrong_purpose',
    );
    expect(await codeOf(manager.logout(pair.accessToken))).toBe('token_wrong_purpose');
  });

  it('a purpose token as an access token, as a refresh token, and as another purpose', async () => {
    const reset = await manager.issuePurposeToken('password_reset', 'victim');
    expect(await codeOf(manager.verify(reset.token))).toBe('token_wrong_purpose');
    expect(await codeOf(manager.refresh(reset.token))).toBe('token_wrong_purpose');
    for (const other of ['email_change', 'email_verify', 'login_mfa']) {
      expect(await codeOf(manager.verifyPurposeToken(other, reset.token))).toBe(
        'token_wrong_purpose',
      );
    }
  });

  it('a refresh token as an access token or a purpose token', async () => {
    expect(await codeOf(manager.verify(pair.refreshToken))).toBe('token_invalid');
    expect(await codeOf(manager.verifyPurposeToken('login_mfa', pair.refreshToken))).toBe(
      'token_invalid',
    );
  });

  it('a purpose token re-labelled for another purpose (kid or pur edited) fails its signature or purpose', async () => {
    const reset = await manager.issuePurposeToken('password_reset', 'victim');
    const [h, p, s] = reset.token.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const relabelled = `${h}.${b64(JSON.stringify({ ...payload, pur: 'email_change' }))}.${s}`;
    expect(await codeOf(manager.verifyPurposeToken('email_change', relabelled))).toBe(
      'token_wrong_purpose',
    );
    const kid = header.kid.replace('password_reset', 'email_change');
    const rekeyed = `${b64(JSON.stringify({ ...header, kid }))}.${b64(JSON.stringify({ ...payload, pur: 'email_change' }))}.${s}`;
    expect(await codeOf(manager.verifyPurposeToken('email_change', rekeyed))).toBe('token_invalid');
  });

  it('a purpose token forged with an access-token signing key', async () => {
    const reset = await manager.issuePurposeToken('password_reset', 'victim');
    const payload = JSON.parse(Buffer.from(reset.token.split('.')[1]!, 'base64url').toString());
    const forged = await signed(payload, { typ: 'purpose+jwt' });
    expect(await codeOf(manager.verifyPurposeToken('password_reset', forged))).toBe(
      'token_invalid',
    );
  });
});
