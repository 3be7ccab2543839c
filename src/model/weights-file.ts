// AstroMAE weights as a safetensors file in PyTorch state_dict naming (what `safetensors.torch.save_file`
// writes). Reading checks every header entry against the file and the model's specification before use.
import { readFile, stat } from 'node:fs/promises';
import { ModelError } from '../errors.js';
import { MAX_HEADER_BYTES } from '../data/partition.js';
import { checkNormalization, type Normalization } from './astromae.js';
import { elementCount, isIgnorableName, paramSpecs, specByName, type Weights } from './params.js';

/** Metadata key under which a weights file may carry the input normalization its model was trained with. */
export const NORMALIZATION_METADATA_KEY = 'cai.normalization';

const ITEM_BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8 };

export interface WeightsFile {
  weights: Weights;
  normalization?: Normalization;
  metadata: Record<string, string>;
}

/** Serialize weights (all model tensors, float32) to safetensors bytes, 8-byte aligned data. */
export function encodeWeights(weights: Weights, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', ...metadata } };
  let offset = 0;
  const order = paramSpecs().filter((p) => weights.has(p.name));
  for (const p of order) {
    const t = weights.get(p.name)!;
    header[p.name] = { dtype: 'F32', shape: p.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const hb = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let pos = 8 + hb.length;
  for (const p of order) {
    const t = weights.get(p.name)!;
    out.set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), pos);
    pos += t.byteLength;
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function toFloat32(dtype: string, bytes: Uint8Array): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / ITEM_BYTES[dtype]!;
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      break;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(i * 2, true) << 16;
      break;
    }
  }
  return out;
}

/**
 * Parse safetensors bytes into AstroMAE weights. Float tensors of dtype F32, F64, F16 or BF16 are converted
 * to float32. Missing, unexpected, wrongly shaped or non-finite tensors raise a ModelError naming `file`.
 */
export function decodeWeights(bytes: Uint8Array, file: string): WeightsFile {
  if (bytes.byteLength < 8) throw new ModelError(file, `truncated: ${bytes.byteLength} bytes is too short for a safetensors header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = dv.getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) throw new ModelError(file, `safetensors header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (headerLen > BigInt(bytes.byteLength - 8)) throw new ModelError(file, `truncated: header says ${headerLen} bytes but the file has ${bytes.byteLength - 8} after the length`);
  const hl = Number(headerLen);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, hl).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ModelError(file, 'not a safetensors file (header is not valid JSON)');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new ModelError(file, 'not a safetensors file (header is not an object)');
  const dataStart = 8 + hl;
  const dataLen = bytes.byteLength - dataStart;
  const specs = specByName();
  const weights: Weights = new Map();
  const metadata: Record<string, string> = {};

  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (raw && typeof raw === 'object') for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') metadata[k] = v;
      continue;
    }
    if (isIgnorableName(name)) continue;
    const spec = specs.get(name);
    if (!spec) throw new ModelError(file, `unexpected tensor "${name}" (not part of AstroMAE)`);
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== 'object' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2)
      throw new ModelError(file, `tensor "${name}" has a malformed header entry`);
    const dtype = String(e.dtype);
    if (!(dtype in ITEM_BYTES) || dtype === 'I64') throw new ModelError(file, `tensor "${name}" has dtype ${dtype}; expected F32, F64, F16 or BF16`);
    const shape = e.shape as unknown[];
    if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i]))
      throw new ModelError(file, `tensor "${name}" has shape [${shape.join(',')}], expected [${spec.shape.join(',')}]`);
    const [begin, end] = e.data_offsets as unknown[];
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || (begin as number) < 0 || (end as number) < (begin as number))
      throw new ModelError(file, `tensor "${name}" has invalid data offsets`);
    const b = begin as number;
    const en = end as number;
    const need = elementCount(spec.shape) * ITEM_BYTES[dtype]!;
    if (en - b !== need) throw new ModelError(file, `tensor "${name}" occupies ${en - b} bytes but its shape needs ${need}`);
    if (en > dataLen) throw new ModelError(file, `truncated: tensor "${name}" ends at byte ${en} of a ${dataLen}-byte data section`);
    const values = toFloat32(dtype, bytes.subarray(dataStart + b, dataStart + en));
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) throw new ModelError(file, `tensor "${name}" holds a non-finite value at index ${i}`);
    weights.set(name, values);
  }
  for (const p of specs.values()) if (!weights.has(p.name)) throw new ModelError(file, `missing tensor "${p.name}" (shape [${p.shape.join(',')}])`);

  let normalization: Normalization | undefined;
  const nm = metadata[NORMALIZATION_METADATA_KEY];
  if (nm !== undefined) {
    try {
      normalization = JSON.parse(nm) as Normalization;
      checkNormalization(normalization, NORMALIZATION_METADATA_KEY);
    } catch (err) {
      throw new ModelError(file, `metadata "${NORMALIZATION_METADATA_KEY}" is invalid: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { weights, normalization, metadata };
}

/** Largest weights file we read (the float64 form of the model is ~130 MB). */
export const MAX_WEIGHTS_BYTES = 1 << 30;

export async function readWeightsFile(path: string): Promise<WeightsFile> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new ModelError(path, 'weights file not found');
  }
  if (size > MAX_WEIGHTS_BYTES) throw new ModelError(path, `weights file is ${size} bytes, larger than the ${MAX_WEIGHTS_BYTES}-byte limit`);
  const bytes = await readFile(path);
  return decodeWeights(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}
