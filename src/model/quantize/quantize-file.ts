// Quantizing a model as bytes or as a file: decode (our own protobuf reader, external data loaded from
// inside the model's directory), measure activation ranges when a calibration set is given, rewrite, and
// record what was done in the model's metadata so that `cai model inspect` shows it.
import { ModelError } from '../../errors.js';
import type { Partition } from '../../data/partition.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { BUILTIN_METADATA_KEY } from '../builtin.js';
import { readModelBytes } from '../model-file.js';
import { hasExternalData, loadExternalData } from '../external-data.js';
import { ProtoDecodeError } from '../onnx/protobuf.js';
import { decodeModel, encodeModel, type ModelDef, type NodeDef } from '../onnx/schema.js';
import { QUANT_FORMS } from './forms.js';
import { QUANTIZABLE_OPS, quantizeModel, rangeTensors, type QuantizeReport } from './quantize.js';
import { measureRanges } from './ranges.js';

export const PRECISION_METADATA_KEY = 'cai.precision';
export const QUANTIZATION_METADATA_KEY = 'cai.quantization';

/** 7-bit weights (|q| <= 63) by default: see weights.ts; the accuracy cost was measured (docs/model.md). */
export const DEFAULT_WEIGHT_BITS = 7;

export interface QuantizeBytesOptions {
  /** Operator form; default `static` with a calibration set, else `dynamic`. */
  form?: string;
  /** Operator types to quantize (default MatMul, Gemm, Conv). */
  ops?: readonly string[];
  /** Node names kept in float; a trailing `*` makes a prefix. */
  keepFloat?: readonly string[];
  /** A policy of the caller's own: a reason to keep a node in float, or undefined. */
  keepFloatWhen?: (node: NodeDef) => string | undefined;
  /** 7 (|q| <= 63, safe on AVX2 without VNNI) or 8 (|q| <= 127). Default 7. */
  weightBits?: number;
  /** Samples whose activation ranges fix the static quantization parameters. */
  calibration?: Partition;
  /** Where the calibration set came from, for the metadata. */
  calibrationSource?: string;
  threads?: number;
  onProgress?: (stage: 'decode' | 'ranges' | 'rewrite' | 'encode', detail: string) => void;
  metadata?: Record<string, string>;
}

export interface QuantizeResult {
  bytes: Uint8Array;
  report: QuantizeReport & { activations: 'static' | 'dynamic'; calibrationSamples?: number };
}

export function decodeModelFile(bytes: Uint8Array, file: string): ModelDef {
  try {
    return decodeModel(bytes);
  } catch (err) {
    if (err instanceof ProtoDecodeError) throw new ModelError(file, `not an ONNX model (${err.message})`);
    throw err;
  }
}

/** The keep-float predicate of a list of names (`*` suffix: prefix), an op filter and a caller's policy. */
export function keepFloatPolicy(opts: Pick<QuantizeBytesOptions, 'ops' | 'keepFloat' | 'keepFloatWhen'>): (n: NodeDef) => string | undefined {
  const ops = opts.ops ?? QUANTIZABLE_OPS;
  const names = opts.keepFloat ?? [];
  return (n) => {
    if (!ops.includes(n.opType)) return `${n.opType} is not among the quantized operator types (${ops.join(', ')})`;
    const name = n.name || n.outputs[0]!;
    if (names.some((k) => (k.endsWith('*') ? name.startsWith(k.slice(0, -1)) : name === k))) return 'kept in float on request';
    return opts.keepFloatWhen?.(n);
  };
}

function groupFloatLayers(report: QuantizeReport): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of report.layers) if (!l.quantized) (out[l.reason!] ??= []).push(l.node);
  return out;
}

/** Quantize a decoded model whose tensors are all in memory. */
export async function quantizeDecoded(model: ModelDef, file: string, opts: QuantizeBytesOptions = {}): Promise<QuantizeResult> {
  const formName = opts.form ?? (opts.calibration ? 'static' : 'dynamic');
  const form = QUANT_FORMS.get(formName);
  if (!form) throw new ModelError(file, `unknown operator form "${formName}" (known: ${[...QUANT_FORMS.keys()].join(', ')})`);
  const bits = opts.weightBits ?? DEFAULT_WEIGHT_BITS;
  if (bits !== 7 && bits !== 8) throw new ModelError(file, `weight bits must be 7 or 8, got ${bits}`);
  if (form.needsRanges && !opts.calibration) throw new ModelError(file, `the ${form.name} form needs a calibration set`);
  if (!form.needsRanges && opts.calibration) throw new ModelError(file, `the ${form.name} form quantizes activations per call and takes no calibration set`);
  const keepFloat = keepFloatPolicy(opts);
  let ranges;
  if (form.needsRanges) {
    const inputs = model.graph.inputs.filter((i) => !model.graph.initializers.some((t) => t.name === i.name)).map((i) => i.name);
    const unknown = inputs.filter((i) => i !== 'image' && i !== 'magnitude');
    if (unknown.length) throw new ModelError(file, `calibration feeds the inputs image and magnitude, but the model also takes ${unknown.join(', ')}`);
    const tensors = rangeTensors(model, { keepFloat });
    opts.onProgress?.('ranges', `activation ranges of ${tensors.length} tensors over ${opts.calibration!.count} samples`);
    ranges = await measureRanges(model, tensors, opts.calibration!, {
      threads: opts.threads,
      onBatch: (done) => opts.onProgress?.('ranges', `${done}/${opts.calibration!.count} samples`),
    });
  }
  opts.onProgress?.('rewrite', `quantizing (${form.name})`);
  const activations = form.needsRanges ? 'static' : 'dynamic';
  const q = quantizeModel(model, file, { form: form.name, keepFloat, weightLevels: bits === 7 ? 63 : 127, ranges });
  const summary = {
    form: form.name,
    operators: form.description,
    weights: `int8, symmetric, one scale per output channel, ${bits === 7 ? '7-bit range |q| <= 63' : 'full range |q| <= 127'}`,
    activations: activations === 'static' ? `uint8 with fixed parameters from the min/max over ${opts.calibration!.count} calibration samples` : 'uint8, parameters computed per call from the tensor',
    ...(opts.calibrationSource ? { calibration: opts.calibrationSource } : {}),
    quantizedLayers: q.report.quantizedLayers,
    floatLayers: groupFloatLayers(q.report),
  };
  // The source's built-in recipe key no longer describes the file: the caller sets its own, if any.
  const { [BUILTIN_METADATA_KEY]: _source, ...kept } = q.model.metadata;
  q.model.metadata = { ...kept, [PRECISION_METADATA_KEY]: 'int8', [QUANTIZATION_METADATA_KEY]: JSON.stringify(summary), ...opts.metadata };
  opts.onProgress?.('encode', 'writing the model');
  const bytes = encodeModel(q.model);
  return { bytes, report: { ...q.report, activations, ...(opts.calibration ? { calibrationSamples: opts.calibration.count } : {}) } };
}

/** Quantize ONNX bytes (no external data: there is no directory to resolve it against). */
export async function quantizeOnnxBytes(bytes: Uint8Array, file: string, opts: QuantizeBytesOptions = {}): Promise<QuantizeResult> {
  const model = decodeModelFile(bytes, file);
  if (hasExternalData(model)) throw new ModelError(file, 'has external data, which needs the model file (its directory) to resolve');
  return quantizeDecoded(model, file, opts);
}

/** Read `input` (external data included), quantize it, write `output` atomically. */
export async function quantizeOnnxFile(input: string, output: string, opts: QuantizeBytesOptions = {}): Promise<QuantizeResult> {
  opts.onProgress?.('decode', `reading ${input}`);
  const model = decodeModelFile(await readModelBytes(input), input);
  await loadExternalData(model, input);
  const result = await quantizeDecoded(model, input, opts);
  await writeFileAtomic(output, result.bytes, { mkdir: true });
  return result;
}
