// A small self-describing encoding for the values collectives carry: a number, a bigint, or a typed array
// (byte buffers are Uint8Array). Layout: 8-byte header (type code, then zero padding) followed by the raw
// little-endian element bytes, so the payload sits 8-byte aligned whenever the frame does and decoding is
// usually a view, not a copy. The element count is implied by the frame length.
import { endianness } from 'node:os';
import { FmiProtocolError } from './errors.js';

export type FmiArray =
  | Uint8Array
  | Int8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** Anything a communicator operation carries. */
export type FmiValue = number | bigint | FmiArray;

if (endianness() !== 'LE') throw new Error('FMI codec needs a little-endian platform');

export const HEADER_BYTES = 8;

const enum Code {
  Number = 1,
  BigInt = 2,
  Uint8 = 10,
  Int8 = 11,
  Uint8Clamped = 12,
  Int16 = 13,
  Uint16 = 14,
  Int32 = 15,
  Uint32 = 16,
  Float32 = 17,
  Float64 = 18,
  BigInt64 = 19,
  BigUint64 = 20,
}

type ArrayCtor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): FmiArray; new (length: number): FmiArray; BYTES_PER_ELEMENT: number };

const CTORS: Record<number, ArrayCtor> = {
  [Code.Uint8]: Uint8Array as unknown as ArrayCtor,
  [Code.Int8]: Int8Array as unknown as ArrayCtor,
  [Code.Uint8Clamped]: Uint8ClampedArray as unknown as ArrayCtor,
  [Code.Int16]: Int16Array as unknown as ArrayCtor,
  [Code.Uint16]: Uint16Array as unknown as ArrayCtor,
  [Code.Int32]: Int32Array as unknown as ArrayCtor,
  [Code.Uint32]: Uint32Array as unknown as ArrayCtor,
  [Code.Float32]: Float32Array as unknown as ArrayCtor,
  [Code.Float64]: Float64Array as unknown as ArrayCtor,
  [Code.BigInt64]: BigInt64Array as unknown as ArrayCtor,
  [Code.BigUint64]: BigUint64Array as unknown as ArrayCtor,
};

function codeOf(value: FmiValue): Code {
  if (typeof value === 'number') return Code.Number;
  if (typeof value === 'bigint') return Code.BigInt;
  // Buffer is a Uint8Array subclass; it travels (and comes back) as plain bytes.
  if (value instanceof Uint8Array) return Code.Uint8;
  if (value instanceof Float64Array) return Code.Float64;
  if (value instanceof Float32Array) return Code.Float32;
  if (value instanceof Int32Array) return Code.Int32;
  if (value instanceof Uint32Array) return Code.Uint32;
  if (value instanceof BigInt64Array) return Code.BigInt64;
  if (value instanceof BigUint64Array) return Code.BigUint64;
  if (value instanceof Int16Array) return Code.Int16;
  if (value instanceof Uint16Array) return Code.Uint16;
  if (value instanceof Int8Array) return Code.Int8;
  if (value instanceof Uint8ClampedArray) return Code.Uint8Clamped;
  throw new TypeError(`FMI cannot carry a value of type ${describe(value)}; use a number, bigint or typed array`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** True if `value` is something the codec can carry. */
export function isFmiValue(value: unknown): value is FmiValue {
  try {
    codeOf(value as FmiValue);
    return true;
  } catch {
    return false;
  }
}

/** Encode a value into a fresh buffer. */
export function encodeValue(value: FmiValue): Uint8Array {
  const code = codeOf(value);
  if (code === Code.Number) {
    const out = new Uint8Array(HEADER_BYTES + 8);
    out[0] = code;
    new DataView(out.buffer).setFloat64(HEADER_BYTES, value as number, true);
    return out;
  }
  if (code === Code.BigInt) {
    const v = value as bigint;
    if (BigInt.asIntN(64, v) !== v) throw new RangeError(`FMI carries bigint values in 64 bits; ${v} does not fit`);
    const out = new Uint8Array(HEADER_BYTES + 8);
    out[0] = code;
    new DataView(out.buffer).setBigInt64(HEADER_BYTES, v, true);
    return out;
  }
  const arr = value as FmiArray;
  const out = new Uint8Array(HEADER_BYTES + arr.byteLength);
  out[0] = code;
  out.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), HEADER_BYTES);
  return out;
}

/** Decode bytes made by encodeValue. Arrays are views of `bytes` when aligned, else copies. */
export function decodeValue(bytes: Uint8Array, from = 'frame'): FmiValue {
  if (bytes.length < HEADER_BYTES) throw new FmiProtocolError(`${from}: ${bytes.length}-byte value is shorter than its ${HEADER_BYTES}-byte header`);
  const code = bytes[0];
  const body = bytes.length - HEADER_BYTES;
  const start = bytes.byteOffset + HEADER_BYTES;
  if (code === Code.Number || code === Code.BigInt) {
    if (body !== 8) throw new FmiProtocolError(`${from}: scalar value has ${body} bytes, expected 8`);
    const dv = new DataView(bytes.buffer, start, 8);
    return code === Code.Number ? dv.getFloat64(0, true) : dv.getBigInt64(0, true);
  }
  const Ctor = CTORS[code];
  if (!Ctor) throw new FmiProtocolError(`${from}: unknown value type code ${code}`);
  const size = Ctor.BYTES_PER_ELEMENT;
  if (body % size !== 0) throw new FmiProtocolError(`${from}: ${body} data bytes is not a whole number of ${size}-byte elements`);
  if (start % size === 0) return new Ctor(bytes.buffer, start, body / size);
  const copy = new Ctor(body / size);
  new Uint8Array(copy.buffer).set(bytes.subarray(HEADER_BYTES));
  return copy;
}

/** A fresh copy of a value (numbers and bigints are returned as they are). */
export function cloneValue<T extends FmiValue>(value: T): T {
  if (typeof value === 'number' || typeof value === 'bigint') return value;
  return (value as FmiArray).slice() as T;
}

// ---- lists of encoded values (what gather, scatter and allgather move) ----
// Layout: u32 count, count x u32 lengths, then the items back to back, each padded to 8 bytes so decoded
// items stay aligned.

// Arithmetic, not bit operations: hostile counts can exceed 32 bits.
const pad8 = (n: number) => Math.ceil(n / 8) * 8;

export function packList(items: readonly Uint8Array[]): Uint8Array {
  const head = pad8(4 + 4 * items.length);
  let total = head;
  for (const it of items) total += pad8(it.length);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, items.length, true);
  let pos = head;
  items.forEach((it, i) => {
    dv.setUint32(4 + 4 * i, it.length, true);
    out.set(it, pos);
    pos += pad8(it.length);
  });
  return out;
}

export function unpackList(bytes: Uint8Array, from = 'frame'): Uint8Array[] {
  if (bytes.length < 4) throw new FmiProtocolError(`${from}: list shorter than its count`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = dv.getUint32(0, true);
  const head = pad8(4 + 4 * count);
  if (head > bytes.length) throw new FmiProtocolError(`${from}: list of ${count} items is longer than its ${bytes.length} bytes`);
  const out: Uint8Array[] = new Array(count);
  let pos = head;
  for (let i = 0; i < count; i++) {
    const len = dv.getUint32(4 + 4 * i, true);
    if (pos + len > bytes.length) throw new FmiProtocolError(`${from}: list item ${i} runs past the end`);
    out[i] = bytes.subarray(pos, pos + len);
    pos += pad8(len);
  }
  return out;
}
