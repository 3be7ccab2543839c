// Post-training int8 quantization of a decoded ONNX model: every MatMul, Gemm and Conv whose weight is a
// float32 initializer gets per-channel int8 weights and one of the operator forms of forms.ts; a layer the
// caller keeps in float, or one the rewrite cannot express, stays as it was and the report says why.
// Pure: bytes in, bytes out; activation ranges for the static forms come from ranges.ts.
import { ModelError } from '../../errors.js';
import { SUBGRAPH_ATTRIBUTE_TYPES, type AttrValue, type ModelDef, type NodeDef } from '../onnx/schema.js';
import { QUANT_FORMS, type ActivationRange, type ConvSite, type LinearSite, type QuantForm } from './forms.js';
import { floatValues, GraphEditor } from './graph-edit.js';
import { quantizePerChannel } from './weights.js';

export const QUANTIZABLE_OPS: readonly string[] = ['MatMul', 'Gemm', 'Conv'];
export const DEFAULT_FORM = 'dynamic';

export interface QuantizeOptions {
  /** Operator form (forms.ts); default `dynamic`. */
  form?: string;
  /** A reason to keep a node in float32, or undefined to quantize it. */
  keepFloat?: (node: NodeDef) => string | undefined;
  /** Largest integer of the weights: 127 (int8) or 63 (7-bit, safe from AVX2 saturation). Default 127. */
  weightLevels?: number;
  /** For static forms: the range of each quantized layer's input and (Conv) output tensor, by tensor name. */
  ranges?: ReadonlyMap<string, ActivationRange>;
  /** ONNX metadata_props added to the quantized model. */
  metadata?: Record<string, string>;
}

export interface LayerDecision {
  node: string;
  op: string;
  /** Whether the layer was quantized; if not, why. */
  quantized: boolean;
  reason?: string;
  /** Multiply-accumulate count is not known here; weight elements give the layer's size. */
  weightElements?: number;
}

export interface QuantizeReport {
  form: string;
  weightLevels: number;
  layers: LayerDecision[];
  quantizedLayers: number;
  floatLayers: number;
  /** Weight elements now stored as int8, and those still float32, among the candidate layers. */
  int8WeightElements: number;
  floatWeightElements: number;
}

export interface QuantizedModel {
  model: ModelDef;
  report: QuantizeReport;
}

/** What needs a range for a static form: the inputs (and conv outputs) of the layers that will be quantized. */
export function rangeTensors(model: ModelDef, opts: Pick<QuantizeOptions, 'keepFloat'> = {}): string[] {
  const ed = new GraphEditor(model.graph);
  const out = new Set<string>();
  for (const n of model.graph.nodes) {
    const site = describe(ed, n, opts.keepFloat);
    if (!site.ok) continue;
    out.add(site.input);
    if (site.kind === 'conv') out.add(site.finalOutput);
  }
  return [...out];
}

type Site =
  | { ok: false; reason: string }
  | ({ ok: true; kind: 'linear'; weight: Float32Array; finalOutput: string; absorbed?: NodeDef } & Omit<LinearSite, 'output'>)
  | ({ ok: true; kind: 'conv'; weight: Float32Array; finalOutput: string } & Omit<ConvSite, 'output'>);

function intAttr(a: AttrValue | undefined, dflt: number): number {
  return a?.kind === 'int' ? a.value : dflt;
}
function floatAttr(a: AttrValue | undefined, dflt: number): number {
  return a?.kind === 'float' ? a.value : dflt;
}

/** [rows, cols] -> [cols, rows] */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c]!;
  return t;
}

/** A constant bias vector of length n (shape [n], [1,n] or a scalar broadcast), or undefined. */
function biasVector(ed: GraphEditor, name: string | undefined, n: number): Float32Array | undefined | null {
  if (!name) return undefined;
  const t = ed.initializers.get(name);
  const v = t ? floatValues(t) : undefined;
  if (!t || !v) return null;
  const count = v.length;
  if (count === n && t.dims.filter((d) => d !== 1).length <= 1 && t.dims[t.dims.length - 1] === n) return v;
  if (count === 1) return new Float32Array(n).fill(v[0]!);
  return null;
}

/** Classify one node: a site the rewrite can quantize, or why not. */
function describe(ed: GraphEditor, n: NodeDef, keepFloat?: (node: NodeDef) => string | undefined): Site {
  if (!QUANTIZABLE_OPS.includes(n.opType) || n.domain !== '') return { ok: false, reason: 'not a MatMul, Gemm or Conv' };
  const name = n.name || n.outputs[0]!;
  const wName = n.inputs[1];
  const wt = wName ? ed.initializers.get(wName) : undefined;
  if (!wt) return { ok: false, reason: 'weight is computed, not an initializer' };
  if (ed.initializers.has(n.inputs[0]!)) return { ok: false, reason: 'input is a constant' };
  const w = floatValues(wt);
  if (!w) return { ok: false, reason: `weight is not float32 data in the file` };
  const kept = keepFloat?.(n);
  if (kept) return { ok: false, reason: kept };
  const output = n.outputs[0]!;
  if (n.opType === 'MatMul') {
    if (wt.dims.length !== 2) return { ok: false, reason: `weight has rank ${wt.dims.length}, not 2` };
    const [k, nn] = wt.dims as [number, number];
    // A bias Add right after the MatMul is folded into the quantized layer.
    const users = ed.consumersOf(output);
    const add = users.length === 1 && users[0]!.opType === 'Add' && users[0]!.domain === '' && !ed.isGraphOutput(output) ? users[0]! : undefined;
    const other = add ? add.inputs.find((i) => i !== output) : undefined;
    const bias = add && other ? biasVector(ed, other, nn) : undefined;
    if (add && bias) return { ok: true, kind: 'linear', name, input: n.inputs[0]!, k, n: nn, bias, weight: w, finalOutput: add.outputs[0]!, absorbed: add };
    return { ok: true, kind: 'linear', name, input: n.inputs[0]!, k, n: nn, weight: w, finalOutput: output };
  }
  if (n.opType === 'Gemm') {
    if (wt.dims.length !== 2) return { ok: false, reason: `weight has rank ${wt.dims.length}, not 2` };
    if (intAttr(n.attributes.transA, 0)) return { ok: false, reason: 'transA=1 is not supported' };
    const transB = intAttr(n.attributes.transB, 0) === 1;
    const [k, nn] = (transB ? [wt.dims[1], wt.dims[0]] : wt.dims) as [number, number];
    const alpha = floatAttr(n.attributes.alpha, 1);
    const beta = floatAttr(n.attributes.beta, 1);
    let weight = transB ? transpose(w, nn, k) : w;
    if (alpha !== 1) weight = weight.map((x) => x * alpha);
    let bias = biasVector(ed, n.inputs[2], nn);
    if (bias === null) return { ok: false, reason: 'bias C is not a constant vector' };
    if (bias && beta !== 1) bias = bias.map((x) => x * beta);
    return { ok: true, kind: 'linear', name, input: n.inputs[0]!, k, n: nn, bias, weight, finalOutput: output };
  }
  // Conv
  if (wt.dims.length < 3) return { ok: false, reason: `weight has rank ${wt.dims.length}` };
  const bias = biasVector(ed, n.inputs[2], wt.dims[0]!);
  if (bias === null) return { ok: false, reason: 'bias is not a constant vector' };
  return { ok: true, kind: 'conv', name, input: n.inputs[0]!, weightDims: wt.dims, bias, attributes: n.attributes, weight: w, finalOutput: output };
}

export function quantizationForm(name: string): QuantForm {
  const form = QUANT_FORMS.get(name);
  if (!form) throw new ModelError('(quantize)', `unknown operator form "${name}" (known: ${[...QUANT_FORMS.keys()].join(', ')})`);
  return form;
}

/**
 * Quantize a model. Throws ModelError (exit 4) for a model the rewrite cannot handle: control-flow
 * subgraphs, external data not loaded, nothing to quantize, or a static form without the ranges it needs.
 */
export function quantizeModel(model: ModelDef, file: string, opts: QuantizeOptions = {}): QuantizedModel {
  const form = quantizationForm(opts.form ?? DEFAULT_FORM);
  const levels = opts.weightLevels ?? 127;
  if (!Number.isInteger(levels) || levels < 1 || levels > 127) throw new ModelError(file, `weight levels must be 1..127, got ${levels}`);
  const g = model.graph;
  const sub = g.nodes.find((n) => Object.values(n.attributes).some((a) => a.kind === 'other' && SUBGRAPH_ATTRIBUTE_TYPES.has(a.type)));
  if (sub) throw new ModelError(file, `node "${sub.name || sub.opType}" (${sub.opType}) holds a subgraph; models with control flow are not supported`);
  const ext = g.initializers.find((t) => t.external);
  if (ext) throw new ModelError(file, `initializer "${ext.name}" is external data that was not loaded`);
  const opset = model.opsets.find((o) => o.domain === '')?.version ?? 1;

  const ed = new GraphEditor(g);
  const layers: LayerDecision[] = [];
  const absorbed = new Set<NodeDef>();
  let int8Elements = 0;
  let floatElements = 0;
  for (const n of g.nodes) {
    if (absorbed.has(n)) continue;
    const site = QUANTIZABLE_OPS.includes(n.opType) ? describe(ed, n, opts.keepFloat) : undefined;
    if (!site) {
      ed.keep(n);
      continue;
    }
    const name = n.name || n.outputs[0]!;
    if (!site.ok) {
      const reason = site.reason;
      const elements = ed.initializers.get(n.inputs[1] ?? '')?.dims.reduce((a, b) => a * b, 1);
      if (elements && reason !== 'weight is computed, not an initializer') floatElements += elements;
      layers.push({ node: name, op: n.opType, quantized: false, reason, ...(elements ? { weightElements: elements } : {}) });
      ed.keep(n);
      continue;
    }
    const needs = form.minOpset[site.kind];
    if (opset < needs) throw new ModelError(file, `opset ${opset} is older than ${needs}, which the ${form.name} form needs for ${n.opType} (${name}); keep it in float or re-export at opset ${needs}`);
    const range = form.needsRanges ? opts.ranges?.get(site.input) : undefined;
    if (form.needsRanges && !range) throw new ModelError(file, `no calibrated range for "${site.input}", the input of ${name}`);
    if (site.kind === 'linear') {
      const q = quantizePerChannel(site.weight, site.k, site.n, 1, levels);
      form.linear(ed, { name, input: site.input, output: site.finalOutput, k: site.k, n: site.n, bias: site.bias }, q, range);
      if (site.absorbed) absorbed.add(site.absorbed);
    } else {
      const m = site.weightDims[0]!;
      const q = quantizePerChannel(site.weight, m, site.weight.length / m, 0, levels);
      const outRange = form.needsRanges ? opts.ranges?.get(site.finalOutput) : undefined;
      if (form.needsRanges && !outRange) throw new ModelError(file, `no calibrated range for "${site.finalOutput}", the output of ${name}`);
      form.conv(ed, { name, input: site.input, output: site.finalOutput, weightDims: site.weightDims, bias: site.bias, attributes: site.attributes }, q, range && outRange ? { input: range, output: outRange } : undefined);
    }
    int8Elements += site.weight.length;
    layers.push({ node: name, op: n.opType, quantized: true, weightElements: site.weight.length });
  }
  const quantizedLayers = layers.filter((l) => l.quantized).length;
  if (quantizedLayers === 0) {
    const why = layers.length ? `no layer can be quantized (${layers[0]!.node}: ${layers[0]!.reason})` : 'no MatMul, Gemm or Conv layer to quantize';
    throw new ModelError(file, why);
  }
  const opsets = [...model.opsets];
  for (const o of form.opsets) if (!opsets.some((x) => x.domain === o.domain)) opsets.push(o);
  const report: QuantizeReport = {
    form: form.name,
    weightLevels: levels,
    layers,
    quantizedLayers,
    floatLayers: layers.length - quantizedLayers,
    int8WeightElements: int8Elements,
    floatWeightElements: floatElements,
  };
  return { model: { ...model, opsets, graph: ed.finish(), metadata: { ...model.metadata, ...opts.metadata } }, report };
}
