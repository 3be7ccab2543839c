// Which foreign array becomes which native tensor. Arrays are found by common names (or by position in a
// TensorDataset, or by an explicit --keys mapping), then checked: shapes, dtypes and sample counts must
// fit the native partition (image [N,5,32,32], magnitude [N,5], optional redshift [N], object id [N]).
import { DataError, UsageError } from '../../errors.js';
import { IMAGE_SIZE, N_BANDS } from '../manifest.js';
import { checkValues, type Partition } from '../partition.js';
import { formatShape, isFloat, isInteger, toBigInt64, toFloat32, type ArrayInfo } from './ndarray.js';
import type { ArraySource } from './source.js';

export const ROLES = ['image', 'magnitude', 'redshift', 'object_id'] as const;
export type Role = (typeof ROLES)[number];

/** Array names recognised for each role (compared case-insensitively with the name's last path part). */
export const COMMON_NAMES: Record<Role, readonly string[]> = {
  image: ['images', 'image', 'x', 'cube', 'cubes', 'imgs'],
  magnitude: ['magnitudes', 'magnitude', 'mags', 'mag', 'dered_petro_mag'],
  redshift: ['redshifts', 'redshift', 'z', 'y', 'specz', 'spec_z', 'zspec'],
  object_id: ['object_id', 'object_ids', 'objid', 'objids', 'ids', 'id'],
};

/** Written in --keys to say "this file has no such array" (import unlabelled, or use sequential ids). */
export const NONE_KEY = 'none';

export type KeyMap = Partial<Record<Role, string | null>>;

export interface ImportOptions {
  /** Explicit array names per role; null means "absent" (redshift, object_id only). */
  keys?: KeyMap;
  /** Require channel-last images [N,32,32,5] (they are detected from the shape anyway). */
  channelsLast?: boolean;
  /** First id for files without an object id array (sample i gets idBase + i). Default 0. */
  idBase?: bigint;
}

export interface RoleMapping {
  array: string;
  dtype: string;
  shape: number[];
}

export interface ArrayMapping {
  samples: number;
  image: RoleMapping & { layout: 'channels-first' | 'channels-last' };
  magnitude: RoleMapping;
  redshift?: RoleMapping;
  /** An array of ids, or sequential ids from a base. */
  objectId: RoleMapping | { sequentialFrom: string };
  /** Arrays the import does not use. */
  unused: string[];
}

/** Parse `image=NAME,magnitude=NAME,redshift=NAME,object_id=NAME` (redshift/object_id may be `none`). */
export function parseKeys(text: string): KeyMap {
  const out: KeyMap = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const role = (eq < 0 ? part : part.slice(0, eq)).trim().replace('-', '_');
    const name = eq < 0 ? '' : part.slice(eq + 1).trim();
    const canonical = role === 'objid' || role === 'id' ? 'object_id' : role;
    if (!(ROLES as readonly string[]).includes(canonical)) throw new UsageError(`--keys: unknown role "${role}" (use ${ROLES.join(', ')})`);
    if (name === '') throw new UsageError(`--keys: ${role} needs an array name (${role}=NAME)`);
    const r = canonical as Role;
    if (r in out) throw new UsageError(`--keys: ${role} is given twice`);
    if (name.toLowerCase() === NONE_KEY && (r === 'image' || r === 'magnitude')) throw new UsageError(`--keys: ${role} cannot be "${NONE_KEY}"; every sample needs one`);
    out[r] = name.toLowerCase() === NONE_KEY ? null : name;
  }
  return out;
}

function lastPart(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1).toLowerCase();
}

function listArrays(arrays: readonly ArrayInfo[]): string {
  return arrays.map((a) => `${a.name} ${formatShape(a.shape)} ${a.dtype}`).join(', ') || 'none';
}

const IMAGE_CF = [N_BANDS, IMAGE_SIZE, IMAGE_SIZE];
const IMAGE_CL = [IMAGE_SIZE, IMAGE_SIZE, N_BANDS];

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function isImageShape(a: ArrayInfo): boolean {
  return a.shape.length === 4 && (sameShape(a.shape.slice(1), IMAGE_CF) || sameShape(a.shape.slice(1), IMAGE_CL));
}

function isColumn(a: ArrayInfo): boolean {
  return a.shape.length === 1 || (a.shape.length === 2 && a.shape[1] === 1);
}

/**
 * Decide which arrays to import and check that they fit (pure: array descriptions in, mapping out).
 * Errors name the file, the array and what was expected.
 */
export function resolveMapping(source: Pick<ArraySource, 'file' | 'arrays' | 'positional'>, opts: ImportOptions = {}): ArrayMapping {
  const { file, arrays } = source;
  const keys = opts.keys ?? {};
  const byName = new Map(arrays.map((a) => [a.name, a]));
  const chosen = new Map<Role, ArrayInfo | null>();

  for (const role of ROLES) {
    const k = keys[role];
    if (k === undefined) continue;
    if (k === null) {
      chosen.set(role, null);
      continue;
    }
    const a = byName.get(k) ?? byName.get(k.replace(/^\/+/, ''));
    if (!a) throw new DataError(file, `has no array "${k}" for ${role} (arrays: ${listArrays(arrays)})`);
    chosen.set(role, a);
  }
  const taken = (): Set<string> => new Set([...chosen.values()].filter((a): a is ArrayInfo => a !== null).map((a) => a.name));

  if (source.positional) {
    // TensorDataset order, as the CAI pipeline writes it: images, magnitudes, redshifts[, object ids].
    const free = arrays.filter((a) => !taken().has(a.name));
    for (const role of ['image', 'magnitude'] as const) if (!chosen.has(role) && free.length) chosen.set(role, free.shift()!);
    for (const a of free.slice(0, 2)) {
      const role: Role = isInteger(a.dtype) ? 'object_id' : 'redshift';
      if (!chosen.has(role)) chosen.set(role, a);
    }
  } else {
    for (const role of ROLES) {
      if (chosen.has(role)) continue;
      const used = taken();
      const hits = arrays.filter((a) => !used.has(a.name) && COMMON_NAMES[role].includes(lastPart(a.name)));
      if (hits.length > 1) throw new DataError(file, `several arrays could be the ${role}: ${hits.map((a) => a.name).join(', ')}; choose one with --keys ${role}=NAME`);
      if (hits.length === 1) chosen.set(role, hits[0]!);
    }
    // Image and magnitude are recognisable by shape alone when exactly one array fits.
    const byShape = (role: 'image' | 'magnitude', fits: (a: ArrayInfo) => boolean): void => {
      if (chosen.has(role)) return;
      const used = taken();
      const hits = arrays.filter((a) => !used.has(a.name) && fits(a));
      if (hits.length === 1) chosen.set(role, hits[0]!);
    };
    byShape('image', isImageShape);
    byShape('magnitude', (a) => a.shape.length === 2 && a.shape[1] === N_BANDS && isFloat(a.dtype));
  }

  const image = chosen.get('image');
  if (!image) throw new DataError(file, `no image array found (arrays: ${listArrays(arrays)}); name it with --keys image=NAME`);
  const magnitude = chosen.get('magnitude');
  if (!magnitude) throw new DataError(file, `no magnitude array found (arrays: ${listArrays(arrays)}); name it with --keys magnitude=NAME`);
  const redshift = chosen.get('redshift') ?? undefined;
  const objectId = chosen.get('object_id') ?? undefined;

  const numeric = (role: Role, a: ArrayInfo): void => {
    if (a.dtype === 'bool') throw new DataError(file, `${role} array "${a.name}" is boolean; numeric values are needed`);
  };
  numeric('image', image);
  numeric('magnitude', magnitude);

  let layout: 'channels-first' | 'channels-last';
  const per = image.shape.slice(1);
  if (image.shape.length === 4 && sameShape(per, IMAGE_CL)) layout = 'channels-last';
  else if (image.shape.length === 4 && sameShape(per, IMAGE_CF) && !opts.channelsLast) layout = 'channels-first';
  else if (opts.channelsLast)
    throw new DataError(file, `image array "${image.name}" has shape ${formatShape(image.shape)}; channel-last images must be [N,${IMAGE_CL.join(',')}]`);
  else
    throw new DataError(
      file,
      `image array "${image.name}" has shape ${formatShape(image.shape)}; expected [N,${IMAGE_CF.join(',')}] (bands u,g,r,i,z first) or [N,${IMAGE_CL.join(',')}] (bands last)`,
    );
  const n = image.shape[0]!;

  if (magnitude.shape.length !== 2 || magnitude.shape[1] !== N_BANDS) throw new DataError(file, `magnitude array "${magnitude.name}" has shape ${formatShape(magnitude.shape)}; expected [N,${N_BANDS}]`);
  if (redshift) {
    numeric('redshift', redshift);
    if (!isColumn(redshift)) throw new DataError(file, `redshift array "${redshift.name}" has shape ${formatShape(redshift.shape)}; expected [N] or [N,1]`);
  }
  if (objectId) {
    if (!isInteger(objectId.dtype)) throw new DataError(file, `object id array "${objectId.name}" has dtype ${objectId.dtype}; object ids must be integers (int64)`);
    if (!isColumn(objectId)) throw new DataError(file, `object id array "${objectId.name}" has shape ${formatShape(objectId.shape)}; expected [N] or [N,1]`);
  }
  const counted: [Role, ArrayInfo][] = [['magnitude', magnitude]];
  if (redshift) counted.push(['redshift', redshift]);
  if (objectId) counted.push(['object_id', objectId]);
  for (const [role, a] of counted)
    if (a.shape[0] !== n) throw new DataError(file, `sample counts disagree: image "${image.name}" has ${n}, ${role} "${a.name}" has ${a.shape[0]}`);

  const describe = (a: ArrayInfo): RoleMapping => ({ array: a.name, dtype: a.dtype, shape: a.shape });
  const used = taken();
  return {
    samples: n,
    image: { ...describe(image), layout },
    magnitude: describe(magnitude),
    ...(redshift ? { redshift: describe(redshift) } : {}),
    objectId: objectId ? describe(objectId) : { sequentialFrom: String(opts.idBase ?? 0n) },
    unused: arrays.filter((a) => !used.has(a.name)).map((a) => a.name),
  };
}

/** [n,32,32,5] -> [n,5,32,32]. */
export function channelsLastToFirst(src: Float32Array, n: number): Float32Array {
  const hw = IMAGE_SIZE * IMAGE_SIZE;
  const per = N_BANDS * hw;
  const out = new Float32Array(n * per);
  for (let s = 0; s < n; s++) {
    const base = s * per;
    for (let p = 0; p < hw; p++) {
      const from = base + p * N_BANDS;
      for (let c = 0; c < N_BANDS; c++) out[base + c * hw + p] = src[from + c]!;
    }
  }
  return out;
}

/** Samples [start, end) of a mapped source as a native partition (float32 values, int64 ids, finite and within VALUE_BOUNDS). */
export async function readMapped(source: ArraySource, mapping: ArrayMapping, start: number, end: number, idBase: bigint = 0n): Promise<Partition> {
  const { file } = source;
  const count = end - start;
  const img = await source.read(mapping.image.array, start, end);
  let image = toFloat32(img, file, `image array "${mapping.image.array}"`);
  if (mapping.image.layout === 'channels-last') image = channelsLastToFirst(image, count);
  const magnitude = toFloat32(await source.read(mapping.magnitude.array, start, end), file, `magnitude array "${mapping.magnitude.array}"`);
  const redshift = mapping.redshift ? toFloat32(await source.read(mapping.redshift.array, start, end), file, `redshift array "${mapping.redshift.array}"`) : undefined;
  let objectId: BigInt64Array;
  if ('array' in mapping.objectId) {
    objectId = toBigInt64(await source.read(mapping.objectId.array, start, end), file, `object id array "${mapping.objectId.array}"`);
  } else {
    objectId = new BigInt64Array(count);
    const first = idBase + BigInt(start);
    if (first + BigInt(mapping.samples - start) - 1n > 0x7fffffffffffffffn) throw new DataError(file, `sequential object ids from ${idBase} would pass the int64 maximum; choose a smaller --id-base`);
    for (let i = 0; i < count; i++) objectId[i] = first + BigInt(i);
  }
  // Sample numbers in messages count from the start of the file, not of this chunk.
  const partition: Partition = { count, image, magnitude, redshift, objectId };
  checkValues(partition, file, start);
  return partition;
}
