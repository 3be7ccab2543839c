// The safetensors container (8-byte little-endian header length, JSON header, raw little-endian tensor
// data), shared by data partitions and model weights. Writing pads the header so the data section starts
// 8-byte aligned. Reading validates the whole header the way the format's reference implementation does
// before any view is made: every entry's dtype, shape and byte range, and that the ranges tile the data
// section exactly (sorted, no overlap, no gap, nothing after the last). Overlapping ranges would let one
// tensor be read out of another's bytes (magnitudes read from pixels), so they are refused, not tolerated.

/** Refuse headers larger than this before parsing them (a real header is a few kB at most). */
export const MAX_HEADER_BYTES = 1 << 20;
/** Dimensions a tensor may have; more is not a tensor this project (or PyTorch's usual models) writes. */
export const MAX_TENSOR_DIMS = 8;

/** Bytes per element of every dtype the format defines (so files with other tensors still validate). */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** Bytes per element of the dtypes this project reads or writes. */
export const ITEM_BYTES: Readonly<Record<string, number>> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8 };

export interface TensorToWrite {
  name: string;
  dtype: string;
  shape: readonly number[];
  data: ArrayBufferView;
}

/** Serialize tensors, in the given order, with `__metadata__` first. */
export function encodeSafetensors(tensors: readonly TensorToWrite[], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** A validated header entry: a known dtype, a shape of safe integers, and a byte range inside the file. */
export interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface ParsedSafetensors {
  /** Every key of the JSON header except `__metadata__`, in file order. */
  names: string[];
  /** String values of `__metadata__`. */
  metadata: Record<string, string>;
  /** The entry of tensor `name`, or undefined. */
  entry(name: string): HeaderEntry | undefined;
  /**
   * Byte offset in `bytes` of tensor `name`'s data, after checking that it occupies exactly `needBytes`
   * (the size its expected shape and dtype need).
   */
  locate(name: string, e: HeaderEntry, needBytes: number): number;
}

/**
 * Parse and validate the header of safetensors bytes. `fail(problem)` builds the error to throw (a
 * DataError or a ModelError naming the file). Work and memory are bounded by the header's size.
 */
export function parseSafetensors(bytes: Uint8Array, fail: (problem: string) => Error): ParsedSafetensors {
  if (bytes.byteLength < 8) throw fail(`truncated: ${bytes.byteLength} bytes is too short for a safetensors header`);
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) throw fail(`safetensors header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (headerLen > BigInt(bytes.byteLength - 8)) throw fail(`truncated: header says ${headerLen} bytes but the file has ${bytes.byteLength - 8} after the length`);
  const hl = Number(headerLen);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + 8, hl).toString('utf8');
  // The format requires an object; checking the first character also keeps JSON.parse away from
  // arbitrarily nested arrays.
  if (!text.startsWith('{')) throw fail('corrupt safetensors header (not a JSON object)');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    throw fail(`corrupt safetensors header (not valid JSON)`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail(`corrupt safetensors header (not an object)`);
  const h = header as Record<string, unknown>;
  const dataStart = 8 + hl;
  const dataLen = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const meta = h.__metadata__;
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || Array.isArray(meta))) throw fail('safetensors __metadata__ is not an object of strings');
  if (meta) for (const [k, v] of Object.entries(meta)) if (typeof v === 'string') metadata[k] = v;

  const names = Object.keys(h).filter((k) => k !== '__metadata__');
  const entries = new Map<string, HeaderEntry>();
  for (const name of names) entries.set(name, checkEntry(name, h[name], fail));
  checkTiling(entries, dataLen, fail);

  return {
    names,
    metadata,
    entry: (name) => entries.get(name),
    locate(name, e, needBytes) {
      const [begin, end] = e.data_offsets;
      if (end - begin !== needBytes) throw fail(`tensor "${name}" occupies ${end - begin} bytes but its shape needs ${needBytes}`);
      return dataStart + begin;
    },
  };
}

function checkEntry(name: string, raw: unknown, fail: (problem: string) => Error): HeaderEntry {
  const e = raw as Partial<Record<keyof HeaderEntry, unknown>> | null;
  if (typeof e !== 'object' || e === null || Array.isArray(e) || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2)
    throw fail(`tensor "${name}" has a malformed header entry`);
  const size = Object.hasOwn(DTYPE_BYTES, e.dtype) ? DTYPE_BYTES[e.dtype]! : undefined;
  if (size === undefined) throw fail(`tensor "${name}" has an unknown dtype ${JSON.stringify(e.dtype).slice(0, 40)}`);
  if (e.shape.length > MAX_TENSOR_DIMS) throw fail(`tensor "${name}" has ${e.shape.length} dimensions (at most ${MAX_TENSOR_DIMS})`);
  let elements = 1;
  for (const d of e.shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw fail(`tensor "${name}" has an invalid dimension ${JSON.stringify(d)?.slice(0, 40)}`);
    elements *= d;
  }
  const [begin, end] = e.data_offsets;
  if (typeof begin !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin)
    throw fail(`tensor "${name}" has invalid data offsets`);
  if (end - begin !== elements * size) throw fail(`tensor "${name}" occupies ${end - begin} bytes but its shape [${e.shape.join(',')}] (${e.dtype}) needs ${elements * size}`);
  return { dtype: e.dtype, shape: e.shape as number[], data_offsets: [begin, end] };
}

/** The byte ranges, sorted, must cover [0, dataLen) exactly once. */
function checkTiling(entries: Map<string, HeaderEntry>, dataLen: number, fail: (problem: string) => Error): void {
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
  let at = 0;
  let prev = '';
  for (const [name, e] of sorted) {
    const [begin, end] = e.data_offsets;
    if (end > dataLen) throw fail(`truncated: tensor "${name}" ends at byte ${end} of a ${dataLen}-byte data section`);
    if (begin < at) throw fail(`tensor "${name}" (bytes ${begin}..${end}) overlaps tensor "${prev}", which ends at byte ${at}`);
    if (begin > at) throw fail(`the data section has ${begin - at} bytes at ${at}..${begin} that no tensor covers`);
    at = end;
    prev = name;
  }
  if (at !== dataLen) throw fail(`the data section has ${dataLen - at} bytes after the last tensor (${at}..${dataLen}) that no tensor covers`);
}
