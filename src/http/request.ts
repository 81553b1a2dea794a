/** Helpers adapters use to build an {@link HttpRequest} from their framework's request. */

/** Lower-case header names to values, as Node's `IncomingMessage.headers` holds them. */
export type HeaderRecord = Record<string, string | readonly string[] | undefined>;

/**
 * The path of a request target without its query string or fragment:
 * `/a/b?x` gives `/a/b`, `/a#x` gives `/a` (clients never send a fragment,
 * but a raw one must not hide the path routers see); an absolute-form target
 * (`http://host/a?x`, sent to proxies) gives `/a`; anything else (`*`,
 * garbage) is returned as it is, cut at `?` or `#`.
 */
export function pathOf(url: string | undefined): string {
  if (url === undefined || url === '') return '/';
  const end = endOfPath(url);
  const target = end === url.length ? url : url.slice(0, end);
  if (target === '') return '/';
  if (target.charCodeAt(0) === 0x2f /* / */) return target;
  const scheme = target.indexOf('://');
  if (scheme > 0 && scheme < 10) {
    const slash = target.indexOf('/', scheme + 3);
    return slash < 0 ? '/' : target.slice(slash);
  }
  return target;
}

/** Where the path of a request target ends: at its first `?` or `#`, or its end. */
function endOfPath(url: string): number {
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x3f /* ? */ || c === 0x23 /* # */) return i;
  }
  return url.length;
}

/**
 * A Fetch API `Headers` object as a record: names lower case, repeated
 * headers joined with `, ` (as Node joins `X-Forwarded-For`).
 */
export function headersFromFetch(headers: Headers): HeaderRecord {
  const out: HeaderRecord = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}
