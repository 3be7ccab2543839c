// AstroMAE weights as a safetensors file in PyTorch state_dict naming (what `safetensors.torch.save_file`
// writes). Reading checks every header entry against the file and the model's specification before use.
import { readFile } from 'node:fs/promises';
import { ModelError } from '../errors.js';
import { ITEM_BYTES, encodeSafetensors, parseSafetensors } from '../data/safetensors.js';
import { checkNormalization, type Normalization } from './astromae.js';
import { elementCount, isIgnorableName, paramSpecs, specByName, type Weights } from './params.js';
import { halfToFloat } from '../util/float16.js';
import { regularFileSize } from '../util/checked-file.js';

/** Metadata key under which a weights file may carry the input normalization its model was trained with. */
export const NORMALIZATION_METADATA_KEY = 'cai.normalization';

export interface WeightsFile {
  weights: Weights;
  normalization?: Normalization;
  metadata: Record<string, string>;
}

/** Serialize weights (all model tensors, float32) to safetensors bytes, 8-byte aligned data. */
export function encodeWeights(weights: Weights, metadata: Record<string, string> = {}): Uint8Array {
  const tensors = paramSpecs()
    .filter((p) => weights.has(p.name))
    .map((p) => ({ name: p.name, dtype: 'F32', shape: p.shape, data: weights.get(p.name)! }));
  return encodeSafetensors(tensors, { format: 'pt', ...metadata });
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
  const st = parseSafetensors(bytes, (problem) => new ModelError(file, problem));
  const specs = specByName();
  const weights: Weights = new Map();
  const metadata = st.metadata;

  for (const name of st.names) {
    if (isIgnorableName(name)) continue;
    const spec = specs.get(name);
    if (!spec) throw new ModelError(file, `unexpected tensor "${name}" (not part of AstroMAE)`);
    const e = st.entry(name)!;
    const dtype = e.dtype;
    if (!Object.hasOwn(ITEM_BYTES, dtype) || dtype === 'I64') throw new ModelError(file, `tensor "${name}" has dtype ${dtype}; expected F32, F64, F16 or BF16`);
    if (e.shape.length !== spec.shape.length || e.shape.some((d, i) => d !== spec.shape[i]))
      throw new ModelError(file, `tensor "${name}" has shape [${e.shape.join(',')}], expected [${spec.shape.join(',')}]`);
    const need = elementCount(spec.shape) * ITEM_BYTES[dtype]!;
    const at = st.locate(name, e, need);
    const values = toFloat32(dtype, bytes.subarray(at, at + need));
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
  const size = await regularFileSize(path, 'weights file', (why) => new ModelError(path, why));
  if (size > MAX_WEIGHTS_BYTES) throw new ModelError(path, `weights file is ${size} bytes, larger than the ${MAX_WEIGHTS_BYTES}-byte limit`);
  const bytes = await readFile(path);
  return decodeWeights(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}
