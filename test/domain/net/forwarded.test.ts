import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ForwardedHop,
  parseForwarded,
  parseForwardedNode,
  parseXForwardedFor,
  walkForwarded,
  walkXForwardedFor,
} from '../../../src/domain/net/forwarded.ts';
import { ipFromBytes, parseIp } from '../../../src/domain/net/ip.ts';

const texts = (hops: ForwardedHop[]) => hops.map((hop) => hop?.text);

// Whatever a client may write in its own Forwarded line: any text, or the characters that matter to the grammar.
const clientText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({
    unit: fc.constantFrom(
      '"',
      ',',
      ';',
      '=',
      'for',
      ' ',
      '\t',
      '\\',
      '[',
      ']',
      ':',
      'x',
      '2001:db8::2',
    ),
  }),
);

const address = fc.oneof(
  fc.uint8Array({ minLength: 4, maxLength: 4 }),
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
);

describe('parseXForwardedFor', () => {
  it('reads a comma list, client first', () => {
    expect(texts(parseXForwardedFor('203.0.113.7, 10.0.0.1,10.0.0.2'))).toEqual([
      '203.0.113.7',
      '10.0.0.1',
      '10.0.0.2',
    ]);
  });

  it('reads repeated header lines in arrival order', () => {
    expect(texts(parseXForwardedFor(['203.0.113.7, 10.0.0.1', '10.0.0.2']))).toEqual([
      '203.0.113.7',
      '10.0.0.1',
      '10.0.0.2',
    ]);
  });

  it('trims spaces and tabs and skips empty entries', () => {
    expect(texts(parseXForwardedFor(' \t203.0.113.7 ,, \t,10.0.0.1\t'))).toEqual([
      '203.0.113.7',
      '10.0.0.1',
    ]);
    expect(parseXForwardedFor('')).toEqual([]);
    expect(parseXForwardedFor(' , ')).toEqual([]);
    expect(parseXForwardedFor([])).toEqual([]);
    expect(parseXForwardedFor(undefined)).toEqual([]);
  });

  it('accepts ports, brackets and IPv4-mapped addresses', () => {
    expect(
      texts(
        parseXForwardedFor('203.0.113.7:5000, [2001:db8::1]:443, ::ffff:10.0.0.1, 2001:DB8::2'),
      ),
    ).toEqual(['203.0.113.7', '2001:db8::1', '10.0.0.1', '2001:db8::2']);
  });

  it('keeps a hop that is not an IP in its place as undefined', () => {
    expect(texts(parseXForwardedFor('evil, unknown, 01.2.3.4, 10.0.0.1, "1.2.3.4"'))).toEqual([
      undefined,
      undefined,
      undefined,
      '10.0.0.1',
      undefined,
    ]);
  });

  it('walks from the nearest proxy and stops when told', () => {
    const seen: (string | undefined)[] = [];
    walkXForwardedFor(['1.1.1.1, 2.2.2.2', '3.3.3.3, 4.4.4.4'], (hop) => {
      seen.push(hop?.text);
      return seen.length < 3;
    });
    expect(seen).toEqual(['4.4.4.4', '3.3.3.3', '2.2.2.2']);
  });

  it('parses what it is given, entry by entry (property)', () => {
    fc.assert(
      fc.property(
        fc.array(address, { maxLength: 8 }),
        fc.constantFrom(',', ', ', ' ,\t'),
        (list, sep) => {
          const ips = list.map((bytes) => ipFromBytes(bytes).text);
          expect(texts(parseXForwardedFor(ips.join(sep)))).toEqual(ips);
        },
      ),
    );
  });

  it('never lets text before the last comma change the last hop (property)', () => {
    fc.assert(
      fc.property(fc.string(), (junk) => {
        expect(parseXForwardedFor(`${junk}, 192.0.2.1`).at(-1)?.text).toBe('192.0.2.1');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseForwarded', () => {
  it('reads the RFC 7239 examples', () => {
    expect(texts(parseForwarded('for="_gazonk"'))).toEqual([undefined]);
    expect(texts(parseForwarded('For="[2001:db8:cafe::17]:4711"'))).toEqual(['2001:db8:cafe::17']);
    expect(texts(parseForwarded('for=192.0.2.60;proto=http;by=203.0.113.43'))).toEqual([
      '192.0.2.60',
    ]);
    expect(texts(parseForwarded('for=192.0.2.43, for=198.51.100.17'))).toEqual([
      '192.0.2.43',
      '198.51.100.17',
    ]);
    expect(texts(parseForwarded('for=unknown'))).toEqual([undefined]);
    expect(texts(parseForwarded('for=192.0.2.43,for="[2001:db8:cafe::17]",for=unknown'))).toEqual([
      '192.0.2.43',
      '2001:db8:cafe::17',
      undefined,
    ]);
  });

  it('reads ports, obfuscated ports, mixed-case names and spaces around separators', () => {
    expect(
      texts(
        parseForwarded(
          'proto=https ; FOR="192.0.2.1:8080" , for="[2001:db8::1]:_p1";by=_x,for="198.51.100.1:_port"',
        ),
      ),
    ).toEqual(['192.0.2.1', '2001:db8::1', '198.51.100.1']);
  });

  it('treats unknown and obfuscated identifiers as non-IP hops', () => {
    expect(texts(parseForwarded('for=unknown, for=UNKNOWN, for=_hidden, for="_x.y-z"'))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(parseForwardedNode('unknown')).toBeUndefined();
    expect(parseForwardedNode('_hidden')).toBeUndefined();
    expect(parseForwardedNode('unknown:80')).toBeUndefined();
    expect(parseForwardedNode('[2001:db8::1]:_')).toBeUndefined();
    expect(parseForwardedNode('2001:db8::1:_p')).toBeUndefined();
    expect(parseForwardedNode('[2001:db8::1]:_p')?.text).toBe('2001:db8::1');
  });

  it('accepts bare IPv6 unquoted, as `for=$remote_addr` proxies write it', () => {
    expect(texts(parseForwarded('for=2001:db8::1, for=[2001:db8::2]:80'))).toEqual([
      '2001:db8::1',
      '2001:db8::2',
    ]);
  });

  it('unescapes quoted pairs', () => {
    expect(texts(parseForwarded('for="192.0.2.\\1";host="a\\"b"'))).toEqual(['192.0.2.1']);
  });

  it('gives an element without for= a non-IP hop and skips empty elements', () => {
    expect(texts(parseForwarded('proto=https, , for=192.0.2.1,;,'))).toEqual([
      undefined,
      '192.0.2.1',
    ]);
    expect(parseForwarded('')).toEqual([]);
    expect(parseForwarded(undefined)).toEqual([]);
  });

  it('marks malformed elements and resumes after the next comma', () => {
    expect(
      texts(
        parseForwarded(
          'for 192.0.2.1, for=, for=192.0.2.2;for=192.0.2.3, for="192.0.2.4" x, =1, for=a b, for=192.0.2.9',
        ),
      ),
    ).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, '192.0.2.9']);
  });

  it('recovers from an unterminated quote at the next comma', () => {
    expect(texts(parseForwarded('for="x, for=198.51.100.9, for=192.0.2.1'))).toEqual([
      undefined,
      '198.51.100.9',
      '192.0.2.1',
    ]);
  });

  it('rejects control characters in quoted strings', () => {
    expect(texts(parseForwarded('for="192.0.2.1\u0000", for=192.0.2.2'))).toEqual([
      undefined,
      '192.0.2.2',
    ]);
  });

  it('parses each repeated header line on its own', () => {
    expect(texts(parseForwarded(['for="unterminated', 'for=192.0.2.1']))).toEqual([
      undefined,
      '192.0.2.1',
    ]);
  });

  it('walks from the nearest proxy', () => {
    const seen: (string | undefined)[] = [];
    walkForwarded('for=1.1.1.1, for=2.2.2.2, for=3.3.3.3', (hop) => {
      seen.push(hop?.text);
      return seen.length < 2;
    });
    expect(seen).toEqual(['3.3.3.3', '2.2.2.2']);
  });

  it('round-trips addresses in every node form (property)', () => {
    const node = fc.tuple(address, fc.nat({ max: 3 }), fc.integer({ min: 0, max: 65535 }));
    fc.assert(
      fc.property(fc.array(node, { maxLength: 6 }), (list) => {
        const ips = list.map(([bytes]) => ipFromBytes(bytes));
        const elements = list.map(([, form, port], i) => {
          const ip = ips[i]!;
          const host = ip.family === 6 ? `[${ip.text}]` : ip.text;
          const value = [host, `${host}:${port}`, `${host}:_p${port}`, ip.text][form]!;
          return `for="${value}";proto=https`;
        });
        expect(texts(parseForwarded(elements.join(', ')))).toEqual(ips.map((ip) => ip.text));
      }),
    );
  });

  it('reads a proxy element that follows an unterminated client quote', () => {
    // Node joins repeated lines with ", "; the client's open quote must not swallow the proxy's element.
    expect(texts(parseForwarded('for="x, for="[2001:db8::1]"'))).toEqual([
      undefined,
      '2001:db8::1',
    ]);
    expect(texts(parseForwarded(['for="x', 'for="[2001:db8::1]"']))).toEqual([
      undefined,
      '2001:db8::1',
    ]);
    expect(
      texts(parseForwarded('for="\\", for="a\\"b, for="[2001:db8::1]:443";proto=https')),
    ).toEqual([undefined, undefined, '2001:db8::1']);
  });

  it('never lets client text before a proxy-appended element change that element (property)', () => {
    fc.assert(
      fc.property(clientText, (junk) => {
        expect(parseForwarded(`${junk}, for=192.0.2.1`).at(-1)?.text).toBe('192.0.2.1');
        expect(parseForwarded(`${junk}, for="[2001:db8::1]:80"`).at(-1)?.text).toBe('2001:db8::1');
        expect(parseForwarded([junk, 'for="[2001:db8::1]:80"']).at(-1)?.text).toBe('2001:db8::1');
      }),
      { numRuns: 2000 },
    );
  });

  it('visits the proxy element first whatever the client wrote before it (property)', () => {
    const firstHop = (value: string | string[]) => {
      const seen: ForwardedHop[] = [];
      walkForwarded(value, (hop) => {
        seen.push(hop);
        return false;
      });
      return seen;
    };
    fc.assert(
      fc.property(clientText, (prefix) => {
        expect(texts(firstHop(`${prefix}, for="[2001:db8::1]"`))).toEqual(['2001:db8::1']);
        expect(texts(firstHop([prefix, 'for="[2001:db8::1]"']))).toEqual(['2001:db8::1']);
        expect(texts(firstHop([prefix, 'for="x', 'for="[2001:db8::1]";by=_p']))).toEqual([
          '2001:db8::1',
        ]);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads well-formed elements whatever their quoted parameters hold (property)', () => {
    const quoted = fc
      .string({ unit: fc.constantFrom('"', '\\', ',', ';', '=', ' ', '\t', 'a', 'for=', '\u00e9') })
      .map((text) => `"${text.replace(/["\\]/g, '\\$&')}"`);
    const element = fc.tuple(address, quoted, quoted, fc.boolean());
    fc.assert(
      fc.property(fc.array(element, { maxLength: 5 }), (list) => {
        const ips = list.map(([bytes]) => ipFromBytes(bytes));
        const header = list
          .map(([, before, after, upper], i) => {
            const ip = ips[i]!;
            const node = ip.family === 6 ? `"[${ip.text}]"` : ip.text;
            return `host=${before} ; ${upper ? 'FOR' : 'for'}=${node};x=${after}`;
          })
          .join(' ,\t');
        expect(texts(parseForwarded(header))).toEqual(ips.map((ip) => ip.text));
      }),
    );
  });

  it('agrees with parseIp on the node text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), (text) => {
        const node = parseForwardedNode(text);
        if (node !== undefined) {
          const stripped = text.replace(/:_[A-Za-z0-9._-]+$/, '');
          expect(node.text).toBe(parseIp(stripped)?.text);
        }
      }),
    );
  });
});
