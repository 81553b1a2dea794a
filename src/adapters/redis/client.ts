import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { InvalidOptionError } from '../../domain/config/errors.ts';
import type { RedisClient } from './script.ts';

/** Where a Redis adapter gets its connection: a client the caller owns, a URL, or Cluster nodes. */
export interface RedisConnectionOptions {
  /** An ioredis `Redis` or `Cluster` the caller created; it is never closed by LockWatch. */
  readonly client?: RedisClient | undefined;
  /** `redis://` or `rediss://` URL of a single Redis; `REDIS_URL` by default. */
  readonly url?: string | undefined;
  /** Seed nodes of a Redis Cluster (`host:port` strings or `{ host, port }`). */
  readonly nodes?: readonly ClusterNode[] | undefined;
  /** ioredis options for a client LockWatch creates (merged over its defaults). */
  readonly redisOptions?: RedisOptions | undefined;
  /** ioredis Cluster options for a cluster LockWatch creates (merged over its defaults). */
  readonly clusterOptions?: ClusterOptions | undefined;
}

/** A client and whether LockWatch created it (and so must close it). */
export interface ConnectedClient {
  /** The client. */
  readonly client: RedisClient;
  /** True when LockWatch created the client. */
  readonly owned: boolean;
}

// A dead server should fail calls quickly instead of queueing them for long
// (the failure policy, not the client, decides what happens next), and a
// server that is back should be found within 200 ms, well inside a breaker
// period, so the first probe after the outage succeeds.
const defaultRedisOptions: RedisOptions = {
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  commandTimeout: 2000,
  retryStrategy: (times) => Math.min(times * 50, 200),
};

const defaultClusterOptions: ClusterOptions = {
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  slotsRefreshTimeout: 1000,
  clusterRetryStrategy: (times) => Math.min(times * 100, 1000),
};

const urlPattern = /^rediss?:\/\//;

/** Returns the caller's client, or creates one from `url`, `nodes` or `REDIS_URL`. */
export function connect(options: RedisConnectionOptions): ConnectedClient {
  const given = [options.client, options.url, options.nodes].filter((v) => v !== undefined).length;
  if (given > 1) {
    throw new InvalidOptionError('client', 'several', 'only one of client, url and nodes');
  }
  if (options.client !== undefined) {
    const client = options.client as unknown;
    if (
      typeof client !== 'object' ||
      client === null ||
      typeof (client as Redis).evalsha !== 'function'
    ) {
      throw new InvalidOptionError('client', client, 'an ioredis Redis or Cluster instance');
    }
    return { client: options.client, owned: false };
  }
  let created: RedisClient;
  if (options.nodes !== undefined) {
    if (!Array.isArray(options.nodes) || options.nodes.length === 0) {
      throw new InvalidOptionError('nodes', options.nodes, 'a non-empty array of cluster nodes');
    }
    created = new Cluster([...options.nodes], {
      ...defaultClusterOptions,
      ...options.clusterOptions,
      redisOptions: {
        ...defaultRedisOptions,
        ...options.clusterOptions?.redisOptions,
        ...options.redisOptions,
      },
    });
  } else {
    const url = options.url ?? process.env.REDIS_URL;
    if (typeof url !== 'string' || !urlPattern.test(url)) {
      throw new InvalidOptionError(
        'url',
        url,
        'a redis:// or rediss:// URL (or set REDIS_URL), a client, or cluster nodes',
      );
    }
    created = new Redis(url, { ...defaultRedisOptions, ...options.redisOptions });
  }
  // Failures reach callers as rejected calls; without a listener ioredis would print each one.
  created.on('error', () => {});
  return { client: created, owned: true };
}

/** How long QUIT may take before a client LockWatch created is disconnected anyway. */
const quitWaitMs = 1000;

/**
 * Closes a client LockWatch created: QUIT (replies to commands already sent
 * still arrive), or a hard disconnect when the server is gone or not ready.
 */
export async function release(connected: ConnectedClient): Promise<void> {
  if (!connected.owned) return;
  const { client } = connected;
  if (client.status === 'end') return;
  // A client that is not ready (connecting, reconnecting, or stuck waiting for a server that
  // accepted the connection and never answered) has sent nothing a QUIT would wait for: the
  // QUIT would only sit in the offline queue for the full wait.
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  try {
    await Promise.race([
      client.quit(),
      new Promise((resolve) => setTimeout(resolve, quitWaitMs).unref()),
    ]);
  } catch {
    // The server is unreachable; disconnecting below is all that is left to do.
  }
  client.disconnect();
}
