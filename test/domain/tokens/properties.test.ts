import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reservedClaims } from '../../../src/domain/tokens/claims.ts';
import { codeOf, testManager } from './support.ts';

/**
 * Properties of the session manager over random schedules. EdDSA keeps the
 * signing cheap; every run uses a fresh manager on a manual clock.
 */
describe('token properties (fast-check)', () => {
  it('a rotated refresh token never works twice (no grace; grace elapsed)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.nat(),
        fc.constantFrom(0, 2000),
        fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 6, maxLength: 6 }),
        async (rotations, pick, graceMs, gaps) => {
          const { manager, clock } = await testManager({
            alg: 'EdDSA',
            refreshGrace: graceMs,
          });
          const tokens = [(await manager.issue('u')).refreshToken];
          for (let i = 0; i < rotations; i++) {
            clock.advance(gaps[i]!);
            tokens.push((await manager.refresh(tokens.at(-1)!)).refreshToken);
          }
          // Past any grace period.
          clock.advance(graceMs);
          const stale = tokens[pick % rotations]!;
          expect(await codeOf(manager.refresh(stale))).toBe('refresh_reused');
          // Reuse revoked the family: the newest token is dead too.
          expect(await codeOf(manager.refresh(tokens.at(-1)!))).toBe('refresh_reused');
        },
      ),
      { numRuns: 40 },
    );
  });

  it('after logout-all no token issued at or before it verifies; tokens issued after it do', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 4 }),
        async (before, pause, after) => {
          const { manager, clock } = await testManager({ alg: 'EdDSA' });
          const access: string[] = [];
          const purpose: string[] = [];
          for (const gap of before) {
            clock.advance(gap);
            const pair = await manager.issue('u');
            access.push(pair.accessToken, (await manager.refresh(pair.refreshToken)).accessToken);
            purpose.push((await manager.issuePurposeToken('email_verify', 'u')).token);
          }
          clock.advance(pause);
          await manager.logoutAll('u');
          for (const token of access) {
            expect(await codeOf(manager.verify(token))).toBe('token_revoked');
          }
          for (const token of purpose) {
            expect(await codeOf(manager.verifyPurposeToken('email_verify', token))).toBe(
              'token_revoked',
            );
          }
          // Anything issued after the cut-off works, even within its second.
          for (const gap of after) {
            clock.advance(gap + 1);
            const fresh = await manager.issue('u');
            expect(await codeOf(manager.verify(fresh.accessToken))).toBe('resolved');
            const reset = await manager.issuePurposeToken('email_verify', 'u');
            expect(await codeOf(manager.verifyPurposeToken('email_verify', reset.token))).toBe(
              'resolved',
            );
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a token of one purpose never verifies for another, nor as an access token', async () => {
    const purposes = [
      'password_reset',
      'email_change',
      'email_verify',
      'login_mfa',
      'invite',
      'unlock',
    ];
    const { manager } = await testManager({
      alg: 'EdDSA',
      purposes: { invite: { ttl: '7d' }, unlock: { ttl: '1h', singleUse: false } },
    });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...purposes),
        fc.constantFrom(...purposes),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.dictionary(
          fc
            .string({ minLength: 1, maxLength: 8 })
            .filter((k) => !reservedClaims.has(k) && k !== '__proto__'),
          fc.jsonValue(),
          { maxKeys: 3 },
        ),
        async (issued, asked, subject, claims) => {
          const { token } = await manager.issuePurposeToken(issued, subject, { claims });
          expect(await codeOf(manager.verify(token))).toBe('token_wrong_purpose');
          const code = await codeOf(manager.verifyPurposeToken(asked, token, { consume: false }));
          expect(code).toBe(issued === asked ? 'resolved' : 'token_wrong_purpose');
        },
      ),
      { numRuns: 100 },
    );
  });

  it('expiry and not-before respect the clock tolerance to the millisecond', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 10, max: 86_400 }),
        fc.integer({ min: 0, max: 300_000 }),
        fc.integer({ min: 0, max: 999 }),
        async (ttlSeconds, toleranceMs, offset) => {
          const { manager, clock } = await testManager({
            alg: 'HS256',
            accessTokenTtl: ttlSeconds * 1000,
            clockTolerance: toleranceMs,
          });
          clock.advance(offset);
          const pair = await manager.issue('u');
          const exp = (Math.floor(clock.now() / 1000) + ttlSeconds) * 1000;
          const iat = Math.floor(clock.now() / 1000) * 1000;
          clock.set(exp + toleranceMs - 1);
          expect(await codeOf(manager.verify(pair.accessToken))).toBe('resolved');
          clock.set(exp + toleranceMs);
          expect(await codeOf(manager.verify(pair.accessToken))).toBe('token_expired');
          // nbf = iat: valid from iat - tolerance; before that not yet valid (or, if earlier than iat - tolerance, from the future).
          clock.set(iat - toleranceMs);
          expect(await codeOf(manager.verify(pair.accessToken))).toBe('resolved');
          clock.set(iat - toleranceMs - 1);
          expect(await codeOf(manager.verify(pair.accessToken))).toBe('token_invalid');
        },
      ),
      { numRuns: 60 },
    );
  });
});
