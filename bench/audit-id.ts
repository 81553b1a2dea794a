/**
 * What an audit record's id costs on the request path, side by side:
 * LockWatch's UUIDv7 generator alone, and followed by what a sink or a check
 * does first with it (an insert into a Set of ids, as the memory sink keeps;
 * `isUuidV7`), against `crypto.randomUUID()` (v4) doing the same. A string
 * made by joining pieces is a rope that its first reader flattens, so the
 * second column is the one that matters.
 * Run: node bench/audit-id.ts
 */
import { createUuidV7Generator, isUuidV7 } from '../src/domain/audit/uuid.ts';
import { compare, toMarkdown } from './lib/compare.ts';

const generate = createUuidV7Generator();
const start = Date.now();
// A new millisecond every 64 ids, as under load: the time part is rewritten now and then.
const idAt = (i: number) => generate(start + (i >> 6));
// The generator's earlier way, for comparison: the same id joined from thirteen pieces (a rope).
const hex = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const random = new Uint8Array(4096);
crypto.getRandomValues(random);
const prefix = '0192f3a4-5b6c-';
const joinedAt = (i: number) => {
  const r = (k: number) => random[(i * 9 + k) & 4095]!;
  return (
    prefix +
    hex[0x70 | (i & 0xf)]! +
    hex[r(0)]! +
    '-' +
    hex[0x80 | (r(1) & 0x3f)]! +
    hex[r(2)]! +
    '-' +
    hex[r(3)]! +
    hex[r(4)]! +
    hex[r(5)]! +
    hex[r(6)]! +
    hex[r(7)]! +
    hex[r(8)]!
  );
};
const held = new Set<string>();
const insert = (id: string) => {
  held.add(id);
  if (held.size >= 10_000) held.clear();
};

const comparison = await compare(
  'audit record id: make it, then its first use',
  [
    { name: 'crypto.randomUUID()', run: () => crypto.randomUUID() },
    { name: 'LockWatch UUIDv7', run: idAt },
    {
      name: 'crypto.randomUUID() + Set insert',
      run: () => insert(crypto.randomUUID()),
    },
    { name: 'LockWatch UUIDv7 + Set insert', run: (i) => insert(idAt(i)) },
    { name: 'joined from 13 pieces + Set insert', run: (i) => insert(joinedAt(i)) },
    { name: 'LockWatch UUIDv7 + isUuidV7', run: (i) => isUuidV7(idAt(i)) },
  ],
  { baseline: 'crypto.randomUUID()', rounds: 5, roundMs: 300 },
);
console.log(toMarkdown(comparison));
