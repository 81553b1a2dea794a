/** Limiters on a manual clock, and parsers of the rate-limit fields, for the HTTP suite. */
import { createManualClock, type ManualClock } from '../../../src/adapters/clock/manual.ts';
import {
  createMemoryWindowStore,
  type MemoryWindowStore,
} from '../../../src/adapters/memory/window-store.ts';
import type { RateLimiter } from '../../../src/domain/ratelimit/limiter.ts';
import type { PolicyOptions } from '../../../src/domain/ratelimit/policy.ts';
import type { Decision } from '../../../src/domain/ratelimit/types.ts';
import { createRateLimiter } from '../../../src/rate-limiter.ts';
import type { Reply } from './harness.ts';

/** A limiter on a memory store, both on `clock`. */
export interface Limited {
  readonly clock: ManualClock;
  readonly store: MemoryWindowStore;
  readonly limiter: RateLimiter;
}

/** The seed's policy scaled down: 3 requests per 60 s (gcra), named `api`. */
export const api: PolicyOptions = { name: 'api', limit: 3, window: '60s' };

/** A limiter with `policies` on a fresh manual clock (or `clock`). */
export function limited(
  policies: readonly PolicyOptions[] = [api],
  options: { clock?: ManualClock; maxKeys?: number } = {},
): Limited {
  const clock = options.clock ?? createManualClock();
  const store = createMemoryWindowStore({ clock, maxKeys: options.maxKeys });
  return { clock, store, limiter: createRateLimiter({ store, policies, clock }) };
}

/** One item of a structured-field list: its string value and integer parameters. */
export interface FieldItem {
  readonly name: string;
  readonly params: Readonly<Record<string, number>>;
}

/**
 * Parses `"a";q=1;w=2, "b";r=0;t=3` strictly: every item a quoted name and
 * integer parameters; throws on anything else, so a malformed field fails.
 */
export function parseList(field: string | undefined): FieldItem[] {
  if (field === undefined) throw new Error('field missing');
  return field.split(', ').map((item) => {
    const match = /^"([A-Za-z0-9._-]+)"((?:;[a-z]+=\d+)*)$/.exec(item);
    if (match === null) throw new Error(`malformed list item: ${item}`);
    const params: Record<string, number> = {};
    for (const param of match[2]!.split(';').slice(1)) {
      const [key, value] = param.split('=');
      params[key!] = Number(value);
    }
    return { name: match[1]!, params };
  });
}

/** The rate-limit fields a decision must produce, at `now` epoch ms. */
export function expectedFields(decision: Decision, now: number): Record<string, string> {
  return {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(Math.ceil((now + decision.resetMs) / 1000)),
    ratelimit: decision.results
      .map((r) => `"${r.policy}";r=${r.remaining};t=${Math.ceil(r.resetMs / 1000)}`)
      .join(', '),
  };
}

/** The headers of `reply` that LockWatch writes, for comparing adapters. */
export function lockwatchHeaders(reply: Reply): Record<string, string> {
  const names = [
    'content-type',
    'retry-after',
    'x-ratelimit-limit',
    'x-ratelimit-remaining',
    'x-ratelimit-reset',
    'ratelimit-policy',
    'ratelimit',
    'www-authenticate',
  ];
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = reply.headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Header names of both rate-limit formats. */
export const rateLimitHeaderNames = [
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'ratelimit-policy',
  'ratelimit',
] as const;
