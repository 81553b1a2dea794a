import type { Decision, Policy } from '../domain/ratelimit/types.ts';
import type { CallOptions } from './call-options.ts';

/**
 * Keeps rate-limit state for subjects. One call evaluates every policy of one
 * subject atomically: all enforce-mode policies admit and are charged, or none
 * is charged. A denial is a {@link Decision} with `allowed: false`; a failure
 * (store down, timeout) is a rejected promise with a LockWatch error.
 */
export interface WindowStore {
  /**
   * True for a store in this process's memory, which cannot time out or go
   * down: composition does not wrap it in a failure policy.
   */
  readonly inProcess?: boolean | undefined;
  /**
   * False for a store whose calls an abort cannot stop once they started
   * (Redis cannot take back a sent command; a SQL statement runs to its
   * end): its signal can only make the caller stop waiting. A failure
   * policy then passes it no signal, and stops waiting itself on its timeout
   * or the caller's abort. Left out (or true): the store stops work on
   * abort, and a failure policy gives each call a signal that aborts then.
   */
  readonly stopsOnAbort?: boolean | undefined;
  /**
   * The failure domain of `subject` (a Redis Cluster node, say): a failure
   * policy keeps one circuit breaker per shard, so one dead node does not
   * degrade subjects served by healthy ones. Stores with one failure domain
   * leave it out.
   */
  shardOf?(subject: string): string;
  /**
   * False once `shard` serves no subject any more (a Cluster master replaced
   * by its replica after a failover): a failure policy then forgets its
   * breaker, which nothing would ask again. Stores without it keep every
   * breaker.
   */
  shardExists?(shard: string): boolean;
  /**
   * `check` without a promise, for stores that decide with no I/O (the
   * memory store): the HTTP pipeline then admits a request in the same tick,
   * with no microtask per step. Same decisions and errors as `check`, thrown
   * instead of rejected. Wrappers leave it out unless they stay synchronous.
   */
  readonly checkNow?:
    | ((subject: string, policies: readonly Policy[], cost: number) => Decision)
    | undefined;
  /** Evaluates `policies` for `subject` at the store's time and charges `cost` when all admit. */
  check(
    subject: string,
    policies: readonly Policy[],
    cost: number,
    options?: CallOptions,
  ): Promise<Decision>;
  /** Evaluates like {@link WindowStore.check} without charging anything. */
  peek(
    subject: string,
    policies: readonly Policy[],
    cost: number,
    options?: CallOptions,
  ): Promise<Decision>;
  /** Gives `cost` back to the enforce-mode policies of `subject` (never below empty). */
  refund(
    subject: string,
    policies: readonly Policy[],
    cost: number,
    options?: CallOptions,
  ): Promise<void>;
  /** Forgets all state of `subject` for `policies`. */
  reset(subject: string, policies: readonly Policy[], options?: CallOptions): Promise<void>;
  /** Releases what the store holds; a store it was handed (a client) is left open. */
  close(): Promise<void>;
}
