import { describe, expect, it } from 'vitest';
import { retryWithin } from '../../../src/adapters/sql/retry.ts';

const busy = new Error('busy');
const retryable = (error: unknown) => error === busy;

describe('retryWithin', () => {
  it('tries again after each pause until the attempt succeeds', async () => {
    let calls = 0;
    const pauses: number[] = [];
    const result = await retryWithin(
      performance.now(),
      10_000,
      retryable,
      (tries) => {
        pauses.push(tries);
        return 1;
      },
      () => {
        calls++;
        if (calls < 3) throw busy;
        return 'done';
      },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
    expect(pauses).toEqual([0, 1, 2]);
  });

  it('throws an error it may not retry at once', async () => {
    let calls = 0;
    const other = new Error('constraint');
    await expect(
      retryWithin(
        performance.now(),
        10_000,
        retryable,
        () => 1,
        () => {
          calls++;
          throw other;
        },
      ),
    ).rejects.toBe(other);
    expect(calls).toBe(1);
  });

  it('throws the last retryable error once the wait is over', async () => {
    const started = performance.now();
    let calls = 0;
    await expect(
      retryWithin(
        started,
        30,
        retryable,
        () => 5,
        () => {
          calls++;
          throw busy;
        },
      ),
    ).rejects.toBe(busy);
    expect(performance.now() - started).toBeGreaterThanOrEqual(30);
    expect(calls).toBeGreaterThanOrEqual(2);
  });
});
