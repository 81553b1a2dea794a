/**
 * A Redis that accepts connections and never answers (a wrong port, a hung
 * server, a network that drops replies): the stores LockWatch creates fail
 * each call within `commandTimeout`, settle calls still in flight when they
 * close, and close without waiting for a QUIT that cannot be answered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisTokenStore } from '../../../src/adapters/redis/token-store.ts';
import { createRedisWindowStore } from '../../../src/adapters/redis/window-store.ts';
import { StoreUnavailableError } from '../../../src/domain/failure/errors.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import { redisServices } from '../../support/redis.ts';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts';

const commandTimeout = 300;
// QUIT waits at most 1 s (src/adapters/redis/client.ts); closing an unready client must not.
const promptMs = 500;
const policies = Object.freeze([definePolicy({ name: 'a', limit: 10, window: '1m' })]);

const { url } = redisServices();
if (url === null && process.env.CI) throw new Error('Redis is required in CI');

describe.runIf(url !== null)('Redis that accepts connections and never answers', () => {
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  const through = async (mode: 'hang' | 'pass') => {
    const target = new URL(url!);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    proxy.mode = mode;
    return `redis://127.0.0.1:${proxy.port}`;
  };

  const elapsed = async <T>(work: () => Promise<T>): Promise<[T | unknown, number]> => {
    const started = performance.now();
    const result = await work().catch((error: unknown) => error);
    return [result, performance.now() - started];
  };

  it('from the first connection: calls fail at the command timeout', async () => {
    const redisUrl = await through('hang');
    const store = createRedisWindowStore({ url: redisUrl, redisOptions: { commandTimeout } });
    const tokens = createRedisTokenStore({ url: redisUrl, redisOptions: { commandTimeout } });

    const [checked, checkMs] = await elapsed(() => store.check('s', policies, 1));
    expect(checked).toBeInstanceOf(StoreUnavailableError);
    expect(checkMs).toBeGreaterThanOrEqual(commandTimeout - 20);
    expect(checkMs).toBeLessThan(commandTimeout + promptMs);
    const [read, readMs] = await elapsed(() => tokens.getSession('user', 'session', Date.now()));
    expect(read).toBeInstanceOf(StoreUnavailableError);
    expect(readMs).toBeLessThan(commandTimeout + promptMs);
    expect(proxy!.accepted).toBeGreaterThanOrEqual(2);

    await store.close();
    await tokens.close();
  });

  it('from the first connection, with the default timeouts: close is prompt and settles calls in flight', async () => {
    const redisUrl = await through('hang');
    const store = createRedisWindowStore({ url: redisUrl });
    const tokens = createRedisTokenStore({ url: redisUrl });
    const inFlight = store.check('s', policies, 1).catch((error: unknown) => error);
    const reading = tokens
      .getSession('user', 'session', Date.now())
      .catch((error: unknown) => error);
    const [, closeMs] = await elapsed(async () => {
      await store.close();
      await tokens.close();
    });
    // Well before the default 2 s command timeout and the 1 s QUIT wait.
    expect(closeMs).toBeLessThan(promptMs);
    const [settled, settleMs] = await elapsed(() => Promise.all([inFlight, reading]));
    expect(settleMs).toBeLessThan(promptMs);
    expect(settled).toEqual([expect.any(StoreUnavailableError), expect.any(StoreUnavailableError)]);
  });

  it('after answering for a while: calls fail at the command timeout, close within the QUIT wait', async () => {
    const redisUrl = await through('pass');
    const store = createRedisWindowStore({ url: redisUrl, redisOptions: { commandTimeout } });
    await store.check('s', policies, 1);
    // From now on the connection stays open and nothing comes back.
    proxy!.mode = 'stall';
    const [checked, checkMs] = await elapsed(() => store.check('s', policies, 1));
    expect(checked).toBeInstanceOf(StoreUnavailableError);
    expect(checkMs).toBeLessThan(commandTimeout + promptMs);

    const inFlight = store.check('s', policies, 1).catch((error: unknown) => error);
    const [, closeMs] = await elapsed(() => store.close());
    expect(closeMs).toBeLessThan(1000 + promptMs);
    expect(await inFlight).toBeInstanceOf(StoreUnavailableError);
  });
});
