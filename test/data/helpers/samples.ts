// Plausible in-memory samples for data tests: deterministic images, magnitudes 15..17, small redshifts.
import type { Partition } from '../../../src/data/partition.js';

/** `n` samples with ids from `firstId`. */
export function samples(n: number, firstId: bigint, labelled = true): Partition {
  const image = new Float32Array(n * 5120);
  for (let i = 0; i < image.length; i++) image[i] = ((i * 7919) % 1000) / 100;
  const magnitude = new Float32Array(n * 5).map((_, i) => 15 + (i % 5) / 2);
  const redshift = labelled ? new Float32Array(n).map((_, i) => 0.01 + i / 1000) : undefined;
  const objectId = BigInt64Array.from({ length: n }, (_, i) => firstId + BigInt(i));
  return { count: n, image, magnitude, redshift, objectId };
}
