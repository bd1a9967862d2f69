/** Summaries of repeated measurements: the median with the min–max range. */

/** Median, min and max of a list of runs (and the runs themselves). */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: readonly number[];
}

/** The median (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Summarises runs; an empty list gives NaNs. */
export function summarise(runs: readonly number[]): Summary {
  return {
    median: median(runs),
    min: runs.length === 0 ? Number.NaN : Math.min(...runs),
    max: runs.length === 0 ? Number.NaN : Math.max(...runs),
    runs: [...runs],
  };
}

/** Percentile (nearest rank) of an unsorted sample list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = Float64Array.from(values).sort();
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank];
}

/** Element-wise `f(a[i], b[i])` over two equally long run lists (paired runs of one repetition). */
export function paired(a: readonly number[], b: readonly number[], f: (x: number, y: number) => number): number[] {
  const n = Math.min(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(f(a[i], b[i]));
  return out;
}
