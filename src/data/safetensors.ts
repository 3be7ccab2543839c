// The safetensors container (8-byte little-endian header length, JSON header, raw little-endian tensor
// data), shared by data partitions and model weights. Writing pads the header so the data section starts
// 8-byte aligned; reading checks the header length and every tensor's byte range against the file before
// any view is made, so a hostile header cannot make a reader allocate or read out of bounds.

/** Refuse headers larger than this before parsing them (a real header is a few kB at most). */
export const MAX_HEADER_BYTES = 1 << 20;

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

/** A header entry whose fields have the right types; values are checked by the caller and by `locate`. */
export interface HeaderEntry {
  dtype: string;
  shape: unknown[];
  data_offsets: [unknown, unknown];
}

export interface ParsedSafetensors {
  /** Every key of the JSON header except `__metadata__`, in file order. */
  names: string[];
  /** String values of `__metadata__`. */
  metadata: Record<string, string>;
  /** The entry of tensor `name`, or undefined; a malformed entry throws. */
  entry(name: string): HeaderEntry | undefined;
  /**
   * Byte offset in `bytes` of tensor `name`'s data, after checking that its offsets are valid, that it
   * occupies exactly `needBytes` and that it lies inside the file.
   */
  locate(name: string, e: HeaderEntry, needBytes: number): number;
}

/**
 * Parse the header of safetensors bytes. `fail(problem)` builds the error to throw (a DataError or a
 * ModelError naming the file).
 */
export function parseSafetensors(bytes: Uint8Array, fail: (problem: string) => Error): ParsedSafetensors {
  if (bytes.byteLength < 8) throw fail(`truncated: ${bytes.byteLength} bytes is too short for a safetensors header`);
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) throw fail(`safetensors header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (headerLen > BigInt(bytes.byteLength - 8)) throw fail(`truncated: header says ${headerLen} bytes but the file has ${bytes.byteLength - 8} after the length`);
  const hl = Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, hl).toString('utf8'));
  } catch {
    throw fail(`corrupt safetensors header (not valid JSON)`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail(`corrupt safetensors header (not an object)`);
  const h = header as Record<string, unknown>;
  const dataStart = 8 + hl;
  const dataLen = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const meta = h.__metadata__;
  if (meta && typeof meta === 'object') for (const [k, v] of Object.entries(meta)) if (typeof v === 'string') metadata[k] = v;

  return {
    names: Object.keys(h).filter((k) => k !== '__metadata__'),
    metadata,
    entry(name) {
      if (!Object.hasOwn(h, name)) return undefined;
      const e = h[name] as Partial<HeaderEntry> | null;
      if (typeof e !== 'object' || e === null || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2)
        throw fail(`tensor "${name}" has a malformed header entry`);
      return { dtype: String(e.dtype), shape: e.shape, data_offsets: e.data_offsets as [unknown, unknown] };
    },
    locate(name, e, needBytes) {
      const [begin, end] = e.data_offsets;
      if (typeof begin !== 'number' || typeof end !== 'number' || !Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin)
        throw fail(`tensor "${name}" has invalid data offsets`);
      if (end - begin !== needBytes) throw fail(`tensor "${name}" occupies ${end - begin} bytes but its shape needs ${needBytes}`);
      if (end > dataLen) throw fail(`truncated: tensor "${name}" ends at byte ${end} of a ${dataLen}-byte data section`);
      return dataStart + begin;
    },
  };
}
