// Tensor data that an ONNX file keeps in side files (`data_location: EXTERNAL`, as exporters write for
// models over 2 GiB or on request). The references come from an untrusted file: each must be a relative
// path that stays inside the model's directory (symbolic links included), and its offset and length
// must fit the side file and match the tensor's shape before a byte is allocated or read.
import { open, realpath, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { ModelError } from '../../errors.js';
import { isSafeRelativePath } from '../../util/safe-path.js';
import { MAX_MODEL_BYTES } from '../model-file.js';
import { elementBytes, type ModelDef } from './schema.js';

/** Whether any tensor of the model (initializer or Constant attribute) keeps its data in another file. */
export function hasExternalData(model: ModelDef): boolean {
  return model.graph.initializers.some((t) => t.external) || model.graph.nodes.some((n) => Object.values(n.attributes).some((a) => a.kind === 'tensor' && a.value.external));
}

/**
 * Read every external initializer of `model` (decoded from `modelPath`) into memory, in place: afterwards
 * each holds its bytes in `raw` and no reference remains. ModelError (the model file named) on a
 * reference that leaves the directory, a missing side file, or a size that does not add up.
 */
export async function loadExternalData(model: ModelDef, modelPath: string): Promise<void> {
  const constant = model.graph.nodes.find((n) => Object.values(n.attributes).some((a) => a.kind === 'tensor' && a.value.external));
  if (constant) throw new ModelError(modelPath, `node "${constant.name || constant.opType}" has a constant with external data, which is not supported`);
  const external = model.graph.initializers.filter((t) => t.external);
  if (external.length === 0) return;
  const root = await realpath(dirname(modelPath));
  let total = 0;
  for (const t of external) {
    const ref = t.external!;
    const what = `initializer "${t.name}"`;
    if (!isSafeRelativePath(ref.location)) throw new ModelError(modelPath, `${what}: external data location "${ref.location}" is not a relative path inside the model's directory`);
    let file: string;
    try {
      file = await realpath(join(root, ref.location));
    } catch {
      throw new ModelError(modelPath, `${what}: external data file "${ref.location}" not found`);
    }
    if (!file.startsWith(root + sep)) throw new ModelError(modelPath, `${what}: external data file "${ref.location}" leads outside the model's directory`);
    const info = await stat(file);
    if (!info.isFile()) throw new ModelError(modelPath, `${what}: external data "${ref.location}" is not a regular file`);
    const size = elementBytes(t.dataType);
    if (size === undefined) throw new ModelError(modelPath, `${what}: element type ${t.dataType} cannot be read from external data`);
    const count = t.dims.reduce((a, b) => a * b, 1);
    const expected = count * size;
    const length = ref.length ?? info.size - ref.offset;
    if (ref.offset > info.size || length < 0 || ref.offset + length > info.size)
      throw new ModelError(modelPath, `${what}: external data range ${ref.offset}+${length} runs past the end of "${ref.location}" (${info.size} bytes)`);
    if (length !== expected) throw new ModelError(modelPath, `${what}: external data holds ${length} bytes but its shape [${t.dims.join(',')}] needs ${expected}`);
    total += expected;
    if (total > MAX_MODEL_BYTES) throw new ModelError(modelPath, `external data adds up to more than the 2 GiB a single ONNX file can hold`);
    t.raw = await readRange(file, ref.offset, length, modelPath);
    delete t.external;
  }
}

async function readRange(file: string, offset: number, length: number, modelPath: string): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  const fh = await open(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(out, done, length - done, offset + done);
      if (bytesRead === 0) throw new ModelError(modelPath, `external data file ${file} ended early`);
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return out;
}
