import { describe, expect, it } from 'vitest';
import { createUnknownRotations } from '../../../src/domain/tokens/unknown-rotations.ts';

describe('unknown rotations', () => {
  const rotation = (at: number) => ({ at, nextToken: `next-${at}` });

  it('one take per remembered rotation, only inside the window (either side of its time)', () => {
    const set = createUnknownRotations(1000, 10);
    set.remember('a', rotation(5000), 5000);
    expect(set.take('a', 5999)).toEqual(rotation(5000));
    expect(set.take('a', 5999)).toBeUndefined();
    set.remember('b', rotation(5000), 5000);
    expect(set.take('b', 6000)).toBeUndefined();
    set.remember('c', rotation(5000), 5000);
    expect(set.take('c', 4001)).toEqual(rotation(5000));
    expect(set.size).toBe(0);
  });

  it('stays bounded: expired ones go first, then the oldest', () => {
    const set = createUnknownRotations(1000, 3);
    set.remember('old', rotation(0), 0);
    set.remember('a', rotation(900), 900);
    set.remember('b', rotation(950), 950);
    // `old` has expired by now: it makes room.
    set.remember('c', rotation(1500), 1500);
    expect(set.size).toBe(3);
    expect(set.take('old', 1500)).toBeUndefined();
    // Full of live ones: the oldest (`a`) is forgotten.
    set.remember('d', rotation(1600), 1600);
    expect(set.size).toBe(3);
    expect(set.take('a', 1600)).toBeUndefined();
    expect(set.take('b', 1600)).toEqual(rotation(950));
    expect(set.take('d', 1600)).toEqual(rotation(1600));
  });
});
