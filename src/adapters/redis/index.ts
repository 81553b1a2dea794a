/**
 * `lockwatch/redis`: Redis and Redis Cluster adapters on ioredis (an
 * optional peer dependency, loaded only through this entry point).
 */
export type { RedisConnectionOptions } from './client.ts';
export { subjectTag, windowKey } from './keys.ts';
export type { RedisClient } from './script.ts';
export {
  createRedisTokenStore,
  type RedisTokenStore,
  type RedisTokenStoreOptions,
} from './token-store.ts';
export {
  createRedisWindowStore,
  type RedisWindowStore,
  type RedisWindowStoreOptions,
} from './window-store.ts';
