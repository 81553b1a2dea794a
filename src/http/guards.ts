/**
 * The JWT guard: a pipeline `guard` that admits a request carrying a valid
 * access token (`Authorization: Bearer`) and answers the others as RFC 6750
 * says — 401 with `WWW-Authenticate: Bearer realm="…"` when no token was
 * sent, 401 `error="invalid_token"` for a bad one, 403
 * `error="insufficient_scope"` for a good one without the scope or role, 400
 * `error="invalid_request"` for a malformed header. Clients learn the token
 * error's stable code and its fixed message, never which check failed.
 */
import { InvalidOptionError } from '../domain/config/errors.ts';
import { isTokenError, type TokenError, type TokenErrorCode } from '../domain/tokens/errors.ts';
import type {
  AccessTokenClaims,
  ClaimValidator,
  VerifiedToken,
  VerifyOptions,
} from '../domain/tokens/types.ts';
import type { ErrorFormat, Guard, HttpReply, HttpRequest, LockWatchContext } from './types.ts';

/** What the guard needs of a session manager: `verify`. */
export interface AccessTokenVerifier {
  /** Verifies an access token strictly, revocation included. */
  verify(token: string, options?: VerifyOptions): Promise<VerifiedToken<AccessTokenClaims>>;
}

/** Codes the guard answers with besides the token error codes. */
export type GuardErrorCode = TokenErrorCode | 'token_missing' | 'invalid_request';

/** A presented token the guard refused (not a missing one, nor a lacking scope or role): for the anomaly monitor's authentication-failure count. */
export interface GuardFailure {
  /** The stable code (never which check failed). */
  readonly code: GuardErrorCode;
  /** The request's context (client IP, path, method). */
  readonly context: LockWatchContext;
  /** The User-Agent header, when sent. */
  readonly userAgent: string | undefined;
}

/** Options of {@link requireJwt}. */
export interface RequireJwtOptions {
  /** Scopes the token must all grant (a space-separated string or an array); 403 otherwise. */
  readonly scopes?: string | readonly string[] | undefined;
  /** Roles of which the token must carry at least one (its `roles` claim); 403 otherwise. */
  readonly roles?: readonly string[] | undefined;
  /** One more claim check for this guard; `false` or a throw refuses the token (401 `invalid_token`). */
  readonly validate?: ClaimValidator | undefined;
  /** The `realm` of `WWW-Authenticate`; `api` by default. */
  readonly realm?: string | undefined;
  /** Body format of refusals; `json` by default (`{"error":"<code>","message":"…"}`). */
  readonly errorFormat?: ErrorFormat | undefined;
  /**
   * Told about every presented token that was refused (not about requests
   * without a token, nor a token store that could not answer). Runs on the
   * request path: it must not block (queue the work, as the anomaly
   * monitor's `recordAuthFailure` does).
   */
  readonly onFailure?: ((failure: GuardFailure) => void) | undefined;
}

const messages: Record<'token_missing' | 'invalid_request', string> = {
  token_missing: 'An access token is required.',
  invalid_request: 'The Authorization header is malformed.',
};

// RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const b64token = /^[A-Za-z0-9\-._~+/]+=*$/;
const realmPattern = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/;
const maxHeaderLength = 16_384;

/** The Bearer token of an Authorization header: the token, `missing`, or `malformed`. */
export function bearerToken(
  header: string | readonly string[] | undefined,
): string | 'missing' | 'malformed' {
  if (header === undefined) return 'missing';
  if (typeof header !== 'string') return 'malformed';
  if (header.length > maxHeaderLength) return 'malformed';
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  // Another scheme (Basic, ...) is not a Bearer credential: as if none was sent.
  if (scheme.toLowerCase() !== 'bearer') return 'missing';
  const token = space < 0 ? '' : header.slice(space + 1).trim();
  return token !== '' && b64token.test(token) ? token : 'malformed';
}

function listOption(option: string, value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? value.split(' ').filter((s) => s !== '') : value;
  if (!Array.isArray(list) || list.length === 0 || list.length > 64) {
    throw new InvalidOptionError(option, value, 'a non-empty array of names (at most 64)');
  }
  list.forEach((entry: unknown, index) => {
    if (typeof entry !== 'string' || !scopeToken.test(entry)) {
      throw new InvalidOptionError(
        `${option}[${index}]`,
        entry,
        'a name without spaces, quotes or backslashes',
      );
    }
  });
  return Object.freeze([...list]);
}

/** The RFC 6750 challenge: `Bearer realm="…"` plus error attributes. */
function challenge(
  realm: string,
  error?: 'invalid_token' | 'invalid_request' | 'insufficient_scope',
  description?: string,
  scope?: readonly string[],
): string {
  let value = `Bearer realm="${realm}"`;
  if (error !== undefined) value += `, error="${error}"`;
  if (description !== undefined) value += `, error_description="${description}"`;
  if (scope !== undefined && scope.length > 0) value += `, scope="${scope.join(' ')}"`;
  return value;
}

function body(
  format: ErrorFormat,
  status: number,
  code: GuardErrorCode,
  message: string,
): { contentType: string; text: string } {
  if (format === 'json') {
    return { contentType: 'application/json', text: JSON.stringify({ error: code, message }) };
  }
  const title = status === 400 ? 'Bad Request' : status === 403 ? 'Forbidden' : 'Unauthorized';
  return {
    contentType: 'application/problem+json',
    text: JSON.stringify({
      type: 'about:blank',
      title: status === 503 ? 'Service Unavailable' : title,
      status,
      detail: message,
      error: code,
    }),
  };
}

/**
 * A guard that requires a valid access token, verified by `verifier` (a
 * SessionManager). Admitted requests carry the principal: `userId` (the
 * token's `sub`), `sessionId` (`sid`) and the verified `claims`. A token
 * store that cannot answer under the `closed` policy gives 503
 * `token_store_unavailable` with `Retry-After: 1`. Errors other than token
 * errors fail the request (a 500), never admit it.
 */
export function requireJwt<N = unknown>(
  verifier: AccessTokenVerifier,
  options: RequireJwtOptions = {},
): Guard<N> {
  if (typeof verifier !== 'object' || verifier === null || typeof verifier.verify !== 'function') {
    throw new InvalidOptionError('verifier', verifier, 'a SessionManager (an object with verify)');
  }
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', options, 'an object');
  }
  const scopes = listOption('scopes', options.scopes);
  const roles = listOption('roles', options.roles);
  const realm = options.realm ?? 'api';
  if (typeof realm !== 'string' || !realmPattern.test(realm)) {
    throw new InvalidOptionError('realm', realm, 'printable text without quotes or backslashes');
  }
  const format = options.errorFormat ?? 'json';
  if (format !== 'json' && format !== 'problem+json') {
    throw new InvalidOptionError('errorFormat', format, "'json' or 'problem+json'");
  }
  const validate = options.validate;
  if (validate !== undefined && typeof validate !== 'function') {
    throw new InvalidOptionError('validate', validate, 'a function (claims) => boolean');
  }
  const onFailure = options.onFailure;
  if (onFailure !== undefined && typeof onFailure !== 'function') {
    throw new InvalidOptionError('onFailure', onFailure, 'a function');
  }
  const verifyOptions: VerifyOptions | undefined =
    scopes === undefined && validate === undefined ? undefined : { scope: scopes, validate };
  const missing = challenge(realm);

  const reply = (
    status: number,
    code: GuardErrorCode,
    message: string,
    authenticate: string | undefined,
  ): HttpReply => {
    const { contentType, text } = body(format, status, code, message);
    const headers: Record<string, string> = { 'content-type': contentType };
    if (authenticate !== undefined) headers['www-authenticate'] = authenticate;
    if (status === 503) headers['retry-after'] = '1';
    return { status, headers, body: text };
  };

  const report = (request: HttpRequest<N>, context: LockWatchContext, code: GuardErrorCode) => {
    if (onFailure === undefined) return;
    const agent = request.headers['user-agent'];
    try {
      onFailure({
        code,
        context,
        userAgent: typeof agent === 'string' ? agent : undefined,
      });
    } catch {
      // A failing listener must not change the answer.
    }
  };

  const refuseToken = (
    request: HttpRequest<N>,
    context: LockWatchContext,
    error: TokenError,
  ): HttpReply => {
    if (error.code === 'token_store_unavailable') {
      return reply(503, error.code, error.message, undefined);
    }
    if (error.code === 'insufficient_scope') {
      return reply(
        403,
        error.code,
        error.message,
        challenge(realm, 'insufficient_scope', error.message, scopes),
      );
    }
    report(request, context, error.code);
    return reply(401, error.code, error.message, challenge(realm, 'invalid_token', error.message));
  };

  return async (request, context) => {
    const token = bearerToken(request.headers.authorization);
    if (token === 'missing') {
      return {
        allow: false,
        reply: reply(401, 'token_missing', messages.token_missing, missing),
      };
    }
    if (token === 'malformed') {
      report(request, context, 'invalid_request');
      return {
        allow: false,
        reply: reply(
          400,
          'invalid_request',
          messages.invalid_request,
          challenge(realm, 'invalid_request', messages.invalid_request),
        ),
      };
    }
    let verified: VerifiedToken<AccessTokenClaims>;
    try {
      verified = await verifier.verify(token, verifyOptions);
    } catch (error) {
      if (isTokenError(error)) return { allow: false, reply: refuseToken(request, context, error) };
      throw error;
    }
    const { claims } = verified;
    if (roles !== undefined) {
      const held = Array.isArray(claims.roles) ? claims.roles : [];
      if (!roles.some((role) => held.includes(role))) {
        const message = 'The token does not grant this access.';
        return {
          allow: false,
          reply: reply(
            403,
            'insufficient_scope',
            message,
            challenge(realm, 'insufficient_scope', message, scopes),
          ),
        };
      }
    }
    return {
      allow: true,
      principal: { userId: claims.sub, sessionId: claims.sid, claims },
    };
  };
}
