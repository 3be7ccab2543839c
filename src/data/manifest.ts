// The data set manifest: a versioned JSON contract shared by every backend (local directory or S3 prefix,
// same key layout). Partition paths are relative to the manifest and must stay inside the data set.
import { z } from 'zod';
import { DataError } from '../errors.js';
import { isSafeRelativePath } from '../util/safe-path.js';
import { parseJsonAs } from '../util/checked-file.js';

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

/** Nesting depth allowed in free-form JSON (`source`): deeper values would overflow recursive printers. */
export const MAX_JSON_DEPTH = 32;

/** Object ids are signed 64-bit integers, written as decimal strings. */
const objectIdText = z
  .string()
  .regex(/^-?\d{1,19}$/)
  // zod runs refinements even after the regex failed: test the form again before converting.
  .refine((t) => !/^-?\d{1,19}$/.test(t) || (BigInt(t) >= -(2n ** 63n) && BigInt(t) < 2n ** 63n), { message: 'object id does not fit a signed 64-bit integer' });

/** Depth of nested arrays and objects in a JSON value, walked without recursion. */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const todo: [unknown, number][] = [[value, 0]];
  while (todo.length) {
    const [v, d] = todo.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d + 1 > deepest) deepest = d + 1;
    if (deepest > limit) return deepest;
    for (const child of Object.values(v)) todo.push([child, d + 1]);
  }
  return deepest;
}

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
  firstObjectId: objectIdText.optional(),
  lastObjectId: objectIdText.optional(),
});
export type PartitionEntry = z.infer<typeof partitionEntry>;

export const manifestSchema = z.object({
  schemaVersion: z.literal(MANIFEST_SCHEMA_VERSION),
  name: z.string().max(256).optional(),
  createdAt: z.string().max(64).optional(),
  bands: z
    .array(z.string().max(16))
    .length(N_BANDS)
    .refine((b) => b.every((x, i) => x === BANDS[i]), { message: `bands must be ${BANDS.join(',')} in that order (the order of the image planes)` }),
  labelled: z.boolean(),
  format: z.literal('safetensors'),
  tensors: z.record(tensorSpec),
  samples: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  partitions: z.array(partitionEntry).max(1_000_000),
  /** Free-form provenance: generator and seed, importer and source files. */
  source: z
    .record(z.unknown())
    .refine((v) => jsonDepth(v) <= MAX_JSON_DEPTH, { message: `nests deeper than ${MAX_JSON_DEPTH} levels` })
    .optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** The tensor specs of this project's partitions: exactly what a manifest must record for them. */
export function tensorSpecs(labelled: boolean): Manifest['tensors'] {
  const t: Manifest['tensors'] = {
    image: { dtype: 'float32', shape: [N_BANDS, IMAGE_SIZE, IMAGE_SIZE] },
    magnitude: { dtype: 'float32', shape: [N_BANDS] },
  };
  if (labelled) t.redshift = { dtype: 'float32', shape: [] };
  t.object_id = { dtype: 'int64', shape: [] };
  return t;
}

/** The first difference between a manifest's tensor specs and what its partitions hold, or undefined. */
export function tensorSpecProblem(tensors: Manifest['tensors'], labelled: boolean): string | undefined {
  const want = tensorSpecs(labelled);
  for (const [name, spec] of Object.entries(want)) {
    const got = Object.hasOwn(tensors, name) ? tensors[name] : undefined;
    if (!got) return `tensor spec lacks "${name}" (${labelled ? 'a labelled' : 'an unlabelled'} data set's partitions hold ${Object.keys(want).join(', ')})`;
    if (got.dtype !== spec.dtype || got.shape.length !== spec.shape.length || got.shape.some((d, i) => d !== spec.shape[i]))
      return `tensor spec of "${name}" is ${got.dtype} [${got.shape.join(',')}] but partitions hold ${spec.dtype} [${spec.shape.join(',')}] per sample`;
  }
  for (const name of Object.keys(tensors)) if (!Object.hasOwn(want, name)) return `tensor spec names "${name.slice(0, 64)}", which ${labelled ? 'a labelled' : 'an unlabelled'} data set's partitions do not hold`;
  return undefined;
}

/** Parse and validate manifest JSON text; errors name the file and the first problem. */
export function parseManifest(text: string, file: string): Manifest {
  const m = parseJsonAs(manifestSchema, text, file, 'manifest');
  const specProblem = tensorSpecProblem(m.tensors, m.labelled);
  if (specProblem) throw new DataError(file, specProblem);
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
