// Deterministic randomness for the generator. Every galaxy draws from its own small generators seeded by a
// hash of (seed, global index, stream), so any index range can be generated alone and gives the same bytes
// as generating everything at once.
import { Sfc32Core } from '../../util/sfc32.js';

/** A 32-bit avalanche hash of three integers (murmur3-style finaliser). */
export function hash3(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b ^ 0x7f4a7c15, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h ^= Math.imul(c ^ 0x165667b1, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Split a non-negative safe integer into two 32-bit halves so seeds and indices beyond 2^32 still mix. */
export function hi32(x: number): number {
  return Math.floor(x / 4294967296) >>> 0;
}

/** sfc32 seeded by (seed, index, stream). */
export class Sfc32 extends Sfc32Core {
  constructor(seed: number, index: number, stream: number) {
    super();
    this.seedState(hash3(seed >>> 0, index >>> 0, stream), hash3(hi32(seed), hi32(index), stream ^ 0x5bd1e995), hash3(index >>> 0, seed >>> 0, stream ^ 0x1b873593), 1);
  }
  /** Uniform in (0, 1): never exactly 0, so logs are safe. */
  uniform(): number {
    return (this.next() + 0.5) / 4294967296;
  }
  private spare = NaN;
  /** Standard normal (Box-Muller, both outputs used). */
  normal(): number {
    if (this.spare === this.spare) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const th = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** 2^16 standard normal values at evenly spaced quantiles: pixel noise is a table lookup, not a transcendental. */
export const NOISE_TABLE_BITS = 16;
export const NOISE_TABLE: Float32Array = (() => {
  const n = 1 << NOISE_TABLE_BITS;
  const t = new Float32Array(n);
  for (let i = 0; i < n; i++) t[i] = normalQuantile((i + 0.5) / n);
  return t;
})();
