/**
 * A URL as an error message may show it: the credentials blanked and, with
 * `keep: 'host'`, only scheme and host (webhook URLs carry their tokens in
 * the path and query: `https://hooks.slack.com/services/T0/B0/<secret>`).
 * With `keep: 'path'` the path stays (a database name helps) but the query
 * goes (`?password=` is a form drivers accept).
 *
 * It works on the text, not on a parsed URL: a password may hold `/`, `#`,
 * `?` or `@` unencoded, and then no URL parser finds where it ends — the
 * URLs that fail to parse are the ones an error message shows. So
 * everything up to the last `@` is treated as credentials; only a user name
 * that ends at the first `:` is kept.
 */
export function redactUrl(text: string, keep: 'path' | 'host' = 'path'): string {
  const scheme = /^[a-z][a-z0-9+.-]*:(?:\/\/)?/i.exec(text)?.[0] ?? '';
  const rest = text.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  let credentials = '';
  let tail = rest;
  if (at >= 0) {
    const user = /^[^:/?#@]+(?=:)/.exec(rest.slice(0, at))?.[0];
    credentials = user === undefined ? '***@' : `${user}:***@`;
    tail = rest.slice(at + 1);
  }
  const cut = tail.search(keep === 'path' ? /[?#]/ : /[/?#]/);
  return `${scheme}${credentials}${cut < 0 ? tail : `${tail.slice(0, cut)}…`}`;
}
