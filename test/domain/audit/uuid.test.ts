import { describe, expect, it } from 'vitest';
import { createUuidV7Generator, uuidV7Timestamp } from '../../../src/domain/audit/uuid.ts';

const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('UUIDv7 ids', () => {
  it('carry version 7, the RFC 9562 variant and the millisecond time', () => {
    const next = createUuidV7Generator();
    for (const ms of [0, 1, 1_700_000_000_123, 2 ** 48 - 1]) {
      const id = next(ms);
      expect(id).toMatch(shape);
      expect(uuidV7Timestamp(id)).toBe(ms);
    }
  });

  it('sort in creation order within one millisecond and across milliseconds', () => {
    const next = createUuidV7Generator();
    const ids: string[] = [];
    for (let ms = 1_700_000_000_000; ms < 1_700_000_000_005; ms++) {
      for (let i = 0; i < 1000; i++) ids.push(next(ms));
    }
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('borrows the next millisecond after 4,096 ids in one, keeping order', () => {
    const next = createUuidV7Generator((bytes) => bytes.fill(0xff));
    const ids = Array.from({ length: 5000 }, () => next(1000));
    expect([...ids].sort()).toEqual(ids);
    expect(uuidV7Timestamp(ids.at(-1)!)).toBeGreaterThan(1000);
  });

  it('stays unique when the clock goes back, and clamps times out of range', () => {
    const next = createUuidV7Generator();
    const ids = new Set([next(2000), next(1000), next(1000), next(-5), next(Number.NaN)]);
    expect(ids.size).toBe(5);
    expect(uuidV7Timestamp(next(2 ** 60))).toBe(2 ** 48 - 1);
  });

  it('draws random bytes in blocks, not per id', () => {
    let calls = 0;
    const next = createUuidV7Generator((bytes) => {
      calls++;
      crypto.getRandomValues(bytes);
    });
    for (let i = 0; i < 1000; i++) next(1_700_000_000_000 + i);
    expect(calls).toBeLessThanOrEqual(3);
  });

  it('reads no time out of something that is not a UUIDv7', () => {
    expect(uuidV7Timestamp('not-an-id')).toBeUndefined();
    expect(uuidV7Timestamp('0190d7a0-0000-4000-8000-000000000000')).toBeUndefined();
  });
});
