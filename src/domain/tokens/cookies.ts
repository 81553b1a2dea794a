import { InvalidOptionError } from '../config/errors.ts';
import { integerOption } from '../config/validate.ts';

/** Options of the refresh-token cookie. */
export interface RefreshCookieOptions {
  /** Cookie name: `lw_refresh` by default. A `__Host-` or `__Secure-` prefix is checked against the other options. */
  readonly name?: string | undefined;
  /** The only path the browser sends it to: the refresh endpoint; `/auth/refresh` by default. */
  readonly path?: string | undefined;
  /** Domain attribute; none by default (host-only cookie). */
  readonly domain?: string | undefined;
  /** `Strict` by default. `None` requires `secure`. */
  readonly sameSite?: 'Strict' | 'Lax' | 'None' | undefined;
  /** `Secure` attribute; true by default (false only for plain-HTTP development). */
  readonly secure?: boolean | undefined;
  /** `Partitioned` attribute (CHIPS); false by default. */
  readonly partitioned?: boolean | undefined;
}

interface CookieSettings {
  readonly name: string;
  readonly path: string;
  readonly domain?: string | undefined;
  readonly sameSite: 'Strict' | 'Lax' | 'None';
  readonly secure: boolean;
  readonly partitioned: boolean;
}

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
const pathPattern = /^\/[\x21-\x3A\x3C-\x7E]{0,255}$/;
const domainPattern = /^\.?[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*$/;
const valuePattern = /^[A-Za-z0-9._-]{1,4096}$/;

function settingsOf(options: RefreshCookieOptions | undefined): CookieSettings {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidOptionError('cookie', options, 'an object');
  }
  const name = options?.name ?? 'lw_refresh';
  if (typeof name !== 'string' || !tokenPattern.test(name)) {
    throw new InvalidOptionError('cookie.name', name, 'a cookie name (RFC 6265 token)');
  }
  const path = options?.path ?? '/auth/refresh';
  if (typeof path !== 'string' || !pathPattern.test(path)) {
    throw new InvalidOptionError(
      'cookie.path',
      path,
      "a path starting with '/', without ';' or controls",
    );
  }
  const domain = options?.domain;
  if (domain !== undefined && (typeof domain !== 'string' || !domainPattern.test(domain))) {
    throw new InvalidOptionError('cookie.domain', domain, 'a host name');
  }
  const sameSite = options?.sameSite ?? 'Strict';
  if (sameSite !== 'Strict' && sameSite !== 'Lax' && sameSite !== 'None') {
    throw new InvalidOptionError('cookie.sameSite', sameSite, "'Strict', 'Lax' or 'None'");
  }
  const secure = options?.secure ?? true;
  if (typeof secure !== 'boolean')
    throw new InvalidOptionError('cookie.secure', secure, 'true or false');
  const partitioned = options?.partitioned ?? false;
  if (typeof partitioned !== 'boolean') {
    throw new InvalidOptionError('cookie.partitioned', partitioned, 'true or false');
  }
  if (
    !secure &&
    (sameSite === 'None' ||
      partitioned ||
      name.startsWith('__Secure-') ||
      name.startsWith('__Host-'))
  ) {
    throw new InvalidOptionError(
      'cookie.secure',
      secure,
      'true with SameSite=None, Partitioned, or a __Secure-/__Host- name',
    );
  }
  if (name.startsWith('__Host-') && (path !== '/' || domain !== undefined)) {
    throw new InvalidOptionError(
      'cookie.name',
      name,
      'no __Host- prefix unless path is / and no domain is set',
    );
  }
  return { name, path, domain, sameSite, secure, partitioned };
}

function attributes(s: CookieSettings): string {
  let out = `; Path=${s.path}`;
  if (s.domain !== undefined) out += `; Domain=${s.domain}`;
  out += '; HttpOnly';
  if (s.secure) out += '; Secure';
  out += `; SameSite=${s.sameSite}`;
  if (s.partitioned) out += '; Partitioned';
  return out;
}

/**
 * The `Set-Cookie` value that stores a refresh token: HttpOnly, Secure,
 * SameSite=Strict and limited to the refresh path by default, living
 * `maxAgeSeconds` (the refresh token's remaining life).
 */
export function refreshCookie(
  token: string,
  maxAgeSeconds: number,
  options?: RefreshCookieOptions,
): string {
  const settings = settingsOf(options);
  if (typeof token !== 'string' || !valuePattern.test(token)) {
    throw new InvalidOptionError('token', '(hidden)', 'a refresh token');
  }
  const maxAge = integerOption('maxAgeSeconds', maxAgeSeconds, 1, 400 * 86_400);
  return `${settings.name}=${token}; Max-Age=${maxAge}${attributes(settings)}`;
}

/** The `Set-Cookie` value for a token pair's refresh token, its Max-Age computed from `now` (epoch ms). */
export function refreshCookieFor(
  pair: { readonly refreshToken: string; readonly refreshExpiresAt: number },
  now: number,
  options?: RefreshCookieOptions,
): string {
  const seconds = Math.max(1, Math.floor((pair.refreshExpiresAt - now) / 1000));
  return refreshCookie(pair.refreshToken, seconds, options);
}

/** The `Set-Cookie` value that deletes the refresh cookie (same name, path and domain, expired). */
export function clearRefreshCookie(options?: RefreshCookieOptions): string {
  const settings = settingsOf(options);
  return `${settings.name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT${attributes(settings)}`;
}

/**
 * Reads one cookie from a `Cookie` request header; undefined when absent.
 * When the name appears more than once (a cookie planted for a wider path
 * or a parent domain), undefined as well: which one is genuine cannot be told.
 */
export function readCookie(
  header: string | null | undefined,
  name = 'lw_refresh',
): string | undefined {
  if (typeof header !== 'string' || header.length === 0 || header.length > 16_384) return undefined;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    if (found !== undefined) return undefined;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    found = value;
  }
  return found;
}
