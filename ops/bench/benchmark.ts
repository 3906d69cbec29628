// The contract every benchmark in ops/bench/ fulfils. A benchmark measures its figure
// and its reference in the same run, so the comparison survives a busy machine.

export interface BenchRow {
  /** What was measured, e.g. "GET agent, requests/s". */
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The comparison measured in the same run, in words with its figure. */
  readonly reference: string;
  /** The target in words, e.g. ">= 60% of bare Koa". */
  readonly goal: string;
  /** null when the row is informational (a reference figure on its own). */
  readonly met: boolean | null;
}

import type { BenchSettings } from '../../shared/config.ts';

export type { BenchSettings };

export interface Benchmark {
  /** Short name used on the command line: `npm run bench -- NAME`. */
  readonly name: string;
  readonly description: string;
  run(settings: BenchSettings): Promise<BenchRow[]>;
}

/** Nearest-rank percentile over an unsorted sample; p in [0, 100]. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
