import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import { withTokenStoreTimeouts } from '../../../src/adapters/failure/token-store.ts';
import { createMemoryTokenStore } from '../../../src/adapters/memory/token-store.ts';
import type { TokenStore } from '../../../src/ports/token-store.ts';

/** A store whose reads and rotations never answer (a stalled network store). */
function stalledStore(): TokenStore {
  const never = () => new Promise<never>(() => {});
  return { ...createMemoryTokenStore(), inProcess: false, getSession: never, rotateRefresh: never };
}

const rotation = {
  userId: 'u',
  sessionId: 's',
  familyHash: 'f',
  presentedHash: 'h0',
  nextHash: 'h1',
  now: 0,
  expiresAt: 1,
  maxLifetimeMs: 1,
  graceMs: 0,
};

/** Lets pending promise callbacks run (no time passes on any clock). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** When `call` settles on the manual clock: advances 1 ms at a time, up to `limitMs`. */
async function settlesAfter(
  clock: ReturnType<typeof createManualClock>,
  call: Promise<unknown>,
  limitMs: number,
): Promise<number> {
  let settled = false;
  call.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  const start = clock.now();
  await flush();
  while (!settled && clock.now() - start < limitMs) {
    clock.advance(1);
    await flush();
  }
  return clock.now() - start;
}

describe('withTokenStoreTimeouts: rotation timeout', () => {
  it('a rotation is waited for the larger of timeoutMs and 1 s by default; reads get timeoutMs', async () => {
    for (const [timeoutMs, rotateMs] of [
      [100, 1000],
      [50, 1000],
      [2000, 2000],
    ] as const) {
      const clock = createManualClock();
      const store = withTokenStoreTimeouts(stalledStore(), { clock, timeoutMs });
      expect(await settlesAfter(clock, store.getSession('u', 's', 0), 20_000)).toBe(timeoutMs);
      const rotating = store.rotateRefresh(rotation);
      expect(await settlesAfter(clock, rotating, 20_000)).toBe(rotateMs);
      await expect(rotating).rejects.toMatchObject({ code: 'store_timeout' });
    }
  });

  it('rotateTimeoutMs sets it, validated like timeoutMs', async () => {
    const clock = createManualClock();
    const store = withTokenStoreTimeouts(stalledStore(), { clock, rotateTimeoutMs: 300 });
    expect(
      await settlesAfter(
        clock,
        store.rotateRefresh(rotation).catch(() => {}),
        20_000,
      ),
    ).toBe(300);
    for (const bad of [0, 10_001, 1.5, '1s']) {
      expect(() =>
        withTokenStoreTimeouts(stalledStore(), { rotateTimeoutMs: bad as never }),
      ).toThrow(
        expect.objectContaining({ code: 'invalid_option', option: 'failure.rotateTimeoutMs' }),
      );
    }
  });
});
