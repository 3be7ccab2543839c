// N-dimensional arrays as the importers see them: a dtype, a shape and host-order, row-major (C order)
// values. Every foreign format decodes to this; the mapping to the native partition converts from it.
import { constants as bufferConstants } from 'node:buffer';
import { DataError } from '../../errors.js';
import { halfToFloat } from '../../util/float16.js';

export type DType = 'float16' | 'bfloat16' | 'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';

export const ITEM_SIZE: Record<DType, number> = {
  float16: 2,
  bfloat16: 2,
  float32: 4,
  float64: 8,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  bool: 1,
};

export type HostArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** An array with its values in host byte order, row-major. float16/bfloat16 keep their raw bits in a Uint16Array. */
export interface NdArray {
  dtype: DType;
  shape: number[];
  data: HostArray;
}

/** What an importer reports about an array before reading it. */
export interface ArrayInfo {
  name: string;
  dtype: DType;
  shape: number[];
}

export const MAX_DIMS = 8;
/** The largest single array we allocate: Node's Buffer limit, and never more than 4 GiB. */
export const MAX_ARRAY_BYTES = Math.min(bufferConstants.MAX_LENGTH, 2 ** 32);

export function isFloat(d: DType): boolean {
  return d === 'float16' || d === 'bfloat16' || d === 'float32' || d === 'float64';
}

export function isInteger(d: DType): boolean {
  return d !== 'bool' && !isFloat(d);
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Arrays read in row ranges (HDF5, uncompressed .npy) may be larger than one allocation, up to this. */
export const MAX_STREAMED_BYTES = 2 ** 50;

/**
 * Validate a shape read from a file: few dims, non-negative safe integers, and a byte size within
 * `maxBytes` (default: what one allocation may hold). Call before allocating anything derived from it.
 */
export function checkShape(shape: readonly unknown[], dtype: DType, file: string, what: string, maxBytes: number = MAX_ARRAY_BYTES): number[] {
  if (shape.length > MAX_DIMS) throw new DataError(file, `${what} has ${shape.length} dimensions (at most ${MAX_DIMS} are supported)`);
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw new DataError(file, `${what} has an invalid dimension ${String(d)} in shape [${shape.join(',')}]`);
    n *= d;
  }
  if (n * ITEM_SIZE[dtype] > maxBytes) throw new DataError(file, `${what} shape [${shape.join(',')}] (${dtype}) exceeds the ${maxBytes}-byte limit`);
  // One sample (row) is always read whole.
  const row = shape.length > 1 ? (shape.slice(1) as number[]).reduce((a, b) => a * b, 1) : 1;
  if (row * ITEM_SIZE[dtype] > MAX_ARRAY_BYTES) throw new DataError(file, `${what} rows of shape [${shape.slice(1).join(',')}] (${dtype}) exceed the ${MAX_ARRAY_BYTES}-byte limit`);
  return shape as number[];
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** A typed array of `dtype` over `length` elements. */
export function allocate(dtype: DType, length: number): HostArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'uint32':
      return new Uint32Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'uint64':
      return new BigUint64Array(length);
  }
}

const HOST_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Typed values from raw bytes stored in the given byte order. Copies when the bytes are misaligned or
 * need swapping; otherwise returns a view of `bytes`.
 */
export function fromBytes(bytes: Uint8Array, dtype: DType, littleEndian: boolean): HostArray {
  const size = ITEM_SIZE[dtype];
  if (bytes.byteLength % size !== 0) throw new Error(`fromBytes: ${bytes.byteLength} bytes is not a multiple of ${size}`);
  const length = bytes.byteLength / size;
  const swap = size > 1 && littleEndian !== HOST_LITTLE;
  if (!swap && bytes.byteOffset % size === 0) return viewOf(bytes.buffer, bytes.byteOffset, length, dtype);
  const copy = new Uint8Array(bytes);
  if (swap) {
    if (size === 2) Buffer.from(copy.buffer).swap16();
    else if (size === 4) Buffer.from(copy.buffer).swap32();
    else Buffer.from(copy.buffer).swap64();
  }
  return viewOf(copy.buffer, 0, length, dtype);
}

function viewOf(buf: ArrayBufferLike, offset: number, length: number, dtype: DType): HostArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, offset, length);
    case 'float64':
      return new Float64Array(buf, offset, length);
    case 'int8':
      return new Int8Array(buf, offset, length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf, offset, length);
    case 'int16':
      return new Int16Array(buf, offset, length);
    case 'uint16':
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buf, offset, length);
    case 'int32':
      return new Int32Array(buf, offset, length);
    case 'uint32':
      return new Uint32Array(buf, offset, length);
    case 'int64':
      return new BigInt64Array(buf, offset, length);
    case 'uint64':
      return new BigUint64Array(buf, offset, length);
  }
}

/**
 * Materialize a strided view (torch/numpy as_strided semantics, strides in elements) as a new
 * contiguous row-major array. The caller has checked that every index stays inside `source`.
 */
export function gatherStrided<T extends HostArray>(source: T, offset: number, shape: readonly number[], strides: readonly number[]): T {
  const n = numel(shape);
  const out = new (source.constructor as new (n: number) => T)(n);
  if (n === 0) return out;
  const dims = shape.length;
  if (dims === 0) {
    (out as unknown as unknown[])[0] = (source as unknown as unknown[])[offset];
    return out;
  }
  // Copy runs along the last axis; when it is contiguous, copy whole rows with set().
  const last = dims - 1;
  const rowLen = shape[last]!;
  const rowStride = strides[last]!;
  const index = new Array<number>(last).fill(0);
  let base = offset;
  const rows = n / rowLen;
  for (let r = 0, at = 0; r < rows; r++, at += rowLen) {
    if (rowStride === 1) {
      (out as Float32Array).set((source as Float32Array).subarray(base, base + rowLen), at);
    } else {
      for (let k = 0, s = base; k < rowLen; k++, s += rowStride) (out as unknown as unknown[])[at + k] = (source as unknown as unknown[])[s];
    }
    // Advance the multi-index over the leading axes (odometer order).
    for (let d = last - 1; d >= 0; d--) {
      index[d]!++;
      base += strides[d]!;
      if (index[d]! < shape[d]!) break;
      base -= strides[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/** The highest element index a strided view touches (offset + sum (size-1)*stride), or -1 when it is empty. */
export function stridedExtent(offset: number, shape: readonly number[], strides: readonly number[]): number {
  if (shape.some((d) => d === 0)) return -1;
  let hi = offset;
  for (let i = 0; i < shape.length; i++) hi += (shape[i]! - 1) * strides[i]!;
  return hi;
}

/** Row-major strides (in elements) of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Column-major (Fortran order) strides (in elements) of a shape. */
export function fortranStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = 0; i < shape.length; i++) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Values as float32 (float64 and integers are rounded to the nearest float32). */
export function toFloat32(a: NdArray, file: string, what: string): Float32Array {
  const d = a.data;
  switch (a.dtype) {
    case 'float32':
      return d as Float32Array;
    case 'float16': {
      const out = new Float32Array(d.length);
      const src = d as Uint16Array;
      for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]!);
      return out;
    }
    case 'bfloat16': {
      // bfloat16 is the top half of a float32.
      const out = new Uint32Array(d.length);
      const src = d as Uint16Array;
      for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
      return new Float32Array(out.buffer);
    }
    case 'int64':
    case 'uint64': {
      const out = new Float32Array(d.length);
      const src = d as BigInt64Array;
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]!);
      return out;
    }
    case 'bool':
      throw new DataError(file, `${what} is boolean; numeric values are needed`);
    default:
      return Float32Array.from(d as Float64Array);
  }
}

/** Values as int64 (integers only; uint64 values above 2^63-1 are refused). */
export function toBigInt64(a: NdArray, file: string, what: string): BigInt64Array {
  const d = a.data;
  switch (a.dtype) {
    case 'int64':
      return d as BigInt64Array;
    case 'uint64': {
      const src = d as BigUint64Array;
      for (let i = 0; i < src.length; i++)
        if (src[i]! > 0x7fffffffffffffffn) throw new DataError(file, `${what} value ${src[i]} at index ${i} does not fit a signed 64-bit id`);
      return new BigInt64Array(src.buffer, src.byteOffset, src.length);
    }
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32': {
      const out = new BigInt64Array(d.length);
      const src = d as Int32Array;
      for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]!);
      return out;
    }
    default:
      throw new DataError(file, `${what} has dtype ${a.dtype}; object ids must be integers (int64)`);
  }
}

/** Rows [start, end) along axis 0 of a contiguous array (a view, no copy). */
export function sliceRows(a: NdArray, start: number, end: number): NdArray {
  const per = numel(a.shape.slice(1));
  return { dtype: a.dtype, shape: [end - start, ...a.shape.slice(1)], data: a.data.subarray(start * per, end * per) };
}
