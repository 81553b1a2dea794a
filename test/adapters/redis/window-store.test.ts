import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createManualClock } from '../../../src/adapters/clock/manual.ts';
import { subjectTag, windowKey } from '../../../src/adapters/redis/keys.ts';
import { slotOfTag } from '../../../src/adapters/redis/slot.ts';
import { createRedisWindowStore } from '../../../src/adapters/redis/window-store.ts';
import { InvalidOptionError } from '../../../src/domain/config/errors.ts';
import { StoreUnavailableError } from '../../../src/domain/failure/errors.ts';
import { StoreClosedError } from '../../../src/domain/ratelimit/errors.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import { freePort, nodeCommand, testPrefix } from '../../support/redis.ts';
import { redisTargets } from './harness.ts';
import { hostileSubjects } from './subjects.ts';

const { targets, missing } = redisTargets();

/**
 * Records the name of every command `client` sends from now on (the server is
 * shared with other test files running at the same time, so its counters
 * cannot be exact); `restore` stops recording.
 */
function recordCommands(client: Redis | Cluster): { sent: string[]; restore: () => void } {
  const sent: string[] = [];
  type Send = (command: { name: string }, ...rest: unknown[]) => unknown;
  const target = client as unknown as { sendCommand: Send };
  const original = target.sendCommand;
  target.sendCommand = (command, ...rest) => {
    sent.push(command.name);
    return original.call(client, command, ...rest);
  };
  return { sent, restore: () => (target.sendCommand = original) };
}
const policies = [
  definePolicy({ name: 'per-second', limit: 10, window: '1s' }),
  definePolicy({ name: 'per-day', limit: 1000, window: '1d', algorithm: 'sliding-window' }),
  definePolicy({ name: 'log', limit: 50, window: '1m', algorithm: 'sliding-log' }),
  definePolicy({
    name: 'burst',
    limit: 50,
    window: '10s',
    algorithm: 'fixed-window',
    mode: 'observe',
  }),
];

describe('createRedisWindowStore options', () => {
  it('rejects bad options by name', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ url: 'http://localhost:6379' }, 'url'],
      [{ url: 'redis://127.0.0.1:1', prefix: '{x}' }, 'prefix'],
      [{ url: 'redis://127.0.0.1:1', time: 'local' }, 'time'],
      [{ url: 'redis://127.0.0.1:1', clockSkewMs: -1 }, 'clockSkewMs'],
      [{ url: 'redis://127.0.0.1:1', coalesce: 'yes' }, 'coalesce'],
      [{ url: 'redis://127.0.0.1:1', nodes: [{ host: '127.0.0.1', port: 1 }] }, 'client'],
      [{ client: {} }, 'client'],
      [{ nodes: [] }, 'nodes'],
    ];
    for (const [options, option] of cases) {
      expect(() => createRedisWindowStore(options)).toThrow(InvalidOptionError);
      try {
        createRedisWindowStore(options);
      } catch (error) {
        expect((error as InvalidOptionError).option).toBe(option);
      }
    }
  });

  it('reads REDIS_URL when no connection is given', async () => {
    const saved = process.env.REDIS_URL;
    try {
      delete process.env.REDIS_URL;
      expect(() => createRedisWindowStore({})).toThrow(InvalidOptionError);
      process.env.REDIS_URL = `redis://127.0.0.1:${await freePort()}`;
      const store = createRedisWindowStore({});
      await expect(store.check('a', policies, 1)).rejects.toBeInstanceOf(StoreUnavailableError);
      await store.close();
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
  });

  it('rejects with StoreUnavailableError, quickly, when nothing listens', async () => {
    const store = createRedisWindowStore({ url: `redis://127.0.0.1:${await freePort()}` });
    const started = Date.now();
    const error = await store.check('a', policies, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).code).toBe('store_unavailable');
    expect((error as Error).cause).toBeDefined();
    expect(Date.now() - started).toBeLessThan(2000);
    await store.close();
  });

  it('puts every subject of a Cluster whose slot map is unknown on one shard (one breaker, not one per slot)', async () => {
    const store = createRedisWindowStore({
      nodes: [{ host: '127.0.0.1', port: await freePort() }],
      clusterOptions: { lazyConnect: true },
    });
    const subjects = ['ip:198.51.100.1', 'ip:198.51.100.2', 'user:alice', 'key:x'];
    expect(new Set(subjects.map((s) => slotOfTag(subjectTag(s)))).size).toBeGreaterThan(1);
    expect(new Set(subjects.map((s) => store.shardOf!(s)))).toEqual(new Set(['unknown']));
    await store.close();
  });
});

describe.runIf(targets.length > 0)(`Redis WindowStore${missing ? ` (${missing})` : ''}`, () => {
  for (const target of targets) {
    describe(target.name, () => {
      const isCluster = 'nodes' in target.connection;
      const allNodes = isCluster
        ? (target.connection as { nodes: { host: string; port: number }[] }).nodes
        : [
            (() => {
              const url = new URL((target.connection as { url: string }).url);
              return { host: url.hostname, port: Number(url.port || 6379) };
            })(),
          ];
      let client: Redis | Cluster;
      beforeAll(async () => {
        client = isCluster
          ? new Cluster(allNodes)
          : new Redis((target.connection as { url: string }).url);
        await client.ping();
      });
      afterAll(async () => {
        await client.quit();
      });

      it('uses server time by default and expires every key it writes', async () => {
        const prefix = testPrefix('ttl');
        const store = createRedisWindowStore({ client, prefix });
        const decision = await store.check('ttl-subject', policies, 1);
        expect(decision.allowed).toBe(true);
        const tag = subjectTag('ttl-subject');
        for (const policy of policies) {
          const ttl = await client.pttl(windowKey(prefix, tag, policy.name));
          // -2: already expired (the 1 s gcra key lives 100 ms); never -1 (no TTL).
          expect(ttl === -2 || ttl > 0).toBe(true);
          expect(ttl).toBeLessThanOrEqual(2 * policy.windowMs);
          if (policy.windowMs >= 60_000) expect(ttl).toBeGreaterThan(policy.windowMs / 2);
        }
        await store.reset('ttl-subject', policies);
        await store.close();
      });

      it('leaves a client it was given open, and closes one it created', async () => {
        const given = createRedisWindowStore({ client, prefix: testPrefix() });
        await given.check('owner', policies, 1);
        await given.close();
        expect(client.status).toBe('ready');
        await expect(given.check('owner', policies, 1)).rejects.toBeInstanceOf(StoreClosedError);

        const name = `lw-owned-${process.pid}-${Date.now()}`;
        const owned = createRedisWindowStore({
          ...target.connection,
          prefix: testPrefix(),
          redisOptions: { connectionName: name },
        });
        await owned.check('owner', policies, 1);
        const connections = async () => {
          let count = 0;
          for (const node of allNodes) {
            const list = String(await nodeCommand(node, 'CLIENT', 'LIST'));
            count += list.split('\n').filter((line) => line.includes(`name=${name}`)).length;
          }
          return count;
        };
        expect(await connections()).toBeGreaterThan(0);
        await owned.close();
        await expect.poll(connections).toBe(0);
      });

      it('rejects with the abort reason when the signal is already aborted', async () => {
        const store = createRedisWindowStore({ client, prefix: testPrefix() });
        const reason = new Error('caller gave up');
        const signal = AbortSignal.abort(reason);
        await expect(store.check('abort', policies, 1, { signal })).rejects.toBe(reason);
        await expect(store.reset('abort', policies, { signal })).rejects.toBe(reason);
        await store.close();
      });

      it('rejects with the abort reason when the signal aborts while the command is out (which still ran)', async () => {
        const store = createRedisWindowStore({ client, prefix: testPrefix() });
        const reason = new Error('caller gave up');
        const controller = new AbortController();
        const call = store.check('abort-later', policies, 1, { signal: controller.signal });
        controller.abort(reason);
        await expect(call).rejects.toBe(reason);
        // Redis cannot take back a sent command: the check was counted.
        expect((await store.peek('abort-later', policies, 0)).results[0]!.remaining).toBe(9);
        await store.reset('abort-later', policies);
        await store.close();
      });

      it(`names its failure domain${isCluster ? ': the master owning the slot, as CLUSTER KEYSLOT says' : ': none on a single node'}`, async () => {
        const store = createRedisWindowStore({ client, prefix: testPrefix('shard') });
        if (!isCluster) {
          expect(store.shardOf).toBeUndefined();
          return;
        }
        const cluster = client as Cluster;
        for (const subject of [...hostileSubjects, 'ip:203.0.113.7', 'user:42', '']) {
          const key = windowKey(store.prefix, subjectTag(subject), 'p');
          const slot = Number(await nodeCommand(allNodes[0]!, 'CLUSTER', 'KEYSLOT', key));
          expect(slotOfTag(subjectTag(subject))).toBe(slot);
          expect(store.shardOf!(subject)).toBe(cluster.slots[slot]![0]);
        }
        await store.close();
      });

      it(`keeps each hostile subject on its own keys${isCluster ? ', all in one slot' : ''}`, async () => {
        const prefix = testPrefix('slots');
        const store = createRedisWindowStore({ client, prefix });
        const one = [definePolicy({ name: 'one', limit: 1, window: '1m' })];
        for (const subject of hostileSubjects) {
          if (isCluster) {
            const tag = subjectTag(subject);
            const slots = new Set<unknown>();
            for (const policy of [...policies, ...one]) {
              const key = windowKey(prefix, tag, policy.name);
              slots.add(await nodeCommand(allNodes[0]!, 'CLUSTER', 'KEYSLOT', key));
            }
            expect(slots.size).toBe(1);
          }
          expect((await store.check(subject, [...policies, ...one], 1)).allowed).toBe(true);
        }
        for (const subject of hostileSubjects) {
          const decision = await store.check(subject, [...policies, ...one], 1);
          expect(decision.allowed).toBe(false);
          expect(decision.policy).toBe('one');
          await store.reset(subject, [...policies, ...one]);
        }
        await store.close();
      });

      it('recovers from SCRIPT FLUSH on every node without an error reaching the caller', async () => {
        const store = createRedisWindowStore({ client, prefix: testPrefix('flush') });
        const subjects = Array.from({ length: 40 }, (_, i) => `flush-${i}`);
        await Promise.all(subjects.map((s) => store.check(s, policies, 1)));
        for (let round = 0; round < 3; round++) {
          for (const node of allNodes) await nodeCommand(node, 'SCRIPT', 'FLUSH');
          const outcomes = await Promise.allSettled(
            subjects.map((s) => store.check(s, policies, 1)),
          );
          expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
          await store.refund(subjects[0]!, policies, 1);
        }
        // The minute-long sliding log counts exactly: 4 checks, and 3 refunds for the first subject.
        expect((await store.peek(subjects[1]!, policies, 0)).results[2]!.remaining).toBe(46);
        expect((await store.peek(subjects[0]!, policies, 0)).results[2]!.remaining).toBe(49);
        await Promise.all(subjects.map((s) => store.reset(s, policies)));
        await store.close();
      });

      /** A client-time store at …1800 ms with a 5-per-second sliding log, and that log's key for `subject`. */
      const slidingLogFor = (subject: string) => {
        const prefix = testPrefix(`${subject}-log`);
        const clock = createManualClock(1_700_000_001_800);
        const store = createRedisWindowStore({ client, prefix, time: 'client', clock });
        const log = [
          definePolicy({ name: 'log', limit: 5, window: 1000, algorithm: 'sliding-log' }),
        ];
        return { clock, store, log, key: windowKey(prefix, subjectTag(subject), 'log') };
      };

      it('reads a sliding log stored without its header (an earlier version) and adds the header', async () => {
        const { clock, store, log, key } = slidingLogFor('legacy');
        // Three charges left of the window's five, as the 'l' form held them.
        await client.set(key, 'l1700000000700:4:1700000001000:2:1700000001500:1', 'PX', 60_000);
        const admitted = await store.check('legacy', log, 1);
        expect([admitted.allowed, admitted.remaining]).toEqual([true, 1]);
        expect(await client.get(key)).toBe(
          'L4:1700000001800:1;1700000001000:2:1700000001500:1:1700000001800:1',
        );
        // A charge at the same millisecond merges into the newest entry.
        expect((await store.check('legacy', log, 1)).remaining).toBe(0);
        expect(await client.get(key)).toBe(
          'L5:1700000001800:2;1700000001000:2:1700000001500:1:1700000001800:2',
        );
        // Refused: two units fit again once the oldest entry (2 at …1000) leaves at …2000.
        const refused = await store.check('legacy', log, 2);
        expect([refused.allowed, refused.retryAfterMs]).toEqual([false, 200]);
        await store.refund('legacy', log, 3);
        expect(await client.get(key)).toBe('L2:1700000001000:2;1700000001000:2');
        clock.advance(200);
        expect((await store.peek('legacy', log, 0)).remaining).toBe(5);
        await store.reset('legacy', log);
        await store.close();
      });

      it('reads a sliding log that does not parse as empty, without an error', async () => {
        const { store, log, key } = slidingLogFor('corrupt');
        const corrupt = [
          'Lx:1700000001500:1;1700000001500:1', // header total not a number
          'L3:1700000001500:3;', // a header and no entries
          'L2:1700000001500:1;garbage', // entries that do not parse
          'L2:1700000001500:1;1700000001400', // an entry without its cost
          'L9',
        ];
        for (const value of corrupt) {
          await client.set(key, value, 'PX', 60_000);
          const decision = await store.check('corrupt', log, 1);
          expect([value, decision.allowed, decision.remaining]).toEqual([value, true, 4]);
          expect(await client.get(key)).toBe('L1:1700000001800:1;1700000001800:1');
        }
        await store.reset('corrupt', log);
        await store.close();
      });

      it('answers a check with one EVALSHA, however many policies', async () => {
        const store = createRedisWindowStore({ client, prefix: testPrefix('count') });
        await store.check('warm', policies, 1);
        const { sent, restore } = recordCommands(client);
        try {
          const checks = 50;
          for (let i = 0; i < checks; i++) await store.check(`count-${i}`, policies, 1);
          expect(sent).toEqual(Array.from({ length: checks }, () => 'evalsha'));
        } finally {
          restore();
          await store.close();
        }
      });

      it('sends the calls one turn makes on a subject together, one EVALSHA per run of identical calls, each decided in order', async () => {
        const store = createRedisWindowStore({ client, prefix: testPrefix('coalesce') });
        const limited = [
          definePolicy({ name: 'ten', limit: 10, window: '1m' }),
          definePolicy({
            name: 'burst',
            limit: 3,
            window: '10s',
            algorithm: 'sliding-log',
            mode: 'observe',
          }),
        ];
        // Each subject's first script call loads the script on its node (a Cluster has three).
        for (const subject of ['warm', 'flood', 'other', 'many']) {
          await store.check(subject, limited, 1);
          await store.reset(subject, limited);
        }
        const { sent, restore } = recordCommands(client);
        const times = <T>(n: number, call: () => T): T[] => Array.from({ length: n }, call);
        try {
          const flood = await Promise.all([
            ...times(25, () => store.check('flood', limited, 1)),
            store.peek('flood', limited, 1),
            ...times(3, () => store.check('flood', limited, 1)),
            ...times(4, () => store.check('other', limited, 1)),
          ]);
          // Runs: 25 checks, the peek, 3 checks on 'flood'; 4 checks on 'other'.
          expect(sent).toEqual(times(4, () => 'evalsha'));
          const allowed = flood.map((decision) => decision.allowed);
          expect(allowed).toEqual([
            ...times(10, () => true),
            ...times(15, () => false),
            false,
            ...times(3, () => false),
            ...times(4, () => true),
          ]);
          expect(flood.slice(0, 10).map((decision) => decision.remaining)).toEqual([
            9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
          ]);
          // The burst detector counts every attempt up to its threshold, in call order.
          expect(flood.slice(0, 6).map((decision) => decision.observed[0]!.allowed)).toEqual([
            true,
            true,
            true,
            false,
            false,
            false,
          ]);

          // A run longer than 32 calls is split, so each script stays short.
          sent.length = 0;
          const many = await Promise.all(times(70, () => store.check('many', limited, 1)));
          expect(sent).toEqual(times(3, () => 'evalsha'));
          expect(many.filter((decision) => decision.allowed)).toHaveLength(10);
          expect(many.slice(0, 10).every((decision) => decision.allowed)).toBe(true);
        } finally {
          restore();
          for (const subject of ['warm', 'flood', 'other', 'many']) {
            await store.reset(subject, limited);
          }
          await store.close();
        }
      });

      it('keeps call order on a subject: a call with a signal, a refund or a reset made after waiting calls goes out after them', async () => {
        const store = createRedisWindowStore({ client, prefix: testPrefix('order') });
        const one = [definePolicy({ name: 'one', limit: 1, window: '1m' })];
        const signal = new AbortController().signal;
        const [plain, signalled] = await Promise.all([
          store.check('signal', one, 1),
          store.check('signal', one, 1, { signal }),
        ]);
        expect([plain.allowed, signalled.allowed]).toEqual([true, false]);
        await Promise.all([store.check('reset', one, 1), store.reset('reset', one)]);
        expect((await store.peek('reset', one, 1)).remaining).toBe(1);
        await Promise.all([store.check('refund', one, 1), store.refund('refund', one, 1)]);
        expect((await store.peek('refund', one, 1)).remaining).toBe(1);
        for (const subject of ['signal', 'reset', 'refund']) await store.reset(subject, one);
        await store.close();
      });

      it('decides a call on its policy list as it was when the call was made', async () => {
        const store = createRedisWindowStore({ client, prefix: testPrefix('snapshot') });
        const one = definePolicy({ name: 'one', limit: 1, window: '1m' });
        const two = definePolicy({ name: 'two', limit: 2, window: '1m' });
        const list = [two];
        const first = store.check('list', list, 1);
        list[0] = one;
        const second = store.check('list', list, 1);
        const decisions = await Promise.all([first, second]);
        expect(decisions.map((decision) => [decision.policy, decision.allowed])).toEqual([
          ['two', true],
          ['one', true],
        ]);
        expect((await store.peek('list', [two], 0)).remaining).toBe(1);
        expect((await store.peek('list', [one], 0)).remaining).toBe(0);
        await store.reset('list', [one, two]);
        await store.close();
      });

      it('answers under fake timers installed after it was loaded, and with coalesce: false sends each call at once', async () => {
        const policies1 = [definePolicy({ name: 'x', limit: 5, window: '1m' })];
        const coalescing = createRedisWindowStore({ client, prefix: testPrefix('fake') });
        const direct = createRedisWindowStore({
          client,
          prefix: testPrefix('direct'),
          coalesce: false,
        });
        await coalescing.check('warm', policies1, 1);
        const { sent, restore } = recordCommands(client);
        vi.useFakeTimers({ toFake: ['setImmediate', 'setTimeout'] });
        try {
          expect((await coalescing.check('fake', policies1, 1)).remaining).toBe(4);
          const calls = [direct.check('warm', policies1, 1), direct.check('warm', policies1, 1)];
          // Sent before this turn ends: no timer involved.
          expect(sent.filter((name) => name.startsWith('eval'))).toHaveLength(3);
          expect((await Promise.all(calls)).map((decision) => decision.remaining)).toEqual([4, 3]);
        } finally {
          vi.useRealTimers();
          restore();
        }
        await coalescing.reset('warm', policies1);
        await coalescing.reset('fake', policies1);
        await direct.reset('warm', policies1);
        await coalescing.close();
        await direct.close();
      });
    });
  }
});
