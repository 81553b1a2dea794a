import type { TestProject } from 'vitest/node';
import type { RedisServices } from '../support/redis.ts';
import {
  hasRedisServerBinary,
  nodeCommand,
  type RedisClusterProcesses,
  startRedisCluster,
} from '../support/redis-processes.ts';

/**
 * Test services for the Redis adapters: the machine's Redis (127.0.0.1:6379
 * or LOCKWATCH_TEST_REDIS_URL) and a 3-master, 3-replica Redis Cluster
 * started from `redis-server` on free ports, torn down after the run. With
 * CI set a missing service fails the run; elsewhere Redis tests are skipped
 * with the reason printed once here.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const missing: string[] = [];
  const url = process.env.LOCKWATCH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  let available: string | null = url;
  try {
    const parsed = new URL(url);
    const pong = await nodeCommand(
      { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || 6379) },
      'PING',
    );
    if (pong !== 'PONG') throw new Error(`PING answered ${String(pong)}`);
  } catch (error) {
    available = null;
    missing.push(`no Redis at ${url} (${(error as Error).message})`);
  }

  let cluster: RedisClusterProcesses | undefined;
  if (!hasRedisServerBinary()) {
    missing.push('no redis-server binary on PATH to start the test Cluster');
  } else {
    // A second try covers a port taken between choosing it and binding it.
    for (let attempt = 1; attempt <= 2 && cluster === undefined; attempt++) {
      try {
        cluster = await startRedisCluster({ masters: 3, replicas: 1 });
      } catch (error) {
        if (attempt === 2) {
          missing.push(`the test Redis Cluster did not start (${(error as Error).message})`);
        }
      }
    }
  }

  if (missing.length > 0) {
    const message = `Redis test services missing: ${missing.join('; ')}. Install redis-server (Debian: apt-get install redis-server) and start it on 127.0.0.1:6379, or set LOCKWATCH_TEST_REDIS_URL.`;
    if (process.env.CI) {
      await cluster?.stop();
      throw new Error(message);
    }
    console.warn(`${message} Redis tests are skipped in this run.`);
  }

  const services: RedisServices = {
    url: available,
    clusterNodes: cluster ? cluster.nodes : null,
    missing: missing.join('; '),
  };
  project.provide('redisServices', services);
  return async () => {
    await cluster?.stop();
  };
}
