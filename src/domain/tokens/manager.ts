import type { CryptoKey } from 'jose';
import type { CallOptions } from '../../ports/call-options.ts';
import type {
  RevocationState,
  RotateOutcome,
  RotateRequest,
  SessionRecord,
} from '../../ports/token-store.ts';
import { durationOption } from '../config/duration.ts';
import { InvalidOptionError } from '../config/errors.ts';
import { isLockWatchError } from '../errors.ts';
import {
  audienceMatches,
  checkTimes,
  customClaimsOption,
  rolesOption,
  scopeTokens,
  stringClaim,
} from './claims.ts';
import {
  InsufficientScopeError,
  RefreshReusedError,
  SessionNotFoundError,
  TokenAlreadyUsedError,
  TokenError,
  TokenInvalidError,
  TokenRevokedError,
  TokenStoreUnavailableError,
  TokenWrongPurposeError,
} from './errors.ts';
import { parseCompact, signCompact, type TokenHeader, verifySignature } from './jwt.ts';
import type { SessionManagerParts } from './options.ts';
import { textOption } from './options.ts';
import { maxPurposeTtlMs, type PurposeKeys } from './purposes.ts';
import {
  formatRefresh,
  newFamily,
  newSecret,
  newSessionId,
  parseRefresh,
  successorJti,
  successorSecret,
} from './refresh.ts';
import { constantTimeEqual, randomId, sha256 } from './secrets.ts';
import type {
  AccessTokenClaims,
  AccessTokenRef,
  ClaimValidator,
  PurposeTokenClaims,
  SessionInfo,
  SessionManager,
  TokenPair,
} from './types.ts';
import { createUnknownRotations, unknownRotationWindowMs } from './unknown-rotations.ts';

/** `typ` of access tokens (RFC 9068 §2.1). */
export const accessTokenType = 'at+jwt';
/** `typ` of purpose tokens. */
export const purposeTokenType = 'purpose+jwt';

const maxClientText = 512;

/** What a session keeps to re-issue the same claims on refresh. */
interface SessionData {
  /** client_id */
  readonly c: string;
  /** aud */
  readonly a: string;
  /** scope */
  readonly s?: string | undefined;
  /** roles */
  readonly r?: readonly string[] | undefined;
  /** custom claims */
  readonly x?: Record<string, unknown> | undefined;
}

/**
 * Builds a session manager from validated parts. Verification runs every
 * check in a fixed order: shape and size, header, key and algorithm, claim
 * types, signature (jose), times, issuer and audience, custom validators,
 * then revocation in one store call.
 */
export function sessionManagerFromParts(parts: SessionManagerParts): SessionManager {
  const { settings, keyRing, purposes, refreshKey, store, clock, validators, onDegraded } = parts;
  const { issuer, audiences, toleranceMs, maxTokenBytes } = settings;
  const accessTtlSec = Math.floor(settings.accessTtlMs / 1000);
  // A cut-off must outlive every token it could apply to: access tokens; purpose tokens, whose
  // per-call `ttl` may reach maxPurposeTtlMs whatever their purpose's own lifetime; and the
  // refresh token of a session created before it (a login racing logoutAll), which only the
  // cut-off refuses and which rotation can no longer extend.
  const cutoffLifeMs =
    Math.max(
      settings.accessTtlMs,
      purposes === undefined ? 0 : maxPurposeTtlMs,
      Math.min(settings.refreshTtlMs, settings.sessionMaxAgeMs),
    ) +
    toleranceMs +
    1000;

  // An in-process store answers revocation checks without a promise.
  const syncRevocation = store.revocationStateSync?.bind(store);

  // Header segments of tokens that verified (one per key and type in practice), parsed.
  const headerCache = new Map<string, TokenHeader>();
  const rememberHeader = (segment: string, header: TokenHeader) => {
    if (headerCache.has(segment)) return;
    // Bounded whatever arrives: a flood of distinct valid headers only empties the cache.
    if (headerCache.size >= 32) headerCache.clear();
    headerCache.set(segment, header);
  };

  // Rotations whose store call failed in a way that may have applied them (see unknown-rotations.ts).
  const unknownRotations = createUnknownRotations();

  /** Runs a store call; a store failure becomes `token_store_unavailable`, usage errors and aborts pass. */
  const storeCall = async <T>(
    operation: string,
    options: CallOptions | undefined,
    call: () => Promise<T>,
  ): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw storeError(operation, options, error);
    }
  };

  const storeError = (operation: string, options: CallOptions | undefined, error: unknown) => {
    const signal = options?.signal;
    if (signal?.aborted && error === signal.reason) return error;
    if (error instanceof TokenError) return error;
    if (
      isLockWatchError(error) &&
      (error.code === 'invalid_option' || error.code === 'store_closed')
    ) {
      return error;
    }
    return new TokenStoreUnavailableError(operation, { cause: error });
  };

  /**
   * Reads the revocation state; under `open` a store failure yields
   * undefined (the caller marks the result degraded).
   */
  const revocation = async (
    query: { userId: string; jti: string; sessionId?: string | undefined; now: number },
    options: CallOptions | undefined,
    failClosed: boolean,
  ): Promise<RevocationState | undefined> => {
    try {
      return await store.revocationState(query, options);
    } catch (error) {
      const mapped = storeError('revocationState', options, error);
      if (
        !(mapped instanceof TokenStoreUnavailableError) ||
        failClosed ||
        settings.failureMode === 'closed'
      ) {
        throw mapped;
      }
      onDegraded?.('revocationState', error);
      return undefined;
    }
  };

  /**
   * `issuedAtMs` is the token's issue time in ms, or undefined when only the
   * whole second (`iat`) is known. An access token from the cut-off's own
   * second is not refused by the cut-off: `logoutAll` revokes every session
   * that existed at the cut-off, so an earlier token of that second already
   * fails the session check, while a login right after it must work.
   */
  const checkRevocation = (state: RevocationState, iat: number, issuedAtMs?: number) => {
    if (state.jtiRevoked) throw new TokenRevokedError('revoked.jti');
    if (state.sessionRevoked) throw new TokenRevokedError('revoked.session');
    const cutoff = state.userCutoff;
    if (cutoff === undefined) return;
    const before =
      issuedAtMs !== undefined ? issuedAtMs <= cutoff : iat < Math.floor(cutoff / 1000);
    if (before) throw new TokenRevokedError('revoked.cutoff');
  };

  const runValidators = async (
    claims: Record<string, unknown>,
    kind: 'access' | `purpose:${string}`,
    extra: ClaimValidator | undefined,
  ) => {
    const all = extra === undefined ? validators : [...validators, extra];
    for (const validator of all) {
      let ok: unknown;
      try {
        ok = validator(claims, kind);
        if (ok instanceof Promise) ok = await ok;
      } catch (error) {
        throw new TokenInvalidError('validator', { cause: error });
      }
      if (ok === false) throw new TokenInvalidError('validator');
    }
  };

  const signAccess = async (
    userId: string,
    sessionId: string,
    data: SessionData,
    iat: number,
    jti: string,
  ): Promise<{ readonly token: string; readonly exp: number }> => {
    const signer = keyRing.signerAt(iat * 1000, settings.accessTtlMs);
    if (signer?.signingKey === undefined) {
      throw new InvalidOptionError('keys', 'verify-only', 'a key that can sign, to issue tokens');
    }
    // A token never outlives its key: verification refuses it from the key's retireAt on.
    const exp =
      signer.retireAt === undefined
        ? iat + accessTtlSec
        : Math.min(iat + accessTtlSec, Math.floor(signer.retireAt / 1000));
    if (exp <= iat) {
      // Its only signing key retires within the second: the token would be dead on issue.
      throw new InvalidOptionError(
        'keys',
        signer.kid,
        'a signing key that is not about to retire (add the next key to the ring)',
      );
    }
    const payload: Record<string, unknown> = {
      ...data.x,
      iss: issuer,
      sub: userId,
      aud: data.a,
      client_id: data.c,
      iat,
      nbf: iat,
      exp,
      jti,
      sid: sessionId,
    };
    if (data.s !== undefined) payload.scope = data.s;
    if (data.r !== undefined) payload.roles = data.r;
    const token = await signCompact(
      { alg: signer.alg, typ: accessTokenType, kid: signer.kid },
      payload,
      signer.signingKey,
    );
    return { token, exp };
  };

  const pairOf = (
    access: { readonly token: string; readonly exp: number },
    refreshToken: string,
    iat: number,
    session: { id: string; userId: string; expiresAt: number },
  ): TokenPair => ({
    tokenType: 'Bearer',
    accessToken: access.token,
    refreshToken,
    expiresIn: access.exp - iat,
    accessExpiresAt: access.exp * 1000,
    refreshExpiresAt: session.expiresAt,
    sessionId: session.id,
    userId: session.userId,
  });

  const purposeKeys = (purpose: string): PurposeKeys => {
    if (purposes === undefined) {
      throw new InvalidOptionError('secret', undefined, 'a master secret to use purpose tokens');
    }
    const keys = purposes.get(purpose);
    if (keys === undefined) {
      throw new InvalidOptionError('purpose', purpose, `one of ${[...purposes.keys()].join(', ')}`);
    }
    return keys;
  };

  const manager: SessionManager = {
    keyRing,

    async issue(subject, options = {}) {
      const userId = textOption('subject', subject);
      const claims = customClaimsOption('claims', options.claims);
      const scope = scopeTokens('scope', options.scope);
      const roles = rolesOption('roles', options.roles);
      const clientId =
        options.clientId === undefined
          ? settings.clientId
          : textOption('clientId', options.clientId);
      const audience = options.audience ?? audiences[0]!;
      if (!audiences.includes(audience)) {
        throw new InvalidOptionError('audience', audience, `one of ${audiences.join(', ')}`);
      }
      const ip = clientText('ip', options.ip);
      const userAgent = clientText('userAgent', options.userAgent);
      const data: SessionData = {
        c: clientId,
        a: audience,
        s: scope.length > 0 ? scope.join(' ') : undefined,
        r: roles,
        x: Object.keys(claims).length > 0 ? claims : undefined,
      };
      const now = clock.now();
      const sessionId = newSessionId();
      const family = newFamily();
      const refreshToken = formatRefresh({ userId, sessionId, family, secret: newSecret() });
      const [familyHash, refreshHash] = await Promise.all([sha256(family), sha256(refreshToken)]);
      const iat = Math.floor(now / 1000);
      // Sign first: a key problem must not leave a session behind.
      const access = await signAccess(userId, sessionId, data, iat, randomId(16));
      const record: SessionRecord = {
        id: sessionId,
        userId,
        familyHash,
        refreshHash,
        generation: 0,
        createdAt: now,
        lastUsedAt: now,
        expiresAt: now + Math.min(settings.refreshTtlMs, settings.sessionMaxAgeMs),
        ip,
        userAgent,
        data: JSON.stringify(data),
      };
      await storeCall('createSession', options, () => store.createSession(record, options));
      return pairOf(access, refreshToken, iat, record);
    },

    async verify(token, options) {
      const now = clock.now();
      const { header, headerSegment, payload } = parseCompact(token, maxTokenBytes, headerCache);
      const typ = header.typ.toLowerCase();
      if (typ !== accessTokenType && typ !== `application/${accessTokenType}`) {
        if (typ === purposeTokenType) throw new TokenWrongPurposeError('header.typ');
        throw new TokenInvalidError('header.typ');
      }
      const key = keyRing.get(header.kid);
      if (key === undefined) throw new TokenInvalidError('header.kid');
      if (header.alg !== key.alg) throw new TokenInvalidError('header.alg');
      if (key.retireAt !== undefined && now >= key.retireAt)
        throw new TokenInvalidError('key.retired');
      const sub = stringClaim(payload, 'sub', true)!;
      const jti = stringClaim(payload, 'jti', true)!;
      const sid = stringClaim(payload, 'sid', true)!;
      if (payload.iss !== issuer) throw new TokenInvalidError('claim.iss');
      stringClaim(payload, 'client_id', true);
      if (payload.pur !== undefined) throw new TokenWrongPurposeError('claim.pur');
      const scope = payload.scope;
      if (scope !== undefined && typeof scope !== 'string')
        throw new TokenInvalidError('claim.scope');
      await verifySignature(token as string, key.alg, key.verifyKey);
      const { iat } = checkTimes(payload, now, toleranceMs);
      if (!audienceMatches(payload.aud, audiences)) throw new TokenInvalidError('claim.aud');
      if (options?.scope !== undefined) {
        const required = scopeTokens('scope', options.scope);
        const granted = typeof scope === 'string' ? scope.split(' ') : [];
        if (!required.every((s) => granted.includes(s))) throw new InsufficientScopeError(required);
      }
      if (validators.length > 0 || options?.validate !== undefined) {
        await runValidators(payload, 'access', options?.validate);
      }
      rememberHeader(headerSegment, header);
      const query = { userId: sub, jti, sessionId: sid, now };
      const state =
        syncRevocation !== undefined
          ? syncRevocation(query)
          : await revocation(query, options, false);
      if (state !== undefined) checkRevocation(state, iat);
      return {
        claims: payload as AccessTokenClaims,
        kid: key.kid,
        alg: key.alg,
        degraded: state === undefined,
      };
    },

    async refresh(refreshToken, options = {}) {
      const parsed = parseRefresh(refreshToken);
      const ip = clientText('ip', options.ip);
      const now = clock.now();
      const [familyHash, presentedHash] = await Promise.all([
        sha256(parsed.family),
        sha256(refreshToken),
      ]);
      // A retry of a rotation whose outcome is unknown asks for the successor that one asked for.
      const retried = unknownRotations.take(presentedHash, now);
      const nextToken =
        retried?.nextToken ??
        formatRefresh({
          ...parsed,
          secret:
            refreshKey === undefined
              ? newSecret()
              : await successorSecret(refreshKey, refreshToken),
        });
      const randomJti = refreshKey === undefined ? (retried?.jti ?? randomId(16)) : undefined;
      const nextHash = await sha256(nextToken);
      const request: RotateRequest = {
        userId: parsed.userId,
        sessionId: parsed.sessionId,
        familyHash,
        presentedHash,
        nextHash,
        now,
        expiresAt: now + settings.refreshTtlMs,
        maxLifetimeMs: settings.sessionMaxAgeMs,
        // The retry's grace covers the unknown rotation, wherever it was applied in its window.
        graceMs:
          retried === undefined
            ? settings.refreshGraceMs
            : Math.max(settings.refreshGraceMs, unknownRotationWindowMs),
        ip,
      };
      let outcome: RotateOutcome;
      try {
        outcome = await store.rotateRefresh(request, options);
      } catch (error) {
        if (mayHaveRotated(error)) {
          unknownRotations.remember(
            presentedHash,
            { at: retried?.at ?? now, nextToken, jti: randomJti },
            now,
          );
        } else if (retried !== undefined) {
          // This retry never reached the store (an open breaker): the first rotation is as
          // unknown as before, and the next retry may still ask for its successor.
          unknownRotations.remember(presentedHash, retried, now);
        }
        throw storeError('rotateRefresh', options, error);
      }
      if (
        outcome.kind === 'grace' &&
        retried !== undefined &&
        refreshKey === undefined &&
        !constantTimeEqual(outcome.session.refreshHash, nextHash)
      ) {
        // Rotated by another presentation of the token than the one that failed (random
        // successors differ): reuse. Asked again without grace, the store revokes the family.
        outcome = await storeCall('rotateRefresh', options, () =>
          store.rotateRefresh({ ...request, graceMs: 0 }, options),
        );
      }
      if (outcome.kind === 'not_found') throw new SessionNotFoundError('refresh.session');
      if (outcome.kind === 'reused')
        throw new RefreshReusedError(outcome.userId, outcome.sessionId);
      const session = outcome.session;
      if (!constantTimeEqual(session.refreshHash, nextHash)) {
        // Only a grace answer can get here: the successor was made with another refresh key.
        throw new TokenInvalidError('refresh.grace_successor');
      }
      const data = sessionData(session);
      // In grace, the pair handed out at rotation is handed out again: same
      // refresh token, same jti and times in the access token.
      const issuedAt = outcome.kind === 'grace' ? (session.rotatedAt ?? now) : now;
      const iat = Math.floor(issuedAt / 1000);
      const jti = randomJti ?? (await successorJti(refreshKey!, refreshToken));
      const access = await signAccess(session.userId, session.id, data, iat, jti);
      return pairOf(access, nextToken, iat, session);
    },

    async revokeAccessToken(token, options) {
      const ref = accessRef(token);
      const now = clock.now();
      const expiresAt = ref.exp * 1000 + toleranceMs;
      if (expiresAt <= now) return;
      await storeCall('denyJti', options, () =>
        store.denyJti(ref.sub, ref.jti, expiresAt, now, options),
      );
    },

    async revokeSession(userId, sessionId, options) {
      textOption('userId', userId);
      textOption('sessionId', sessionId);
      return storeCall('revokeSession', options, () =>
        store.revokeSession(userId, sessionId, clock.now(), options),
      );
    },

    async logout(target, options) {
      const now = clock.now();
      if (typeof target === 'string') {
        const parsed = parseRefresh(target);
        const familyHash = await sha256(parsed.family);
        const session = await storeCall('getSession', options, () =>
          store.getSession(parsed.userId, parsed.sessionId, now, options),
        );
        if (session === undefined || !constantTimeEqual(session.familyHash, familyHash))
          return false;
        return storeCall('revokeSession', options, () =>
          store.revokeSession(parsed.userId, parsed.sessionId, now, options),
        );
      }
      const ref = accessRef(target);
      if (ref.sid === undefined)
        throw new InvalidOptionError('sid', ref.sid, 'the session id of the token');
      await manager.revokeAccessToken(ref, options);
      return storeCall('revokeSession', options, () =>
        store.revokeSession(ref.sub, ref.sid!, now, options),
      );
    },

    async logoutAll(userId, options) {
      textOption('userId', userId);
      const now = clock.now();
      // Sessions are revoked, and counted in the same atomic store call, before the new cut-off
      // is set: once it is, every session created at or before `now` reads as ended, so only this
      // order counts the sessions that were still live (and two calls at once count each session
      // once). The cut-off then also ends a login racing this call (clock read before `now`,
      // session stored after the revocation), and every purpose token issued so far.
      const revoked = await storeCall('revokeUserSessions', options, () =>
        store.revokeUserSessions(userId, undefined, now, options),
      );
      await storeCall('setUserCutoff', options, () =>
        store.setUserCutoff(userId, now, now + cutoffLifeMs, now, options),
      );
      return revoked;
    },

    async revokeOtherSessions(userId, currentSessionId, options) {
      textOption('userId', userId);
      textOption('currentSessionId', currentSessionId);
      return storeCall('revokeUserSessions', options, () =>
        store.revokeUserSessions(userId, currentSessionId, clock.now(), options),
      );
    },

    async listSessions(userId, options) {
      textOption('userId', userId);
      const current = options?.currentSessionId;
      const sessions = await storeCall('listSessions', options, () =>
        store.listSessions(userId, clock.now(), options),
      );
      return sessions.map(
        (s): SessionInfo => ({
          id: s.id,
          createdAt: s.createdAt,
          lastUsedAt: s.lastUsedAt,
          expiresAt: s.expiresAt,
          ip: s.ip,
          userAgent: s.userAgent,
          lastIp: s.lastIp,
          generation: s.generation,
          current: s.id === current,
        }),
      );
    },

    async issuePurposeToken(purpose, subject, options = {}) {
      const keys = purposeKeys(purpose);
      const userId = textOption('subject', subject);
      const claims = customClaimsOption('claims', options.claims);
      const ttlMs =
        options.ttl === undefined
          ? keys.purpose.ttlMs
          : durationOption('ttl', options.ttl, 1000, maxPurposeTtlMs);
      const now = clock.now();
      const iat = Math.floor(now / 1000);
      const exp = iat + Math.floor(ttlMs / 1000);
      const jti = randomId(16);
      const token = await signCompact(
        { alg: 'HS256', typ: purposeTokenType, kid: keys.signing.kid },
        {
          ...claims,
          iss: issuer,
          sub: userId,
          aud: audiences[0],
          pur: purpose,
          iat,
          ims: now,
          nbf: iat,
          exp,
          jti,
        },
        keys.signing.key,
      );
      return { token, jti, expiresAt: exp * 1000 };
    },

    async verifyPurposeToken(purpose, token, options = {}) {
      const keys = purposeKeys(purpose);
      const now = clock.now();
      const { header, payload } = parseCompact(token, maxTokenBytes);
      const typ = header.typ.toLowerCase();
      if (typ !== purposeTokenType) {
        if (typ === accessTokenType || typ === `application/${accessTokenType}`) {
          throw new TokenWrongPurposeError('header.typ');
        }
        throw new TokenInvalidError('header.typ');
      }
      const key: CryptoKey | undefined = keys.verify.get(header.kid);
      if (key === undefined) {
        const dot = header.kid.indexOf('.');
        const other = dot > 0 ? header.kid.slice(0, dot) : '';
        if (other !== purpose && purposes?.has(other))
          throw new TokenWrongPurposeError('header.kid');
        throw new TokenInvalidError('header.kid');
      }
      if (header.alg !== 'HS256') throw new TokenInvalidError('header.alg');
      if (payload.pur !== purpose) throw new TokenWrongPurposeError('claim.pur');
      const sub = stringClaim(payload, 'sub', true)!;
      const jti = stringClaim(payload, 'jti', true)!;
      if (payload.iss !== issuer) throw new TokenInvalidError('claim.iss');
      if (payload.sid !== undefined || payload.client_id !== undefined) {
        throw new TokenWrongPurposeError('claim.sid');
      }
      await verifySignature(token, 'HS256', key);
      const { iat, exp } = checkTimes(payload, now, toleranceMs);
      if (!audienceMatches(payload.aud, audiences)) throw new TokenInvalidError('claim.aud');
      if (validators.length > 0 || options.validate !== undefined) {
        await runValidators(payload, `purpose:${purpose}`, options.validate);
      }
      const singleUse = keys.purpose.singleUse && options.consume !== false;
      const state = await revocation({ userId: sub, jti, now }, options, singleUse);
      // Purpose tokens carry their issue time in ms (`ims`) and no session, so
      // the cut-off compares that; one without it counts as issued at the end
      // of its second's start (refused in the cut-off's own second).
      const ims = payload.ims;
      const issuedAtMs =
        typeof ims === 'number' && Number.isSafeInteger(ims) && Math.floor(ims / 1000) === iat
          ? ims
          : iat * 1000;
      if (state !== undefined) checkRevocation(state, iat, issuedAtMs);
      if (singleUse) {
        const first = await storeCall('consumeOnce', options, () =>
          store.consumeOnce(sub, jti, exp * 1000 + toleranceMs, now, options),
        );
        if (!first) throw new TokenAlreadyUsedError();
      }
      return {
        claims: payload as PurposeTokenClaims,
        kid: header.kid,
        alg: 'HS256',
        degraded: state === undefined,
      };
    },

    jwks: () => keyRing.jwks(clock.now()),

    async close() {
      if (parts.ownsStore) await store.close();
    },
  };
  return manager;
}

/**
 * False when a failed `rotateRefresh` certainly changed nothing: a usage
 * error, a closed store, or an open breaker that never called the store.
 * A timeout, a lost connection or the caller's abort may come after the
 * store applied the rotation.
 */
function mayHaveRotated(error: unknown): boolean {
  if (error instanceof TokenError) return false;
  return !(
    isLockWatchError(error) &&
    (error.code === 'invalid_option' ||
      error.code === 'store_closed' ||
      error.code === 'circuit_open')
  );
}

function sessionData(session: SessionRecord): SessionData {
  try {
    const data = JSON.parse(session.data ?? '') as SessionData;
    if (typeof data?.c === 'string' && typeof data.a === 'string') return data;
  } catch {
    // Falls through to the error below.
  }
  throw new TokenInvalidError('session.data');
}

function accessRef(token: AccessTokenRef): AccessTokenRef {
  if (typeof token !== 'object' || token === null) {
    throw new InvalidOptionError('token', token, 'verified claims with sub, jti and exp');
  }
  textOption('token.sub', token.sub);
  textOption('token.jti', token.jti);
  if (typeof token.exp !== 'number' || !Number.isInteger(token.exp) || token.exp < 0) {
    throw new InvalidOptionError('token.exp', token.exp, 'a NumericDate (integer seconds)');
  }
  if (token.sid !== undefined) textOption('token.sid', token.sid);
  return token;
}

function clientText(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidOptionError(option, value, 'a string');
  return value.length > maxClientText ? value.slice(0, maxClientText) : value;
}
