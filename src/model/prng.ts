// Deterministic pseudo-random numbers for weight initialization. Each tensor draws from its own stream,
// keyed by (seed, tensor name), so a tensor's values do not depend on which other tensors exist.
import { Sfc32Core } from '../util/sfc32.js';

/** FNV-1a over the UTF-8 of `text`, mixed with `seed`: a 32-bit stream key. */
export function streamKey(seed: number, text: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const b of new TextEncoder().encode(text)) {
    h ^= b;
    h = Math.imul(h, 0x01000193);
  }
  h ^= Math.floor(seed / 0x100000000) >>> 0;
  return h >>> 0;
}

/** sfc32 with its state seeded through splitmix32. */
export class Rng extends Sfc32Core {
  private spare: number | undefined;

  constructor(seed: number) {
    super();
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    const a = next();
    const b = next();
    const c = next();
    this.seedState(a, b, c, next());
  }

  u32(): number {
    return this.next();
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.u32() / 4294967296;
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}
