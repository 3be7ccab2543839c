// ONNX tensors may keep their bytes in another file ("external data": a location relative to the model,
// an offset and a length). A model is untrusted input, so every such reference is checked before the
// model reaches onnxruntime or an inspection: the location must be a plain relative path that resolves,
// symlinks included, inside the model's own directory, to a regular file that holds the bytes named.
// The walk reads only the structure (graphs, nodes, attributes, tensors) and skips tensor payloads, so it
// costs a fraction of a decode; subgraph nesting is bounded. The quantizer, which rewrites a model's
// weights, also reads external initializers into memory (loadExternalData), through the same checks.
import { open, realpath, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { ModelError } from '../errors.js';
import { isSafeRelativePath } from '../util/safe-path.js';
import { ProtoDecodeError, ProtoReader, WIRE_LEN, readString, type ProtoField } from './onnx/protobuf.js';
import { MAX_MODEL_BYTES, elementBytes, type ModelDef } from './onnx/schema.js';

/** Graphs nested in node attributes (If/Loop bodies) deeper than this are refused. */
export const MAX_GRAPH_NESTING = 64;

export interface ExternalDataRef {
  tensor: string;
  location: string;
  offset: number;
  /** Absent: to the end of the file. */
  length?: number;
}

const EXTERNAL = 1n; // TensorProto.DataLocation.EXTERNAL

function messages(f: ProtoField): Generator<ProtoField> {
  if (f.wire !== WIRE_LEN) throw new ProtoDecodeError(`field ${f.field}: expected a nested message`);
  return new ProtoReader(f.data!).fields();
}

/** Every external-data reference in ONNX ModelProto bytes (pure: bytes in, references out). */
export function externalDataRefs(bytes: Uint8Array, file: string): ExternalDataRef[] {
  const refs: ExternalDataRef[] = [];
  const number = (text: string, what: string, tensor: string): number => {
    if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) throw new ModelError(file, `tensor "${tensor}" has an invalid external data ${what} "${text.slice(0, 40)}"`);
    return Number(text);
  };
  const tensor = (f: ProtoField): void => {
    let name = '';
    let external = false;
    const entries: [string, string][] = [];
    for (const x of messages(f)) {
      if (x.field === 8) name = readString(x);
      else if (x.field === 14) external = x.int === EXTERNAL;
      else if (x.field === 13) {
        let k = '';
        let v = '';
        for (const y of messages(x)) {
          if (y.field === 1) k = readString(y);
          else if (y.field === 2) v = readString(y);
        }
        entries.push([k, v]);
      }
    }
    if (!external && entries.length === 0) return;
    const get = (k: string): string | undefined => entries.find((e) => e[0] === k)?.[1];
    const location = get('location');
    if (location === undefined) throw new ModelError(file, `tensor "${name.slice(0, 80)}" keeps its data externally but names no location`);
    const offset = get('offset');
    const length = get('length');
    refs.push({ tensor: name, location, offset: offset === undefined ? 0 : number(offset, 'offset', name), ...(length === undefined ? {} : { length: number(length, 'length', name) }) });
  };
  const sparse = (f: ProtoField): void => {
    for (const x of messages(f)) if (x.field === 1 || x.field === 2) tensor(x);
  };
  const graph = (f: ProtoField, depth: number): void => {
    if (depth > MAX_GRAPH_NESTING) throw new ModelError(file, `graphs nest more than ${MAX_GRAPH_NESTING} deep`);
    for (const x of messages(f)) {
      if (x.field === 5) tensor(x);
      else if (x.field === 15) sparse(x);
      else if (x.field === 1) node(x, depth);
    }
  };
  const node = (f: ProtoField, depth: number): void => {
    for (const x of messages(f)) {
      if (x.field !== 5) continue;
      for (const a of messages(x)) {
        if (a.field === 5 || a.field === 10) tensor(a);
        else if (a.field === 22 || a.field === 23) sparse(a);
        else if (a.field === 6 || a.field === 11) graph(a, depth + 1);
      }
    }
  };
  try {
    for (const x of new ProtoReader(bytes).fields()) {
      if (x.field === 7) graph(x, 0);
      else if (x.field === 25) {
        for (const y of messages(x)) if (y.field === 7) node(y, 0); // FunctionProto.node
      } else if (x.field === 20) {
        for (const y of messages(x)) if (y.field === 1 || y.field === 2) graph(y, 0); // TrainingInfoProto graphs
      }
    }
  } catch (err) {
    if (err instanceof ProtoDecodeError) throw new ModelError(file, `not an ONNX model (${err.message})`);
    throw err;
  }
  return refs;
}

/**
 * The side file a reference names, resolved inside `dir` (the model's directory, already a real path):
 * a plain relative path, symbolic links followed, to a regular file. ModelError naming `file` otherwise.
 */
async function externalFile(dir: string, location: string, file: string, what: string): Promise<{ real: string; size: number }> {
  if (!isSafeRelativePath(location)) throw new ModelError(file, `${what}, which is not a relative path inside the model's directory`);
  let real: string;
  try {
    real = await realpath(join(dir, ...location.split('/')));
  } catch {
    throw new ModelError(file, `${what}, which does not exist`);
  }
  if (!real.startsWith(dir + sep)) throw new ModelError(file, `${what}, which resolves to ${real}, outside the model's directory`);
  const info = await stat(real);
  if (!info.isFile()) throw new ModelError(file, `${what}, which is not a regular file`);
  return { real, size: info.size };
}

/**
 * Refuse a model whose external data leaves its directory (`modelPath`'s folder) or points at anything but
 * a regular file holding the bytes named. A model given as bytes has no directory: any reference is refused.
 */
export async function checkExternalData(bytes: Uint8Array, modelPath: string | undefined, file: string = modelPath ?? '(model bytes)'): Promise<void> {
  const refs = externalDataRefs(bytes, file);
  if (refs.length === 0) return;
  if (modelPath === undefined) throw new ModelError(file, `tensor "${refs[0]!.tensor.slice(0, 80)}" keeps its data in another file, which a model given as bytes cannot use`);
  const dir = await realpath(dirname(modelPath));
  for (const r of refs) {
    const what = `tensor "${r.tensor.slice(0, 80)}" keeps its data in "${r.location.slice(0, 200)}"`;
    const { size } = await externalFile(dir, r.location, file, what);
    const end = r.offset + (r.length ?? 0);
    if (r.offset > size || end > size) throw new ModelError(file, `${what} at bytes ${r.offset}..${end}, past the end of its ${size} bytes`);
  }
}

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
    const what = `tensor "${t.name.slice(0, 80)}" keeps its data in "${ref.location.slice(0, 200)}"`;
    const { real: file, size: fileSize } = await externalFile(root, ref.location, modelPath, what);
    const info = { size: fileSize };
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
