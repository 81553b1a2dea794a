/**
 * Side-by-side throughput measurement for a shared, noisy machine: candidates
 * run in interleaved rounds in one process and the report gives each one's
 * median ops/s and its ratio to a named baseline, never an absolute verdict.
 */

/** One thing to measure: `run(i)` performs operation number i. */
export interface Candidate {
  readonly name: string;
  readonly run: (i: number) => Promise<unknown> | unknown;
  /** Operations kept in flight at once (1 = sequential awaits). */
  readonly concurrency?: number;
}

/** Median ops/s per candidate, and each one's ratio to the baseline. */
export interface Comparison {
  readonly title: string;
  readonly baseline: string;
  readonly rows: readonly { name: string; opsPerSec: number; ratio: number }[];
}

async function timed(candidate: Candidate, durationMs: number, offset: number): Promise<number> {
  const concurrency = candidate.concurrency ?? 1;
  let done = 0;
  const deadline = performance.now() + durationMs;
  const start = performance.now();
  const worker = async (lane: number) => {
    let i = offset + lane;
    while (performance.now() < deadline) {
      for (let k = 0; k < 64; k++) {
        await candidate.run(i);
        i += concurrency;
        done++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, lane) => worker(lane)));
  return (done / (performance.now() - start)) * 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs every candidate `rounds` times, interleaved, `roundMs` each, after one warm-up round. */
export async function compare(
  title: string,
  candidates: readonly Candidate[],
  options: { baseline: string; rounds?: number; roundMs?: number },
): Promise<Comparison> {
  const rounds = options.rounds ?? 7;
  const roundMs = options.roundMs ?? 400;
  const samples = new Map<string, number[]>(candidates.map((c) => [c.name, []]));
  let offset = 0;
  const nextOffset = () => {
    offset += 1_000_000;
    return offset;
  };
  for (const candidate of candidates) await timed(candidate, roundMs / 2, nextOffset());
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? candidates : [...candidates].reverse();
    for (const candidate of order) {
      samples.get(candidate.name)!.push(await timed(candidate, roundMs, nextOffset()));
    }
  }
  const base = median(samples.get(options.baseline)!);
  return {
    title,
    baseline: options.baseline,
    rows: candidates.map((c) => {
      const opsPerSec = median(samples.get(c.name)!);
      return { name: c.name, opsPerSec, ratio: opsPerSec / base };
    }),
  };
}

/** Formats a comparison as a Markdown table. */
export function toMarkdown(comparison: Comparison): string {
  const lines = [
    `### ${comparison.title}`,
    '',
    `| candidate | ops/s (median) | ratio to ${comparison.baseline} |`,
    '| --- | ---: | ---: |',
    ...comparison.rows.map(
      (row) =>
        `| ${row.name} | ${Math.round(row.opsPerSec).toLocaleString('en-US')} | ${row.ratio.toFixed(2)} |`,
    ),
  ];
  return lines.join('\n');
}
