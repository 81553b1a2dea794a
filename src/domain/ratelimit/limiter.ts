import type { CallOptions } from '../../ports/call-options.ts';
import type { WindowStore } from '../../ports/window-store.ts';
import { InvalidOptionError } from '../config/errors.ts';
import type { KeyFunction } from './keys.ts';
import { validateCost } from './policy.ts';
import type { Decision, Policy } from './types.ts';

/** Per-call options of a rate limiter. */
export interface CheckOptions extends CallOptions {
  /** Units this request costs; the limiter's default cost (1) when omitted. */
  readonly cost?: number | undefined;
}

/** Checks subjects against a fixed list of policies on one store. */
export interface RateLimiter<R = unknown> {
  /** The validated policies, in evaluation order. */
  readonly policies: readonly Policy[];
  /** Checks and charges `subject`; all policies admit or none is charged. */
  check(subject: string, options?: CheckOptions): Promise<Decision>;
  /**
   * `check` without a promise; present only when the store decides with no
   * I/O (see {@link WindowStore.checkNow}). Throws what `check` rejects with.
   */
  readonly checkNow?: ((subject: string, options?: CheckOptions) => Decision) | undefined;
  /** Resolves the request's subject with the key function and checks it; undefined when skipped. */
  checkRequest(request: R, options?: CheckOptions): Promise<Decision | undefined>;
  /** Evaluates without charging. */
  peek(subject: string, options?: CheckOptions): Promise<Decision>;
  /** Gives units back to the enforce-mode policies (for example after a request that should not count). */
  refund(subject: string, options?: CheckOptions): Promise<void>;
  /** Forgets the subject's state under every policy. */
  reset(subject: string, options?: CallOptions): Promise<void>;
  /** Closes the store when the limiter created it. */
  close(): Promise<void>;
}

/** What {@link RateLimiterCore} needs: everything already validated and built. */
export interface RateLimiterParts<R> {
  readonly store: WindowStore;
  readonly policies: readonly Policy[];
  readonly key?: KeyFunction<R> | undefined;
  readonly cost: number;
  readonly ownsStore: boolean;
}

/** Builds a rate limiter over a store; `createRateLimiter` is the friendly front door. */
export function rateLimiterFromParts<R>(parts: RateLimiterParts<R>): RateLimiter<R> {
  const { store, policies, key, ownsStore } = parts;
  const costOf = (options: CheckOptions | undefined) =>
    options?.cost === undefined ? parts.cost : validateCost(options.cost);
  const limiter: RateLimiter<R> = {
    policies,
    // Not async: an async arrow returning the store's promise would add a promise and two
    // microtasks per check. A bad cost still rejects rather than throws.
    check: (subject, options) => {
      try {
        return store.check(subject, policies, costOf(options), options);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    checkNow:
      store.checkNow === undefined
        ? undefined
        : (subject, options) => store.checkNow!(subject, policies, costOf(options)),
    async checkRequest(request, options) {
      if (key === undefined) {
        throw new InvalidOptionError('key', key, 'a key function to use checkRequest()');
      }
      const subject = await key(request);
      return subject === undefined ? undefined : limiter.check(subject, options);
    },
    peek: async (subject, options) => store.peek(subject, policies, costOf(options), options),
    refund: async (subject, options) => store.refund(subject, policies, costOf(options), options),
    reset: (subject, options) => store.reset(subject, policies, options),
    close: async () => {
      if (ownsStore) await store.close();
    },
  };
  return limiter;
}
