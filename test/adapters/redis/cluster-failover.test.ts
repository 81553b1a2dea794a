import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFailurePolicy } from '../../../src/adapters/failure/window-store.ts';
import { createMemoryWindowStore } from '../../../src/adapters/memory/window-store.ts';
import { subjectTag, windowKey } from '../../../src/adapters/redis/keys.ts';
import { createRedisWindowStore } from '../../../src/adapters/redis/window-store.ts';
import type { FailureEvent } from '../../../src/domain/failure/events.ts';
import { definePolicy } from '../../../src/domain/ratelimit/policy.ts';
import {
  commandCounts,
  hasRedisServerBinary,
  nodeCommand,
  type RedisClusterProcesses,
  type RedisProcess,
  startRedisCluster,
  testPrefix,
  waitFor,
} from '../../support/redis.ts';
import { startLoad } from './load.ts';

/**
 * A Cluster of this test's own (3 masters, 3 replicas, 1 s node timeout):
 * the master that owns the subject's slot is killed under load. Every check
 * must be answered (by the fallback store while the slot has no master), and
 * once the replica is promoted the checks run on it again.
 */

const available = hasRedisServerBinary();
if (!available && process.env.CI) throw new Error('redis-server is required in CI');

const policies = [
  definePolicy({ name: 'roomy', limit: 1_000_000, window: '1m' }),
  definePolicy({ name: 'day', limit: 1_000_000, window: '1d', algorithm: 'fixed-window' }),
  definePolicy({ name: 'burst', limit: 50, window: '10s', mode: 'observe' }),
];

/** The master serving `slot` and its replica, from CLUSTER NODES. */
async function ownersOf(
  cluster: RedisClusterProcesses,
  slot: number,
): Promise<{ master: RedisProcess; replica: RedisProcess }> {
  const lines = String(await nodeCommand(cluster.nodes[0]!, 'CLUSTER', 'NODES'))
    .trim()
    .split('\n')
    .map((line) => line.split(' '));
  const port = (address: string) => Number(address.split('@')[0]!.split(':')[1]);
  const masterLine = lines.find(
    (fields) =>
      fields[2]!.includes('master') &&
      fields.slice(8).some((range) => {
        const [from, to] = range.split('-').map(Number);
        return slot >= from! && slot <= (to ?? from)!;
      }),
  )!;
  const replicaLine = lines.find((fields) => fields[3] === masterLine[0])!;
  const byPort = (p: number) => cluster.processes.find((process) => process.port === p)!;
  return { master: byPort(port(masterLine[1]!)), replica: byPort(port(replicaLine[1]!)) };
}

describe.runIf(available)('Redis Cluster: a master fails under load', () => {
  let cluster: RedisClusterProcesses;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 1000 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('keeps answering every check and moves to the promoted replica', async () => {
    const prefix = testPrefix('failover');
    const subject = 'failover-subject';
    const events: FailureEvent[] = [];
    const store = withFailurePolicy(createRedisWindowStore({ nodes: [...cluster.nodes], prefix }), {
      policy: 'fallback',
      fallback: () => createMemoryWindowStore(),
      timeoutMs: 100,
      breaker: { failureThreshold: 3, cooldownMs: 500 },
      onEvent: (event) => events.push(event),
    });
    // The day-long fixed window's key outlives the test (gcra's at this rate lasts 1 ms).
    const key = windowKey(prefix, subjectTag(subject), policies[1]!.name);
    const slot = Number(await nodeCommand(cluster.nodes[0]!, 'CLUSTER', 'KEYSLOT', key));
    const { master, replica } = await ownersOf(cluster, slot);

    const load = startLoad(() => store.check(subject, policies, 1), 8, 5);
    try {
      const started = performance.now();
      await load.until((s) => s.decision?.degraded === false, 0);
      // Some healthy load first, so the replica has the subject's state to take over.
      await load.until((s) => s.decision?.degraded === false, started + 300);
      const killedAt = performance.now();
      await master.stop();
      await waitFor(
        'the replica to take over',
        async () =>
          String(await nodeCommand(replica, 'INFO', 'replication')).includes('role:master'),
        30_000,
      );
      const promotedAt = performance.now();
      await load.until((s) => s.decision?.degraded === false, promotedAt, 20_000);
      await load.stop();

      const answered = load.samples.filter((s) => s.start >= killedAt);
      expect(answered.filter((s) => s.error !== undefined)).toEqual([]);
      expect(answered.some((s) => s.decision!.degraded)).toBe(true);
      expect(events.some((e) => e.type === 'state' && e.to === 'open')).toBe(true);

      // The promoted replica now holds the subject's keys and runs its checks.
      const count = async () =>
        Number(String(await nodeCommand(replica, 'GET', key)).split(':')[1]);
      // Right after the promotion a call can still fail while the client
      // refreshes its slot map (the breaker then answers from the fallback):
      // wait for the store to be steadily back on Redis first.
      let steady = 0;
      await waitFor(
        '20 checks in a row answered by Redis',
        async () => {
          steady = (await store.check(subject, policies, 1)).degraded ? 0 : steady + 1;
          return steady >= 20;
        },
        15_000,
      );
      expect(await nodeCommand(replica, 'EXISTS', key)).toBe(1);
      const counted = await count();
      const before = (await commandCounts(replica)).get('evalsha') ?? 0;
      let onRedis = 0;
      for (let i = 0; i < 20; i++) {
        if (!(await store.check(subject, policies, 1)).degraded) onRedis++;
      }
      const after = (await commandCounts(replica)).get('evalsha') ?? 0;
      expect(onRedis).toBe(20);
      expect(after - before).toBeGreaterThanOrEqual(20);
      expect(await count()).toBe(counted + 20);
      console.info(
        `failover: ${answered.length} checks answered, ${answered.filter((s) => s.decision!.degraded).length} degraded; promoted after ${(promotedAt - killedAt).toFixed(0)} ms`,
      );
    } finally {
      await load.stop();
      await store.close();
    }
  });
});
