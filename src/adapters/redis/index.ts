/**
 * `lockwatch/redis`: Redis and Redis Cluster adapters on ioredis (an
 * optional peer dependency, loaded only through this entry point).
 */
export type { ConnectedClient, RedisConnectionOptions } from './client.ts';
export { toStoreError } from './errors.ts';
export { keyPrefixOption, maxEscapedSubjectLength, subjectTag, windowKey } from './keys.ts';
export type { RedisClient } from './script.ts';
export {
  createRedisWindowStore,
  type RedisWindowStore,
  type RedisWindowStoreOptions,
} from './window-store.ts';
