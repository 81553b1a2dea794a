/** Path and method matching of skip lists and route rules. */
import { InvalidOptionError } from '../domain/config/errors.ts';

/**
 * Tests a request: `lowerPath` is {@link comparablePath} of its path,
 * `path` is {@link routablePath} (case kept, for RegExp patterns).
 */
export type RequestMatcher = (lowerPath: string, path: string, method: string) => boolean;

const percentRun = /(?:%[0-9A-Fa-f]{2})+/g;

/** decodeURI, but a malformed escape is kept as it is instead of throwing. */
function decodeLeniently(path: string): string {
  try {
    return decodeURI(path);
  } catch {
    return path.replace(percentRun, (run) => {
      try {
        return decodeURI(run);
      } catch {
        return run;
      }
    });
  }
}

/**
 * The path as a router may dispatch it, so that a pattern matches every
 * spelling that reaches its route: percent-escapes decoded once as
 * `decodeURI` does (Fastify and Hono route on that: `/%61dmin` is `/admin`;
 * reserved characters such as `%2F` stay encoded), runs of slashes as one
 * (Fastify's `ignoreDuplicateSlashes`), and anything from a `;` on dropped
 * (its `useSemicolonDelimiter`). Matching wider than one router does only
 * applies a rule to requests that router answers 404.
 */
export function routablePath(path: string): string {
  let routable = path.includes('%') ? decodeLeniently(path) : path;
  if (routable.includes('//')) routable = routable.replace(/\/{2,}/g, '/');
  const semicolon = routable.indexOf(';');
  if (semicolon >= 0) routable = routable.slice(0, semicolon) || '/';
  return routable;
}

/**
 * The path as string patterns compare it: {@link routablePath} in lower case
 * (Express routes case-insensitively by default), one trailing slash dropped
 * (not from `/`; Express's non-strict routing and Fastify's
 * `ignoreTrailingSlash`).
 */
export function comparablePath(path: string): string {
  return lowerPath(routablePath(path));
}

/**
 * A path in lower case with one trailing slash dropped (not from `/`), not
 * decoded: for a path already made routable (decoding twice would turn
 * `/%2561` into `/a`), and for the path as sent.
 */
export function lowerPath(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.charCodeAt(lower.length - 1) === 0x2f
    ? lower.slice(0, -1)
    : lower;
}

const methodPattern = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,32}$/;

/** Validates a method list; returns the upper-case set. */
export function methodSet(option: string, methods: unknown): ReadonlySet<string> {
  if (!Array.isArray(methods)) {
    throw new InvalidOptionError(option, methods, "an array of HTTP methods such as ['OPTIONS']");
  }
  return new Set(
    methods.map((method: unknown, index) => {
      if (typeof method !== 'string' || !methodPattern.test(method)) {
        throw new InvalidOptionError(`${option}[${index}]`, method, "an HTTP method such as 'GET'");
      }
      return method.toUpperCase();
    }),
  );
}

/**
 * A path pattern: `/exact`, `/prefix/*`, or a RegExp tested on
 * {@link routablePath}. String patterns compare case-insensitively and
 * ignore a trailing slash.
 */
export function pathMatcher(
  option: string,
  pattern: unknown,
): (lowerPath: string, path: string) => boolean {
  if (pattern instanceof RegExp) {
    if (pattern.global || pattern.sticky) {
      throw new InvalidOptionError(
        option,
        String(pattern),
        'a RegExp without the g and y flags (they make test() depend on the previous call)',
      );
    }
    return (_lower, path) => pattern.test(path);
  }
  if (typeof pattern !== 'string' || pattern.charCodeAt(0) !== 0x2f || pattern.length > 2048) {
    throw new InvalidOptionError(
      option,
      pattern,
      "a path starting with '/' ('/health', or '/static/*' for a prefix) or a RegExp",
    );
  }
  if (pattern.endsWith('/*')) {
    const prefix = comparablePath(pattern.slice(0, -2) || '/');
    if (prefix === '/') return () => true;
    const under = `${prefix}/`;
    return (lower) => lower === prefix || lower.startsWith(under);
  }
  const exact = comparablePath(pattern);
  return (lower) => lower === exact;
}

/** A matcher of a path pattern and an optional method list. */
export function requestMatcher(option: string, path: unknown, methods: unknown): RequestMatcher {
  const matchPath = pathMatcher(`${option}.path`, path);
  if (methods === undefined) return (lower, raw) => matchPath(lower, raw);
  const set = methodSet(`${option}.methods`, methods);
  return (lower, raw, method) => set.has(method.toUpperCase()) && matchPath(lower, raw);
}
