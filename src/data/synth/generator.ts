// The synthetic galaxy generator: SDSS-like galaxies whose redshift is learnable from colours and images.
// Pure and deterministic: galaxy i depends only on (seed, i), so [0, N) generated in chunks is byte-identical
// to generating it at once, and partitions can be generated independently (in parallel, on other machines).
import { N_BANDS } from '../manifest.js';
import { PIXELS_PER_SAMPLE, type Partition } from '../partition.js';
import { SYNTH_PARAMETERS, synthGalaxy, synthObjectId, type SynthGalaxy } from './catalog.js';
import { renderGalaxy } from './render.js';

export { SYNTH_PARAMETERS, synthGalaxy, synthObjectId, type SynthGalaxy };

export const SYNTH_GENERATOR = 'cai-synth';

export interface SynthOptions {
  samples: number;
  seed: number;
  /** Global index of the first galaxy (default 0). */
  startIndex?: number;
  /** Include spectroscopic redshifts (default true). */
  labelled?: boolean;
}

function checkOptions(opts: SynthOptions): { start: number; n: number } {
  const start = opts.startIndex ?? 0;
  const n = opts.samples;
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`samples must be a non-negative integer, got ${n}`);
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`startIndex must be a non-negative integer, got ${start}`);
  if (!Number.isSafeInteger(opts.seed) || opts.seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${opts.seed}`);
  if (start + n > 2 ** 40) throw new RangeError('index range too large (at most 2^40 galaxies per seed)');
  return { start, n };
}

/** Galaxies [startIndex, startIndex + samples) of `seed` as a partition. */
export function synthesize(opts: SynthOptions): Partition {
  const { start, n } = checkOptions(opts);
  const labelled = opts.labelled ?? true;
  const image = new Float32Array(n * PIXELS_PER_SAMPLE);
  const magnitude = new Float32Array(n * N_BANDS);
  const redshift = labelled ? new Float32Array(n) : undefined;
  const objectId = new BigInt64Array(n);
  for (let k = 0; k < n; k++) {
    const index = start + k;
    const g = synthGalaxy(opts.seed, index);
    for (let b = 0; b < N_BANDS; b++) magnitude[k * N_BANDS + b] = g.mag[b]!;
    if (redshift) redshift[k] = g.redshift;
    objectId[k] = synthObjectId(opts.seed, index);
    renderGalaxy(g, opts.seed, index, image, k * PIXELS_PER_SAMPLE);
  }
  return { count: n, image, magnitude, redshift, objectId };
}

/** The catalogue only (truth included: type, absolute magnitude, size...), without rendering images. */
export function synthCatalog(opts: Omit<SynthOptions, 'labelled'>): SynthGalaxy[] {
  const { start, n } = checkOptions({ ...opts });
  return Array.from({ length: n }, (_, k) => synthGalaxy(opts.seed, start + k));
}

/** Provenance for a manifest's `source` field. */
export function synthSource(seed: number, samples: number): Record<string, unknown> {
  return { generator: SYNTH_GENERATOR, seed, samples, parameters: SYNTH_PARAMETERS };
}
