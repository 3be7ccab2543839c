// Describe an ONNX file without running it: inputs/outputs, opset, metadata, parameters and FLOPs per sample.
import { ModelError } from '../errors.js';
import { readModelBytes } from './model-file.js';
import { analyseGraph } from './onnx/analysis.js';
import { ProtoDecodeError } from './onnx/protobuf.js';
import { decodeModel, TENSOR_TYPE_NAME, type ValueInfoDef } from './onnx/schema.js';
import { ARCH } from './params.js';
import { INPUT_IMAGE, INPUT_MAGNITUDE, OUTPUT_REDSHIFT } from './astromae.js';

export interface TensorInfo {
  name: string;
  dtype: string;
  /** Fixed sizes as numbers, symbolic ones as their name, unknown as null. */
  shape: (number | string | null)[] | null;
}

export interface ModelInfo {
  file: string;
  bytes: number;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  nodes: number;
  parameters: number;
  flopsPerSample: number;
  flopsByOp: Record<string, number>;
  /** Nodes the FLOP analysis could not size; when non-empty, flopsPerSample is a lower bound. */
  unresolved: string[];
  opCounts: Record<string, number>;
  metadata: Record<string, string>;
}

export { MAX_MODEL_BYTES, readModelBytes } from './model-file.js';

function tensorInfo(v: ValueInfoDef): TensorInfo {
  return { name: v.name, dtype: TENSOR_TYPE_NAME[v.elemType] ?? `type${v.elemType}`, shape: v.dims ? v.dims.map((d) => d ?? null) : null };
}

export function inspectModelBytes(bytes: Uint8Array, file: string): ModelInfo {
  let model;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    if (err instanceof ProtoDecodeError) throw new ModelError(file, `not an ONNX model (${err.message})`);
    throw err;
  }
  const g = model.graph;
  const initNames = new Set(g.initializers.map((t) => t.name));
  const a = analyseGraph(g);
  return {
    file,
    bytes: bytes.byteLength,
    irVersion: model.irVersion,
    opsets: model.opsets,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs: g.inputs.filter((i) => !initNames.has(i.name)).map(tensorInfo),
    outputs: g.outputs.map(tensorInfo),
    nodes: g.nodes.length,
    parameters: a.parameters,
    flopsPerSample: a.flopsPerSample,
    flopsByOp: a.flopsByOp,
    unresolved: a.unresolved,
    opCounts: a.opCounts,
    metadata: model.metadata,
  };
}

export async function inspectModelFile(path: string): Promise<ModelInfo> {
  return inspectModelBytes(await readModelBytes(path), path);
}

/**
 * Check that a model takes `image` float32 [N,5,32,32] and `magnitude` float32 [N,5] and gives `redshift`
 * float32 [N,1]; a ModelError names the first mismatch. Symbolic or unknown dimensions are accepted.
 */
export function checkRedshiftContract(info: ModelInfo): void {
  const want: [TensorInfo[], string, number[], 'input' | 'output'][] = [
    [info.inputs, INPUT_IMAGE, [ARCH.bands, ARCH.imageSize, ARCH.imageSize], 'input'],
    [info.inputs, INPUT_MAGNITUDE, [ARCH.bands], 'input'],
    [info.outputs, OUTPUT_REDSHIFT, [1], 'output'],
  ];
  for (const [list, name, tail, kind] of want) {
    const t = list.find((x) => x.name === name);
    if (!t) throw new ModelError(info.file, `model has no ${kind} "${name}" (it has ${list.map((x) => x.name).join(', ') || 'none'})`);
    if (t.dtype !== 'float32') throw new ModelError(info.file, `${kind} "${name}" is ${t.dtype}, expected float32`);
    if (!t.shape) continue;
    const expected = [null, ...tail];
    const ok = t.shape.length === expected.length && t.shape.every((d, i) => i === 0 || typeof d !== 'number' || d === expected[i]);
    if (!ok) throw new ModelError(info.file, `${kind} "${name}" has shape [${t.shape.map((d) => d ?? '?').join(',')}], expected [N,${tail.join(',')}]`);
  }
}
