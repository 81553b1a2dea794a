import { describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../../src/adapters/clock/manual.ts';
import { createMemoryTokenStore } from '../../../src/adapters/memory/token-store.ts';
import {
  RefreshReusedError,
  TokenError,
  TokenStoreUnavailableError,
} from '../../../src/domain/tokens/errors.ts';
import { tokenAlgorithms } from '../../../src/domain/tokens/keys.ts';
import type { SessionManager } from '../../../src/domain/tokens/types.ts';
import type { TokenStore } from '../../../src/ports/token-store.ts';
import { createSessionManager } from '../../../src/sessions.ts';
import { expectCutoffEndsSessions } from './cutoff-sessions.ts';
import {
  codeOf,
  errorOf,
  expectRetryKeepsSession,
  payloadOf,
  testKey,
  testManager,
  testSecret,
} from './support.ts';

describe('SessionManager: issue and verify', () => {
  for (const alg of tokenAlgorithms) {
    it(`${alg}: issues an RFC 9068 access token that verifies, with a kid and every required claim`, async () => {
      const { manager, clock } = await testManager({ alg });
      const pair = await manager.issue('user-1', {
        scope: 'read write',
        roles: ['admin'],
        claims: { org: 'acme' },
      });
      const [header] = pair.accessToken.split('.');
      const key = await testKey(alg);
      expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({
        alg,
        typ: 'at+jwt',
        kid: key.kid,
      });
      const now = Math.floor(clock.now() / 1000);
      const { claims, kid, degraded } = await manager.verify(pair.accessToken);
      expect(kid).toBe(key.kid);
      expect(degraded).toBe(false);
      expect(claims).toEqual({
        org: 'acme',
        iss: 'https://auth.test',
        sub: 'user-1',
        aud: 'api',
        client_id: 'https://auth.test',
        iat: now,
        nbf: now,
        exp: now + 900,
        jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        sid: pair.sessionId,
        scope: 'read write',
        roles: ['admin'],
      });
      expect(pair).toMatchObject({
        tokenType: 'Bearer',
        expiresIn: 900,
        accessExpiresAt: (now + 900) * 1000,
        refreshExpiresAt: clock.now() + 7 * 86_400_000,
        userId: 'user-1',
      });
    });
  }

  it('refresh tokens are opaque, carry 256 random bits, and differ every time', async () => {
    const { manager } = await testManager();
    const a = await manager.issue('u');
    const b = await manager.issue('u');
    expect(a.refreshToken).toMatch(
      /^lwr1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/,
    );
    expect(a.refreshToken.split('.')[4]).not.toBe(b.refreshToken.split('.')[4]);
    expect(a.sessionId).not.toBe(b.sessionId);
  });

  it('stores only hashes of the refresh token and its family', async () => {
    const store = createMemoryTokenStore();
    const { manager, clock } = await testManager({ store });
    const pair = await manager.issue('u', { ip: '203.0.113.9', userAgent: 'curl/8' });
    const session = await store.getSession('u', pair.sessionId, clock.now());
    const text = JSON.stringify(session);
    for (const part of pair.refreshToken.split('.').slice(3)) expect(text).not.toContain(part);
    expect(session).toMatchObject({ ip: '203.0.113.9', userAgent: 'curl/8', generation: 0 });
  });

  it('refuses reserved claim names, bad scopes, roles and audiences at issue', async () => {
    const { manager } = await testManager();
    for (const name of [
      'iss',
      'sub',
      'aud',
      'exp',
      'nbf',
      'iat',
      'jti',
      'sid',
      'client_id',
      'scope',
      'roles',
      'pur',
    ]) {
      expect(await codeOf(manager.issue('u', { claims: { [name]: 'x' } }))).toBe('invalid_option');
    }
    expect(await codeOf(manager.issue('u', { scope: 'a "b"' }))).toBe('invalid_option');
    expect(await codeOf(manager.issue('u', { roles: [''] }))).toBe('invalid_option');
    expect(await codeOf(manager.issue('u', { audience: 'other' }))).toBe('invalid_option');
    expect(await codeOf(manager.issue(''))).toBe('invalid_option');
    expect(await codeOf(manager.issue('x'.repeat(257)))).toBe('invalid_option');
  });

  it('verify requires scopes when asked (insufficient_scope, HTTP 403)', async () => {
    const { manager } = await testManager();
    const pair = await manager.issue('u', { scope: ['read', 'write'] });
    expect((await manager.verify(pair.accessToken, { scope: 'read' })).claims.scope).toBe(
      'read write',
    );
    const error = await errorOf(manager.verify(pair.accessToken, { scope: 'read admin' }));
    expect(error).toMatchObject({
      code: 'insufficient_scope',
      status: 403,
      required: ['read', 'admin'],
    });
  });

  it('custom validators run on every verification; false or a throw is token_invalid', async () => {
    const seen: string[] = [];
    const { manager } = await testManager({
      validators: [
        (claims, kind) => {
          seen.push(`${kind}:${claims.sub}`);
          return claims.sub !== 'banned';
        },
      ],
    });
    const ok = await manager.issue('u');
    const banned = await manager.issue('banned');
    await manager.verify(ok.accessToken);
    expect(await codeOf(manager.verify(banned.accessToken))).toBe('token_invalid');
    expect(
      await codeOf(
        manager.verify(ok.accessToken, {
          validate: async () => {
            throw new Error('nope');
          },
        }),
      ),
    ).toBe('token_invalid');
    expect(seen).toEqual(['access:u', 'access:banned', 'access:u']);
  });

  it('errors carry a fixed message per code; the failed check stays out of JSON', async () => {
    const { manager } = await testManager();
    const error = (await errorOf(manager.verify('a.b.c'))) as TokenError;
    expect(error).toBeInstanceOf(TokenError);
    expect(error.message).toBe('The token is invalid.');
    expect(error.reason).toBe('format.header');
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'token_invalid',
      message: 'The token is invalid.',
    });
    expect(error.status).toBe(401);
  });

  it('validates its options and names the bad one', async () => {
    const key = await testKey();
    const base = { issuer: 'i', audience: 'a', keys: [key] };
    const bad: [Record<string, unknown>, string][] = [
      [{ issuer: '' }, 'issuer'],
      [{ audience: [] }, 'audience'],
      [{ keys: [] }, 'keys'],
      [{ keys: [{ ...key, kid: '../etc' }] }, 'keys[0].kid'],
      [{ keys: [{ ...key, alg: 'none' }] }, 'keys[0].alg'],
      [{ keys: [{ kid: 'h', alg: 'HS256', secret: 'short' }] }, 'keys[0].secret'],
      [{ keys: [key, key] }, 'keys[1].kid'],
      [{ accessTokenTtl: '2d' }, 'accessTokenTtl'],
      [{ refreshGrace: '5s' }, 'secret'],
      [{ refreshGrace: '2m', secret: testSecret }, 'refreshGrace'],
      [{ clockTolerance: '1h' }, 'clockTolerance'],
      [{ maxTokenBytes: 100 }, 'maxTokenBytes'],
      [{ secret: 'too short' }, 'secret'],
      [{ purposes: { invite: {} } }, 'secret'],
      [{ secret: testSecret, purposes: { 'Bad-Name': {} } }, 'purposes.Bad-Name'],
      [{ secret: testSecret, purposes: { refresh: {} } }, 'purposes.refresh'],
      [{ failure: { policy: 'fallback' } }, 'failure.policy'],
      [{ failure: { policy: 'closed', timeoutMs: 0 } }, 'failure.timeoutMs'],
      [{ signingKid: 'missing' }, 'signingKid'],
    ];
    for (const [override, option] of bad) {
      const error = await createSessionManager({ ...base, ...override } as never).then(
        () => new Error(`accepted ${option}`),
        (e: unknown) => e,
      );
      expect(error, option).toMatchObject({ code: 'invalid_option', option });
    }
  });
});

describe('SessionManager: refresh rotation', () => {
  it('rotates on every use; the old token then fails with refresh_reused and revokes the session', async () => {
    const { manager, clock } = await testManager();
    const first = await manager.issue('u', { scope: 'read', claims: { org: 1 } });
    clock.advance(60_000);
    const second = await manager.refresh(first.refreshToken, { ip: '198.51.100.1' });
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.sessionId).toBe(first.sessionId);
    const claims = (await manager.verify(second.accessToken)).claims;
    expect(claims).toMatchObject({
      scope: 'read',
      org: 1,
      sid: first.sessionId,
      iat: Math.floor(clock.now() / 1000),
    });
    const third = await manager.refresh(second.refreshToken);
    const error = await errorOf(manager.refresh(first.refreshToken));
    expect(error).toBeInstanceOf(RefreshReusedError);
    expect(error).toMatchObject({
      code: 'refresh_reused',
      userId: 'u',
      sessionId: first.sessionId,
    });
    // The whole family is revoked: the newest refresh token and every access token of the session.
    expect(await codeOf(manager.refresh(third.refreshToken))).toBe('refresh_reused');
    expect(await codeOf(manager.verify(third.accessToken))).toBe('token_revoked');
    expect(await codeOf(manager.verify(first.accessToken))).toBe('token_revoked');
  });

  it('a forged secret for a known session is session_not_found and revokes nothing', async () => {
    const { manager } = await testManager();
    const pair = await manager.issue('u');
    const parts = pair.refreshToken.split('.');
    const forgedFamily = [...parts.slice(0, 3), 'A'.repeat(22), parts[4]].join('.');
    expect(await codeOf(manager.refresh(forgedFamily))).toBe('session_not_found');
    await manager.verify(pair.accessToken);
    await manager.refresh(pair.refreshToken);
  });

  it('refresh tokens expire after 7 days of disuse, and sessions after 30 days whatever the rotations', async () => {
    const { manager, clock } = await testManager();
    const idle = await manager.issue('u');
    clock.advance(7 * 86_400_000);
    expect(await codeOf(manager.refresh(idle.refreshToken))).toBe('session_not_found');
    let pair = await manager.issue('u');
    for (let day = 0; day < 29; day++) {
      clock.advance(86_400_000);
      pair = await manager.refresh(pair.refreshToken);
    }
    expect(pair.refreshExpiresAt).toBe(clock.now() + 86_400_000);
    clock.advance(86_400_000);
    expect(await codeOf(manager.refresh(pair.refreshToken))).toBe('session_not_found');
  });

  it('with a grace period every concurrent caller gets the same pair; after it, reuse', async () => {
    const { manager, clock } = await testManager({ refreshGrace: '10s', alg: 'EdDSA' });
    const pair = await manager.issue('u');
    const results = await Promise.all(
      Array.from({ length: 10 }, () => manager.refresh(pair.refreshToken)),
    );
    for (const r of results) {
      expect(r.refreshToken).toBe(results[0]!.refreshToken);
      // EdDSA signatures are deterministic: the access tokens are identical strings.
      expect(r.accessToken).toBe(results[0]!.accessToken);
    }
    clock.advance(5000);
    const late = await manager.refresh(pair.refreshToken);
    expect(late.accessToken).toBe(results[0]!.accessToken);
    clock.advance(5000);
    expect(await codeOf(manager.refresh(pair.refreshToken))).toBe('refresh_reused');
  });

  it('two servers whose clocks disagree: a replay on the one behind is reuse, not the new pair', async () => {
    const store = createMemoryTokenStore();
    for (const secret of [testSecret, undefined]) {
      const clockA = createManualClock(1_700_000_002_000);
      const clockB = createManualClock(1_700_000_000_000); // 2 s behind A
      const { manager: a } = await testManager({ store, clock: clockA, secret });
      const { manager: b } = await testManager({ store, clock: clockB, secret });
      const pair = await a.issue('u');
      const legit = await a.refresh(pair.refreshToken);
      // The thief replays the old token on B: refreshGrace is off, so this is reuse.
      expect(await codeOf(b.refresh(pair.refreshToken))).toBe('refresh_reused');
      expect(await codeOf(a.refresh(legit.refreshToken))).toBe('refresh_reused');
      expect(await codeOf(a.verify(legit.accessToken))).toBe('token_revoked');
    }
  });

  it('an access token or garbage given as a refresh token is refused', async () => {
    const { manager } = await testManager();
    const pair = await manager.issue('u');
    expect(await codeOf(manager.refresh(pair.accessToken))).toBe('token_wrong_purpose');
    expect(await codeOf(manager.refresh('lwr1.x.y.z.w'))).toBe('token_invalid');
    expect(await codeOf(manager.refresh(`${pair.refreshToken}x`))).toBe('token_invalid');
    expect(await codeOf(manager.refresh(42 as never))).toBe('token_invalid');
  });
});

describe('SessionManager: revocation', () => {
  it('revokeAccessToken deny-lists the jti until the token expires', async () => {
    const { manager, clock } = await testManager();
    const pair = await manager.issue('u');
    const other = await manager.refresh(pair.refreshToken);
    const { claims } = await manager.verify(other.accessToken);
    await manager.revokeAccessToken(claims);
    expect(await codeOf(manager.verify(other.accessToken))).toBe('token_revoked');
    expect(((await errorOf(manager.verify(other.accessToken))) as TokenError).reason).toBe(
      'revoked.jti',
    );
    const fresh = await manager.refresh(other.refreshToken);
    await manager.verify(fresh.accessToken);
    clock.advance(900_000);
    expect(await codeOf(manager.verify(other.accessToken))).toBe('token_expired');
  });

  it('logout with access-token claims ends that session only', async () => {
    const { manager } = await testManager();
    const phone = await manager.issue('u');
    const laptop = await manager.issue('u');
    const { claims } = await manager.verify(phone.accessToken);
    expect(await manager.logout(claims)).toBe(true);
    expect(await codeOf(manager.verify(phone.accessToken))).toBe('token_revoked');
    expect(await codeOf(manager.refresh(phone.refreshToken))).toBe('session_not_found');
    await manager.verify(laptop.accessToken);
    expect(await manager.logout(claims)).toBe(false);
  });

  it('logout with a refresh token ends its session; a forged one ends nothing', async () => {
    const { manager } = await testManager();
    const pair = await manager.issue('u');
    const parts = pair.refreshToken.split('.');
    expect(await manager.logout([...parts.slice(0, 3), 'A'.repeat(22), parts[4]].join('.'))).toBe(
      false,
    );
    await manager.verify(pair.accessToken);
    expect(await manager.logout(pair.refreshToken)).toBe(true);
    expect(await codeOf(manager.verify(pair.accessToken))).toBe('token_revoked');
  });

  it('logoutAll revokes every session and every token issued at or before it, purpose tokens too', async () => {
    const { manager, clock } = await testManager();
    const a = await manager.issue('u');
    const b = await manager.issue('u');
    const reset = await manager.issuePurposeToken('password_reset', 'u');
    const bystander = await manager.issue('someone-else');
    clock.advance(500);
    expect(await manager.logoutAll('u')).toBe(2);
    expect(await codeOf(manager.verify(a.accessToken))).toBe('token_revoked');
    expect(await codeOf(manager.verify(b.accessToken))).toBe('token_revoked');
    expect(await codeOf(manager.refresh(b.refreshToken))).toBe('session_not_found');
    expect(await codeOf(manager.verifyPurposeToken('password_reset', reset.token))).toBe(
      'token_revoked',
    );
    await manager.verify(bystander.accessToken);
    // A login 1 ms after the cut-off, in the same second, works, and so does
    // a purpose token issued then ("reset password, log out everywhere, log in").
    clock.advance(1);
    const after = await manager.issue('u');
    await manager.verify(after.accessToken);
    const fresh = await manager.issuePurposeToken('password_reset', 'u');
    await manager.verifyPurposeToken('password_reset', fresh.token);
  });

  it('logoutAll covers purpose tokens whose per-call ttl is longer than their purpose lifetime', async () => {
    const { manager, clock } = await testManager({
      purposes: { invite: { ttl: '1h', singleUse: false } },
    });
    const invite = await manager.issuePurposeToken('invite', 'u', { ttl: '30d' });
    const reset = await manager.issuePurposeToken('password_reset', 'u', { ttl: '30d' });
    clock.advance(1000);
    await manager.logoutAll('u');
    for (const days of [0, 2, 29]) {
      clock.set(invite.expiresAt - (30 - days) * 86_400_000);
      expect(await codeOf(manager.verifyPurposeToken('invite', invite.token)), `day ${days}`).toBe(
        'token_revoked',
      );
      expect(
        await codeOf(manager.verifyPurposeToken('password_reset', reset.token, { consume: false })),
        `day ${days}`,
      ).toBe('token_revoked');
    }
    clock.set(invite.expiresAt);
    expect(await codeOf(manager.verifyPurposeToken('invite', invite.token))).toBe('token_expired');
  });

  it('a login racing logoutAll (clock read before it, session stored after it) can neither be used nor refreshed', async () => {
    const memory = createMemoryTokenStore();
    let release = () => {};
    const landed = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The login's session reaches the store only after logoutAll has run.
    const store: TokenStore = {
      ...memory,
      createSession: async (session, options) => {
        await landed;
        return memory.createSession(session, options);
      },
    };
    const { manager, clock } = await testManager({ store });
    const login = manager.issue('u');
    clock.advance(5);
    expect(await manager.logoutAll('u')).toBe(0);
    release();
    const pair = await login;
    expect(await codeOf(manager.verify(pair.accessToken))).toBe('token_revoked');
    expect(await manager.listSessions('u')).toEqual([]);
    // The cut-off outlives the session's refresh token (7 days), however late it is presented.
    clock.advance(7 * 86_400_000 - 10);
    expect(await codeOf(manager.refresh(pair.refreshToken))).toBe('session_not_found');
    // A login after the cut-off works.
    const fresh = await manager.issue('u');
    await manager.verify(fresh.accessToken);
    await manager.refresh(fresh.refreshToken);
  });

  it('sessions only a cut-off ended are reported ended: listed, read, revoked, counted by logoutAll', async () => {
    await expectCutoffEndsSessions(createMemoryTokenStore());
  });

  it('revokeOtherSessions keeps the current session; listSessions shows what is left', async () => {
    const { manager, clock } = await testManager();
    const phone = await manager.issue('u', { ip: '198.51.100.1', userAgent: 'Phone' });
    clock.advance(1000);
    const laptop = await manager.issue('u', { ip: '198.51.100.2', userAgent: 'Laptop' });
    clock.advance(1000);
    await manager.refresh(laptop.refreshToken, { ip: '198.51.100.3' });
    const listed = await manager.listSessions('u', { currentSessionId: laptop.sessionId });
    expect(listed).toEqual([
      {
        id: laptop.sessionId,
        createdAt: clock.now() - 1000,
        lastUsedAt: clock.now(),
        expiresAt: clock.now() + 7 * 86_400_000,
        ip: '198.51.100.2',
        userAgent: 'Laptop',
        lastIp: '198.51.100.3',
        generation: 1,
        current: true,
      },
      expect.objectContaining({
        id: phone.sessionId,
        userAgent: 'Phone',
        current: false,
        generation: 0,
      }),
    ]);
    expect(await manager.revokeOtherSessions('u', laptop.sessionId)).toBe(1);
    expect(await codeOf(manager.verify(phone.accessToken))).toBe('token_revoked');
    expect((await manager.listSessions('u')).map((s) => s.id)).toEqual([laptop.sessionId]);
    expect(await manager.revokeSession('u', laptop.sessionId)).toBe(true);
    expect(await manager.listSessions('u')).toEqual([]);
  });
});

describe('SessionManager: purpose tokens', () => {
  it('built-in and custom purposes: right purpose verifies, single use is enforced', async () => {
    const { manager, clock } = await testManager({
      purposes: { invite: { ttl: '7d', singleUse: false } },
    });
    const reset = await manager.issuePurposeToken('password_reset', 'u');
    expect(reset.expiresAt).toBe(clock.now() + 30 * 60_000);
    const peek = await manager.verifyPurposeToken('password_reset', reset.token, {
      consume: false,
    });
    expect(peek.claims).toMatchObject({ sub: 'u', pur: 'password_reset', jti: reset.jti });
    await manager.verifyPurposeToken('password_reset', reset.token);
    expect(await codeOf(manager.verifyPurposeToken('password_reset', reset.token))).toBe(
      'token_already_used',
    );
    const invite = await manager.issuePurposeToken('invite', 'u', { claims: { team: 't1' } });
    for (let i = 0; i < 3; i++) {
      expect((await manager.verifyPurposeToken('invite', invite.token)).claims.team).toBe('t1');
    }
    const change = await manager.issuePurposeToken('email_change', 'u', {
      claims: { email: 'n@example.com' },
      ttl: '10m',
    });
    clock.advance(10 * 60_000);
    expect(await codeOf(manager.verifyPurposeToken('email_change', change.token))).toBe(
      'token_expired',
    );
  });

  it('a purpose token can be revoked by jti like an access token', async () => {
    const { manager } = await testManager();
    const mfa = await manager.issuePurposeToken('login_mfa', 'u');
    const exp = payloadOf(mfa.token).exp as number;
    await manager.revokeAccessToken({ sub: 'u', jti: mfa.jti, exp });
    expect(await codeOf(manager.verifyPurposeToken('login_mfa', mfa.token))).toBe('token_revoked');
  });

  it('unknown purpose, and purposes without a master secret, are usage errors', async () => {
    const { manager } = await testManager();
    expect(await codeOf(manager.issuePurposeToken('nope', 'u'))).toBe('invalid_option');
    const { manager: plain } = await testManager({ secret: undefined });
    expect(await errorOf(plain.issuePurposeToken('password_reset', 'u'))).toMatchObject({
      option: 'secret',
    });
  });

  it('purpose tokens keep verifying after the master secret rotates (old secret listed second)', async () => {
    const { manager: before, clock, store } = await testManager({ secret: testSecret });
    const token = await before.issuePurposeToken('email_verify', 'u');
    const newSecret = 'a-brand-new-master-secret-0123456789-xyz';
    const { manager: after } = await testManager({ secret: [newSecret, testSecret], clock, store });
    await after.verifyPurposeToken('email_verify', token.token);
    const { manager: dropped } = await testManager({ secret: newSecret, clock, store });
    const fresh = await before.issuePurposeToken('email_verify', 'u');
    expect(await codeOf(dropped.verifyPurposeToken('email_verify', fresh.token))).toBe(
      'token_invalid',
    );
  });
});

describe('SessionManager: keys', () => {
  it('never signs a token that would outlive its key: a retiring key hands over, or caps exp', async () => {
    const a = await testKey('ES256', 'retiring');
    const b = await testKey('EdDSA', 'next');
    const clock = createManualClock(1_700_000_000_000);
    // A retires in a day, B has no end: A signs while its tokens (15 min) end before it retires.
    const day = 86_400_000;
    const { manager } = await testManager({
      clock,
      keys: [
        { ...a, retireAt: clock.now() + day },
        { ...b, retireAt: undefined },
      ],
    });
    const early = await manager.issue('u');
    expect((await manager.verify(early.accessToken)).kid).toBe(a.kid);
    clock.advance(day - 10 * 60_000);
    const late = await manager.issue('u');
    expect((await manager.verify(late.accessToken)).kid).toBe(b.kid);
    expect(late.expiresIn).toBe(15 * 60);
    clock.advance(10 * 60_000 + 1);
    // A retired: B's token still verifies to its end.
    await manager.verify(late.accessToken);
    // Only a retiring key to sign with: its tokens end when it retires, not after.
    const { manager: alone, clock: c2 } = await testManager({
      keys: [{ ...a, retireAt: 1_700_000_000_000 + 10 * 60_000 }],
    });
    const capped = await alone.issue('u');
    expect(capped.expiresIn).toBe(10 * 60);
    expect(capped.accessExpiresAt).toBe(1_700_000_000_000 + 10 * 60_000);
    expect(payloadOf(capped.accessToken).exp).toBe((1_700_000_000_000 + 10 * 60_000) / 1000);
    c2.advance(9 * 60_000);
    await alone.verify(capped.accessToken);
    // Within the second of its retirement no token could live: issuing fails, no session is left.
    const { manager: ending, clock: c3 } = await testManager({
      keys: [{ ...a, retireAt: 1_700_000_000_000 + 1_500 }],
    });
    c3.advance(1_200);
    expect(await codeOf(ending.issue('v'))).toBe('invalid_option');
    expect(await ending.listSessions('v')).toEqual([]);
  });

  it('rotation: a new signing key, the old one verifying until retireAt; JWKS lists what verifies', async () => {
    const oldKey = await testKey('ES256', 'old');
    const newKey = await testKey('EdDSA', 'new');
    const { manager: before, clock, store } = await testManager({ keys: [oldKey] });
    const issuedBefore = await before.issue('u');
    const retireAt = clock.now() + 15 * 60_000;
    const { manager: after } = await testManager({
      keys: [newKey, { ...oldKey, privateKey: undefined, retireAt }],
      clock,
      store,
    });
    const issuedAfter = await after.issue('u');
    expect(payloadOf(issuedAfter.accessToken)).toBeDefined();
    expect((await after.verify(issuedAfter.accessToken)).kid).toBe(newKey.kid);
    expect((await after.verify(issuedBefore.accessToken)).kid).toBe(oldKey.kid);
    expect(after.jwks().keys.map((k) => k.kid)).toEqual([newKey.kid, oldKey.kid]);
    for (const jwk of after.jwks().keys) {
      expect(jwk).not.toHaveProperty('d');
      expect(jwk.use).toBe('sig');
    }
    clock.advance(14 * 60_000);
    await after.verify(issuedBefore.accessToken);
    clock.advance(60_000);
    expect(after.jwks().keys.map((k) => k.kid)).toEqual([newKey.kid]);
    // Retired while still inside its own lifetime (retireAt was set too early on purpose here).
    const { manager: early } = await testManager({
      keys: [newKey, { ...oldKey, privateKey: undefined, retireAt: clock.now() }],
      clock,
      store,
    });
    const again = await before.issue('u');
    expect(await codeOf(early.verify(again.accessToken))).toBe('token_invalid');
  });

  it('HS256 keys never appear in the JWKS; PEM and JWK inputs are imported once', async () => {
    const es = await testKey('ES256');
    const { createPrivateKey } = await import('node:crypto');
    const pem = createPrivateKey({ key: es.privateKey as never, format: 'jwk' })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const { manager } = await testManager({
      keys: [
        { kid: 'pem-key', alg: 'ES256', privateKey: pem },
        { kid: 'hmac', alg: 'HS256', secret: 'h'.repeat(32) },
      ],
    });
    expect(manager.jwks().keys.map((k) => k.kid)).toEqual(['pem-key']);
    expect(manager.jwks().keys[0]).toMatchObject({ x: (es.publicKey as { x: string }).x });
    const pair = await manager.issue('u');
    expect((await manager.verify(pair.accessToken)).kid).toBe('pem-key');
  });

  it('publishes only the public members of a key, whatever else its JWK carries', async () => {
    const es = await testKey('ES256');
    const extra = { ...(es.privateKey as Record<string, unknown>), secret: 'leak', note: 'x' };
    const { manager } = await testManager({
      keys: [{ kid: 'extra', alg: 'ES256', privateKey: extra as never }],
    });
    const [published] = manager.jwks().keys;
    expect(Object.keys(published!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });

  it('a verify-only ring (public key only) verifies but cannot issue', async () => {
    const key = await testKey('ES256');
    const { manager: issuer, clock, store } = await testManager({ keys: [key] });
    const pair = await issuer.issue('u');
    const { manager: verifier } = await testManager({
      keys: [{ kid: key.kid, alg: 'ES256', publicKey: key.publicKey }],
      clock,
      store,
    });
    expect((await verifier.verify(pair.accessToken)).claims.sub).toBe('u');
    expect(await codeOf(verifier.issue('u'))).toBe('invalid_option');
  });
});

describe('SessionManager: store failures', () => {
  const failing = (): TokenStore => {
    const store = createMemoryTokenStore();
    const fail = async () => {
      throw new Error('ECONNREFUSED');
    };
    return {
      ...store,
      inProcess: false,
      revocationState: fail,
      rotateRefresh: fail,
      denyJti: fail,
    };
  };

  it('closed (default): verification fails with token_store_unavailable (503); open: passes, degraded', async () => {
    const events: string[] = [];
    const { manager: closed } = await testManager({ store: failing() });
    const { manager: open } = await testManager({
      store: failing(),
      failure: { policy: 'open' },
      onEvent: (e) =>
        events.push(e.type === 'degraded' ? `${e.type}:${e.operation}:${e.cause}` : e.type),
    });
    const pair = await closed.issue('u');
    const error = await errorOf(closed.verify(pair.accessToken));
    expect(error).toBeInstanceOf(TokenStoreUnavailableError);
    expect(error).toMatchObject({ status: 503, code: 'token_store_unavailable' });
    const openPair = await open.issue('u');
    expect((await open.verify(openPair.accessToken)).degraded).toBe(true);
    expect(events).toEqual(['failure', 'degraded:revocationState:failure']);
    // Writes fail closed under every policy.
    expect(await codeOf(open.refresh(openPair.refreshToken))).toBe('token_store_unavailable');
    const claims = (await open.verify(openPair.accessToken)).claims;
    expect(await codeOf(open.revokeAccessToken(claims))).toBe('token_store_unavailable');
    // Single-use purpose tokens need the store even under open.
    const reset = await open.issuePurposeToken('password_reset', 'u');
    expect(await codeOf(open.verifyPurposeToken('password_reset', reset.token))).toBe(
      'token_store_unavailable',
    );
  });
});

/**
 * A memory store behind the timeout wrapper whose next rotation, once
 * stalled, waits for `resume`: like a Redis script or a PostgreSQL
 * transaction, a rotation the caller gave up on is then applied (or, with
 * `apply` false, was lost on the way and never is).
 */
function stallingStore(memory = createMemoryTokenStore()) {
  let next: { reached: () => void; go: Promise<boolean> } | undefined;
  let applied: Promise<unknown> = Promise.resolve();
  // A dropped rotation: the store never answers it.
  const never = new Promise<never>(() => {});
  const store: TokenStore = {
    ...memory,
    inProcess: false,
    rotateRefresh(request) {
      const stall = next;
      next = undefined;
      if (stall === undefined) return memory.rotateRefresh(request);
      stall.reached();
      // The caller's abort (the timeout) cannot stop it.
      const outcome = stall.go.then((apply) => (apply ? memory.rotateRefresh(request) : never));
      applied = outcome.catch(() => {});
      return outcome;
    },
  };
  return {
    store,
    memory,
    /** Stalls the next rotation. */
    stallNext() {
      let reached!: () => void;
      let resume!: (apply: boolean) => void;
      const reachedStore = new Promise<void>((resolve) => {
        reached = resolve;
      });
      const go = new Promise<boolean>((resolve) => {
        resume = resolve;
      });
      next = { reached, go };
      return {
        /** Resolves once the rotation reached the store. */
        reached: reachedStore,
        /** Lets it go on; resolves once the store applied it (or at once when it is dropped). */
        async resume(apply: boolean) {
          resume(apply);
          if (apply) await applied;
        },
      };
    },
  };
}

describe('SessionManager: failure.rotateTimeoutMs', () => {
  it('bounds the wait for a rotation, and is validated at start-up', async () => {
    const stalling = stallingStore();
    const { manager, clock } = await testManager({
      store: stalling.store,
      failure: { timeoutMs: 50, rotateTimeoutMs: 3000 },
    });
    const pair = await manager.issue('u');
    const stall = stalling.stallNext();
    const refreshing = manager.refresh(pair.refreshToken);
    await stall.reached;
    // Past the 1 s default, within the 3 s given: still waiting, then answered.
    clock.advance(2000);
    await stall.resume(true);
    const refreshed = await refreshing;
    await manager.verify(refreshed.accessToken);
    for (const rotateTimeoutMs of [0, 10_001, 1.5]) {
      const error = await testManager({ failure: { rotateTimeoutMs } }).catch((e: unknown) => e);
      expect(error).toMatchObject({ option: 'failure.rotateTimeoutMs' });
    }
  });
});

describe('SessionManager: a refresh whose store call timed out', () => {
  /** Refreshes while the store stalls, past the rotation timeout (1 s by default): 503. */
  async function timedOutRefresh(
    manager: SessionManager,
    clock: ManualClock,
    stalling: ReturnType<typeof stallingStore>,
    token: string,
  ) {
    const stall = stalling.stallNext();
    const refreshing = manager.refresh(token);
    await stall.reached;
    clock.advance(1000);
    expect(await codeOf(refreshing)).toBe('token_store_unavailable');
    return stall;
  }

  for (const secret of [testSecret, undefined]) {
    const label = secret === undefined ? 'without secret' : 'with secret';

    it(`${label}: the store applied it anyway; the client's retry gets the pair, a true replay still ends the session`, async () => {
      const stalling = stallingStore();
      const { manager, clock } = await testManager({ store: stalling.store, secret });
      const pair = await manager.issue('u');
      const stall = await timedOutRefresh(manager, clock, stalling, pair.refreshToken);
      await stall.resume(true);
      clock.advance(2000);
      await expectRetryKeepsSession(manager, 'u', pair.refreshToken);
    });

    it(`${label}: the store never got it; the retry rotates, once`, async () => {
      const stalling = stallingStore();
      const { manager, clock } = await testManager({ store: stalling.store, secret });
      const pair = await manager.issue('u');
      const stall = await timedOutRefresh(manager, clock, stalling, pair.refreshToken);
      await stall.resume(false);
      const retry = await manager.refresh(pair.refreshToken);
      await manager.verify(retry.accessToken);
      expect(await codeOf(manager.refresh(pair.refreshToken))).toBe('refresh_reused');
    });

    it(`${label}: a retry the open breaker refused leaves the next retry its pair`, async () => {
      const stalling = stallingStore();
      const { manager, clock } = await testManager({
        store: stalling.store,
        secret,
        failure: { breaker: { failureThreshold: 1, cooldownMs: 5000 } },
      });
      const pair = await manager.issue('u');
      const stall = await timedOutRefresh(manager, clock, stalling, pair.refreshToken);
      await stall.resume(true);
      expect(await codeOf(manager.refresh(pair.refreshToken))).toBe('token_store_unavailable');
      clock.advance(6000);
      const retry = await manager.refresh(pair.refreshToken);
      await manager.verify(retry.accessToken);
      expect((await manager.listSessions('u'))[0]?.generation).toBe(1);
    });

    it(`${label}: a retry later than 30 s is reuse, as before`, async () => {
      const stalling = stallingStore();
      const { manager, clock } = await testManager({ store: stalling.store, secret });
      const pair = await manager.issue('u');
      const stall = await timedOutRefresh(manager, clock, stalling, pair.refreshToken);
      await stall.resume(true);
      clock.advance(29_000);
      expect(await codeOf(manager.refresh(pair.refreshToken))).toBe('refresh_reused');
    });
  }

  it('without secret: a retry after another presentation rotated the token is reuse, and revokes the family', async () => {
    const stalling = stallingStore();
    const { manager: a, clock } = await testManager({ store: stalling.store, secret: undefined });
    // Another server on the same store.
    const { manager: b } = await testManager({ store: stalling.memory, clock, secret: undefined });
    const pair = await a.issue('u');
    const stall = await timedOutRefresh(a, clock, stalling, pair.refreshToken);
    await stall.resume(false);
    const other = await b.refresh(pair.refreshToken);
    expect(await codeOf(a.refresh(pair.refreshToken))).toBe('refresh_reused');
    expect(await codeOf(b.verify(other.accessToken))).toBe('token_revoked');
    expect(await codeOf(b.refresh(other.refreshToken))).toBe('refresh_reused');
  });

  it('with secret: the other presentation got the same successor, so the retry gets the same pair', async () => {
    const stalling = stallingStore();
    const { manager: a, clock } = await testManager({ store: stalling.store, alg: 'EdDSA' });
    const { manager: b } = await testManager({ store: stalling.memory, clock, alg: 'EdDSA' });
    const pair = await a.issue('u');
    const stall = await timedOutRefresh(a, clock, stalling, pair.refreshToken);
    await stall.resume(false);
    const other = await b.refresh(pair.refreshToken);
    const retry = await a.refresh(pair.refreshToken);
    expect(retry.refreshToken).toBe(other.refreshToken);
    expect(retry.accessToken).toBe(other.accessToken);
    // The token's one retry is spent.
    expect(await codeOf(a.refresh(pair.refreshToken))).toBe('refresh_reused');
  });
});
