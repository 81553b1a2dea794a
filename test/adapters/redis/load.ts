import { setTimeout as sleep } from 'node:timers/promises';
import type { Decision } from '../../../src/domain/ratelimit/types.ts';

/** One call made by a load loop. */
export interface Sample {
  /** performance.now() when the call started. */
  readonly start: number;
  /** performance.now() when it settled. */
  readonly end: number;
  /** The decision, when the call resolved. */
  readonly decision?: Decision;
  /** What it rejected with, when it did. */
  readonly error?: unknown;
}

/** A running load: its samples so far, and a way to stop it. */
export interface Load {
  readonly samples: Sample[];
  /** Resolves once a sample that started after `after` satisfies `test` (or rejects after `timeoutMs`). */
  until(test: (sample: Sample) => boolean, after: number, timeoutMs?: number): Promise<Sample>;
  stop(): Promise<void>;
}

/**
 * Runs `call` in `concurrency` loops, each pausing `pauseMs` between calls so
 * the load stays bounded, and records every call.
 */
export function startLoad(call: () => Promise<Decision>, concurrency = 8, pauseMs = 2): Load {
  const samples: Sample[] = [];
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const start = performance.now();
      try {
        const decision = await call();
        samples.push({ start, end: performance.now(), decision });
      } catch (error) {
        samples.push({ start, end: performance.now(), error });
      }
      await sleep(pauseMs);
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    samples,
    async until(test, after, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      let seen = 0;
      while (performance.now() < deadline) {
        for (; seen < samples.length; seen++) {
          const sample = samples[seen]!;
          if (sample.start >= after && test(sample)) return sample;
        }
        await sleep(5);
      }
      throw new Error(`load condition not met within ${timeoutMs} ms`);
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** The p-th percentile (0..100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
