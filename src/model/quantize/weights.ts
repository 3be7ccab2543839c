// Weight quantization: symmetric int8 per output channel. One scale per channel keeps a channel with small
// weights from being rounded to zero by a large one elsewhere; a zero point of 0 keeps the integer kernels
// free of the zero-point correction terms for the weights.

export interface QuantizedWeights {
  /** Integer weights, same layout as the input. */
  values: Int8Array;
  /** One scale per channel: w ~ values * scale. */
  scales: Float32Array;
}

/**
 * Quantize a row-major [rows, cols] matrix per channel, where a channel is a column (`axis` 1: a MatMul
 * weight [K,N], one channel per output column) or a row (`axis` 0: a Conv weight [M, C*kh*kw]).
 * `levels` is the largest integer used: 127 for full int8, 63 for the 7-bit range that keeps AVX2's
 * 16-bit pairwise multiply-add (VPMADDUBSW) from saturating on uint8 x int8 products.
 */
export function quantizePerChannel(w: Float32Array, rows: number, cols: number, axis: 0 | 1, levels = 127): QuantizedWeights {
  if (w.length !== rows * cols) throw new Error(`quantizePerChannel: ${w.length} values for [${rows},${cols}]`);
  const channels = axis === 0 ? rows : cols;
  const maxAbs = new Float32Array(channels);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(w[r * cols + c]!);
      const ch = axis === 0 ? r : c;
      if (a > maxAbs[ch]!) maxAbs[ch] = a;
    }
  }
  // An all-zero channel gets scale 1: its integers are 0 either way, and a zero scale would be a division by zero downstream.
  const scales = Float32Array.from(maxAbs, (m) => (m > 0 ? m / levels : 1));
  const values = new Int8Array(w.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const s = scales[axis === 0 ? r : c]!;
      const q = Math.round(w[r * cols + c]! / s);
      values[r * cols + c] = q > levels ? levels : q < -levels ? -levels : q;
    }
  }
  return { values, scales };
}

/** The largest |w - q*s| over a matrix: what quantization did to it (for reports and tests). */
export function maxQuantizationError(w: Float32Array, q: QuantizedWeights, rows: number, cols: number, axis: 0 | 1): number {
  let worst = 0;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      worst = Math.max(worst, Math.abs(w[i]! - q.values[i]! * q.scales[axis === 0 ? r : c]!));
    }
  return worst;
}
