import type { ClusterNode } from 'ioredis';
import {
  createRedisWindowStore,
  type RedisWindowStore,
} from '../../../src/adapters/redis/window-store.ts';
import type { Clock } from '../../../src/ports/clock.ts';
import { redisServices, testPrefix } from '../../support/redis.ts';

/** One Redis deployment the adapter tests run against. */
export interface RedisTarget {
  /** Label for test names. */
  readonly name: string;
  /** Connection options for the store. */
  readonly connection: { url: string } | { nodes: ClusterNode[] };
}

/** The single Redis and the test Cluster, whichever this run has. */
export function redisTargets(): { targets: RedisTarget[]; missing: string } {
  const services = redisServices();
  const targets: RedisTarget[] = [];
  if (services.url !== null)
    targets.push({ name: 'single Redis', connection: { url: services.url } });
  if (services.clusterNodes !== null) {
    targets.push({ name: 'Redis Cluster', connection: { nodes: [...services.clusterNodes] } });
  }
  return { targets, missing: services.missing };
}

/**
 * A store on `target` that reads `clock` (client time), under a fresh prefix.
 * Keys live an hour past their state's expiry: a manual clock does not move
 * with Redis's own expiry clock, and the lazy equivalence of expired states
 * keeps answers exact.
 */
export function clientTimeStore(target: RedisTarget, clock: Clock): RedisWindowStore {
  return createRedisWindowStore({
    ...target.connection,
    prefix: testPrefix(),
    time: 'client',
    clock,
    clockSkewMs: 3_600_000,
  });
}
