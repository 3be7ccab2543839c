// The native partition format: a safetensors file (8-byte little-endian header length, JSON header,
// raw little-endian tensor data). Python reads it with `safetensors.numpy.load_file`. We pad the header so
// the data section starts 8-byte aligned, which lets the reader hand out typed-array views without copying.
import { DataError } from '../errors.js';
import { IMAGE_SIZE, N_BANDS } from './manifest.js';
import { ITEM_BYTES, encodeSafetensors, parseSafetensors, type HeaderEntry } from './safetensors.js';

export { MAX_HEADER_BYTES } from './safetensors.js';

/** One partition in memory. Arrays are row-major; `image` is [N,5,32,32] in band order u,g,r,i,z. */
export interface Partition {
  count: number;
  image: Float32Array;
  magnitude: Float32Array;
  /** Spectroscopic redshift; absent for unlabelled data. */
  redshift?: Float32Array;
  /** SDSS object ids (64-bit). */
  objectId: BigInt64Array;
}

export const PIXELS_PER_SAMPLE = N_BANDS * IMAGE_SIZE * IMAGE_SIZE;
export const PARTITION_FORMAT = 'cai-partition';

type TensorName = 'image' | 'magnitude' | 'redshift' | 'object_id';
const DTYPE: Record<TensorName, 'F32' | 'I64'> = { image: 'F32', magnitude: 'F32', redshift: 'F32', object_id: 'I64' };

function perSampleShape(name: TensorName): number[] {
  switch (name) {
    case 'image':
      return [N_BANDS, IMAGE_SIZE, IMAGE_SIZE];
    case 'magnitude':
      return [N_BANDS];
    default:
      return [];
  }
}

/** Serialize a partition to safetensors bytes. */
export function encodePartition(p: Partition, metadata: Record<string, string> = {}): Uint8Array {
  checkLengths(p, '(in memory)');
  const tensors: [TensorName, ArrayBufferView][] = [
    ['image', p.image],
    ['magnitude', p.magnitude],
  ];
  if (p.redshift) tensors.push(['redshift', p.redshift]);
  tensors.push(['object_id', p.objectId]);
  // Order data by descending alignment need so every tensor stays naturally aligned: int64 first.
  const ordered = [...tensors].sort((a, b) => ITEM_BYTES[DTYPE[b[0]]]! - ITEM_BYTES[DTYPE[a[0]]]!);
  return encodeSafetensors(
    ordered.map(([name, data]) => ({ name, dtype: DTYPE[name], shape: [p.count, ...perSampleShape(name)], data })),
    { format: PARTITION_FORMAT, version: '1', ...metadata },
  );
}

/**
 * Parse safetensors bytes into a partition. Every size in the header is checked against the file before
 * any view is made, so a hostile header cannot make us allocate or read out of bounds.
 * Views alias `bytes` when aligned (zero-copy); otherwise the tensor is copied once.
 */
export function decodePartition(bytes: Uint8Array, file: string): Partition {
  const st = parseSafetensors(bytes, (problem) => new DataError(file, problem));
  const entry = (name: TensorName, required: boolean): HeaderEntry | undefined => {
    const e = st.entry(name);
    if (e === undefined) {
      if (required) throw new DataError(file, `missing tensor "${name}"`);
      return undefined;
    }
    if (e.dtype !== DTYPE[name]) throw new DataError(file, `tensor "${name}" has dtype ${e.dtype}, expected ${DTYPE[name]}`);
    return e;
  };
  // A partition holds these tensors and nothing else: the manifest's tensor spec describes exactly them.
  for (const name of st.names) if (!Object.hasOwn(DTYPE, name)) throw new DataError(file, `unexpected tensor "${name.slice(0, 64)}" (a partition holds ${Object.keys(DTYPE).join(', ')})`);
  const img = entry('image', true)!;
  const count = img.shape[0];
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) throw new DataError(file, `tensor "image" has an invalid sample count ${String(count)}`);

  const view = <T extends Float32Array | BigInt64Array>(name: TensorName, e: HeaderEntry, Ctor: { new (b: ArrayBufferLike, o: number, l: number): T; new (l: number): T; BYTES_PER_ELEMENT: number }): T => {
    const want = [count, ...perSampleShape(name)];
    if (e.shape.length !== want.length || e.shape.some((d, i) => d !== want[i]))
      throw new DataError(file, `tensor "${name}" has shape [${e.shape.join(',')}], expected [${want.join(',')}]`);
    const n = want.reduce((a, b) => a * b, 1);
    const at = st.locate(name, e, n * Ctor.BYTES_PER_ELEMENT);
    const abs = bytes.byteOffset + at;
    if (abs % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(bytes.buffer, abs, n);
    const copy = new Ctor(n);
    new Uint8Array(copy.buffer).set(bytes.subarray(at, at + n * Ctor.BYTES_PER_ELEMENT));
    return copy;
  };

  const image = view('image', img, Float32Array);
  const magnitude = view('magnitude', entry('magnitude', true)!, Float32Array);
  const rz = entry('redshift', false);
  const redshift = rz ? view('redshift', rz, Float32Array) : undefined;
  const objectId = view('object_id', entry('object_id', true)!, BigInt64Array);
  return { count, image, magnitude, redshift, objectId };
}

function checkLengths(p: Partition, file: string): void {
  const n = p.count;
  if (p.image.length !== n * PIXELS_PER_SAMPLE) throw new DataError(file, `image holds ${p.image.length} values, expected ${n}x${PIXELS_PER_SAMPLE}`);
  if (p.magnitude.length !== n * N_BANDS) throw new DataError(file, `magnitude holds ${p.magnitude.length} values, expected ${n}x${N_BANDS}`);
  if (p.redshift && p.redshift.length !== n) throw new DataError(file, `redshift holds ${p.redshift.length} values, expected ${n}`);
  if (p.objectId.length !== n) throw new DataError(file, `object_id holds ${p.objectId.length} values, expected ${n}`);
}

/**
 * Physical bounds on the values of a partition. Values outside them are not measurements but corruption
 * (or sentinels such as SDSS's -9999 for "not measured"), and would otherwise reach the model and come
 * back as overflowing or meaningless predictions that look like the model's fault.
 */
export const VALUE_BOUNDS = {
  /**
   * |pixel| in nanomaggies (SDSS's flux unit). 10^6 nanomaggies in one pixel is magnitude 7.5, far brighter
   * than anything SDSS records unsaturated (its stars saturate near magnitude 14 in total).
   */
  maxAbsPixel: 1e6,
  /** Magnitudes: brighter than -30 is brighter than the Sun (-26.7); fainter than 50 is beyond any survey. */
  minMagnitude: -30,
  maxMagnitude: 50,
  /** Redshift: 1 + z must be positive (z <= -1 has no physical meaning and makes metrics infinite). */
  minRedshiftExclusive: -1,
  /** No object is known beyond z ~ 15; 20 leaves room and still catches garbage. */
  maxRedshift: 20,
} as const;

/** Index of the first value not in [lo, hi] (NaN included), or -1. Kept small and monomorphic: it is the hot loop. */
function firstOutside(a: Float32Array, lo: number, hi: number): number {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (!(v >= lo && v <= hi)) return i;
  }
  return -1;
}

/**
 * Throw a DataError naming the first value that is non-finite or outside VALUE_BOUNDS, with its sample
 * (numbered from `firstSample`).
 */
export function checkValues(p: Partition, file: string, firstSample = 0): void {
  const B = VALUE_BOUNDS;
  const refuse = (name: string, a: Float32Array, i: number, per: number, bound: string): never => {
    const v = a[i]!;
    const sample = firstSample + Math.floor(i / per);
    if (v - v !== 0) throw new DataError(file, `non-finite ${name} value ${v} in sample ${sample}`);
    throw new DataError(file, `${name} value ${v} in sample ${sample} is outside the physical bound ${bound}`);
  };
  let i = firstOutside(p.image, -B.maxAbsPixel, B.maxAbsPixel);
  if (i >= 0) refuse('image', p.image, i, PIXELS_PER_SAMPLE, `|pixel| <= ${B.maxAbsPixel} nanomaggies`);
  i = firstOutside(p.magnitude, B.minMagnitude, B.maxMagnitude);
  if (i >= 0) refuse('magnitude', p.magnitude, i, N_BANDS, `${B.minMagnitude} <= magnitude <= ${B.maxMagnitude}`);
  const z = p.redshift;
  if (z) {
    // One value per sample, and an open lower bound: a loop of its own.
    for (let k = 0; k < z.length; k++) {
      const v = z[k]!;
      if (!(v > B.minRedshiftExclusive && v <= B.maxRedshift)) refuse('redshift', z, k, 1, `${B.minRedshiftExclusive} < z <= ${B.maxRedshift}`);
    }
  }
}

/** Samples [start, end) of a partition as views (no copy). */
export function slicePartition(p: Partition, start: number, end: number): Partition {
  return {
    count: end - start,
    image: p.image.subarray(start * PIXELS_PER_SAMPLE, end * PIXELS_PER_SAMPLE),
    magnitude: p.magnitude.subarray(start * N_BANDS, end * N_BANDS),
    redshift: p.redshift?.subarray(start, end),
    objectId: p.objectId.subarray(start, end),
  };
}

/** Concatenate partitions (copies). All must agree on having redshifts. */
export function concatPartitions(parts: Partition[]): Partition {
  const count = parts.reduce((s, p) => s + p.count, 0);
  const labelled = parts.length > 0 && parts.every((p) => p.redshift);
  const out: Partition = {
    count,
    image: new Float32Array(count * PIXELS_PER_SAMPLE),
    magnitude: new Float32Array(count * N_BANDS),
    redshift: labelled ? new Float32Array(count) : undefined,
    objectId: new BigInt64Array(count),
  };
  let at = 0;
  for (const p of parts) {
    out.image.set(p.image, at * PIXELS_PER_SAMPLE);
    out.magnitude.set(p.magnitude, at * N_BANDS);
    if (out.redshift) out.redshift.set(p.redshift!, at);
    out.objectId.set(p.objectId, at);
    at += p.count;
  }
  return out;
}
