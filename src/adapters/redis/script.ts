import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** A Lua script and its SHA-1, as EVALSHA wants it. */
export interface LuaScript {
  /** The Lua source. */
  readonly lua: string;
  /** Lower-case hex SHA-1 of the source. */
  readonly sha: string;
}

/** A single Redis or a Redis Cluster: both run scripts the same way. */
export type RedisClient = Redis | Cluster;

/** Wraps Lua source with its SHA-1. */
export function defineScript(lua: string): LuaScript {
  return Object.freeze({ lua, sha: createHash('sha1').update(lua).digest('hex') });
}

/**
 * Runs `script` with EVALSHA and, when the server does not have it (after a
 * restart, a failover to a replica, or SCRIPT FLUSH), once more with EVAL,
 * which also caches it there. The client's own routing (Cluster slots,
 * MOVED/ASK) applies to both calls because the keys share one hash tag.
 */
export function runScript(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  return runScriptArgv(client, script, [keys.length, ...keys, ...args]);
}

/** {@link runScript} with its arguments already flat: key count, keys, then arguments (the hot path). */
export async function runScriptArgv(
  client: RedisClient,
  script: LuaScript,
  argv: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, ...(argv as [number, ...string[]]));
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return await client.eval(script.lua, ...(argv as [number, ...string[]]));
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
