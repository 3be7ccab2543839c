// Summary statistics of latency samples.

/** The q-quantile (0..1) by the nearest-rank method: always one of the samples, never interpolated. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** The median; for an even count, the mean of the two middle samples. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * One latency per run: the slowest rank's time. A collective is done when its last rank is done, so the
 * run's latency is the maximum over ranks (as in the Intel MPI Benchmarks' t_max).
 */
export function perRunMax(perRank: readonly (readonly number[])[]): number[] {
  const runs = perRank[0]?.length ?? 0;
  const out = new Array<number>(runs).fill(0);
  for (const durations of perRank) for (let i = 0; i < runs; i++) out[i] = Math.max(out[i]!, durations[i]!);
  return out;
}
