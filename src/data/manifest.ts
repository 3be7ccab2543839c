// The data set manifest: a versioned JSON contract shared by every backend (local directory or S3 prefix,
// same key layout). Partition paths are relative to the manifest and must stay inside the data set.
import { z } from 'zod';
import { DataError } from '../errors.js';
import { isSafeRelativePath } from '../util/safe-path.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_SCHEMA_VERSION = 1;
export const BANDS = ['u', 'g', 'r', 'i', 'z'] as const;
export const IMAGE_SIZE = 32;
export const N_BANDS = 5;
/** Bytes of model input per sample: image 5x32x32 + 5 magnitudes, float32. The CAI throughput unit. */
export const INPUT_BYTES_PER_SAMPLE = (N_BANDS * IMAGE_SIZE * IMAGE_SIZE + N_BANDS) * 4;

/** Bytes a sample needs in a partition at the least: its image, magnitudes and object id (labels add 4). */
export const MIN_PARTITION_BYTES_PER_SAMPLE = INPUT_BYTES_PER_SAMPLE + 8;
/** Largest partition file read whole into memory (the CAI paper's partitions are 25-100 MB). */
export const MAX_PARTITION_BYTES = 2 ** 31 - 1;

/** A path relative to the data set root that cannot escape it. */
export const safeRelativePath = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => isSafeRelativePath(p), { message: 'path must be relative and stay inside the data set (no absolute path, no "..", no backslash)' });

export { isSafeRelativePath };

const tensorSpec = z.object({
  dtype: z.enum(['float32', 'int64']),
  /** Shape per sample (the leading sample dimension is implied). */
  shape: z.array(z.number().int().nonnegative()).max(4),
});

export const partitionEntry = z.object({
  path: safeRelativePath,
  samples: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Object ids of the first and last sample (decimal strings: SDSS objids exceed 2^53). */
  firstObjectId: z.string().regex(/^-?\d+$/).optional(),
  lastObjectId: z.string().regex(/^-?\d+$/).optional(),
});
export type PartitionEntry = z.infer<typeof partitionEntry>;

export const manifestSchema = z.object({
  schemaVersion: z.literal(MANIFEST_SCHEMA_VERSION),
  name: z.string().max(256).optional(),
  createdAt: z.string().optional(),
  bands: z.array(z.string()).length(N_BANDS),
  labelled: z.boolean(),
  format: z.literal('safetensors'),
  tensors: z.record(tensorSpec),
  samples: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  partitions: z.array(partitionEntry).max(1_000_000),
  /** Free-form provenance: generator and seed, importer and source files. */
  source: z.record(z.unknown()).optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** Parse and validate manifest JSON text; errors name the file and the first problem. */
export function parseManifest(text: string, file: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DataError(file, `not valid JSON (${(e as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DataError(file, `invalid manifest at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const m = parsed.data;
  const total = m.partitions.reduce((s, p) => s + p.samples, 0);
  if (total !== m.samples) throw new DataError(file, `manifest says ${m.samples} samples but its partitions hold ${total}`);
  const bytes = m.partitions.reduce((s, p) => s + p.bytes, 0);
  if (bytes !== m.bytes) throw new DataError(file, `manifest says ${m.bytes} bytes but its partitions hold ${bytes}`);
  const seen = new Set<string>();
  for (const p of m.partitions) {
    if (seen.has(p.path)) throw new DataError(file, `partition ${p.path} is listed twice`);
    seen.add(p.path);
    // Sample counts drive allocations before any partition is read; they must fit the bytes listed.
    if (p.bytes > MAX_PARTITION_BYTES) throw new DataError(file, `partition ${p.path} is listed as ${p.bytes} bytes, more than the ${MAX_PARTITION_BYTES}-byte limit`);
    if (p.samples * MIN_PARTITION_BYTES_PER_SAMPLE > p.bytes) throw new DataError(file, `partition ${p.path} is listed with ${p.samples} samples, more than its ${p.bytes} bytes can hold`);
  }
  return m;
}
