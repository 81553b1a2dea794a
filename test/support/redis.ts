import { inject } from 'vitest';
import type { RedisNode } from './redis-processes.ts';

export * from './redis-processes.ts';

/** What the global setup found or started for Redis tests. */
export interface RedisServices {
  /** URL of the standalone Redis (the machine's), or null when there is none. */
  readonly url: string | null;
  /** Seed nodes of the 6-node test Cluster, or null when it could not start. */
  readonly clusterNodes: readonly RedisNode[] | null;
  /** Why something is missing (empty when all is there). */
  readonly missing: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisServices: RedisServices;
  }
}

/** The Redis services of this test run (from test/setup/global-setup.ts). */
export function redisServices(): RedisServices {
  return (
    inject('redisServices') ?? { url: null, clusterNodes: null, missing: 'no global setup ran' }
  );
}
