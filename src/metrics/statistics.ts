// Order statistics shared by the accuracy metrics, calibration and the benchmarks. Pure: numbers in,
// numbers out, on float64 copies so the caller's arrays are never reordered.

/** Median of an already sorted array. */
export function sortedMedian(s: Float64Array): number {
  const n = s.length;
  const h = n >> 1;
  return n % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** Quantile q of a sorted array with linear interpolation between order statistics (numpy 'linear'). */
export function sortedQuantile(s: Float64Array, q: number): number {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function median(values: ArrayLike<number>): number {
  return sortedMedian(Float64Array.from(values).sort());
}
