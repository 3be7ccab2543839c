// The operator forms an int8 layer can take in the graph, one registry entry each. A form turns one
// linear layer (y = x W + b, W [K,N]) or one convolution into integer operators that onnxruntime's CPU
// provider runs. `dynamic` and `static` are the defaults (without and with calibration data); the other
// two are the standard-operator alternatives they were measured against (docs/model.md, "int8").
import { attr } from '../onnx/builder.js';
import { TensorType, type AttrValue } from '../onnx/schema.js';
import { MS_DOMAIN, type GraphEditor } from './graph-edit.js';
import type { QuantizedWeights } from './weights.js';

/** A linear layer: y[..., N] = x[..., K] @ W[K,N] + bias. */
export interface LinearSite {
  name: string;
  input: string;
  output: string;
  k: number;
  n: number;
  bias?: Float32Array;
}

/** A convolution with a constant weight [M, C/group, kh, kw] and its original attributes. */
export interface ConvSite {
  name: string;
  input: string;
  output: string;
  weightDims: number[];
  bias?: Float32Array;
  attributes: Record<string, AttrValue>;
}

/** A calibrated activation range, for forms that quantize activations with fixed parameters. */
export interface ActivationRange {
  min: number;
  max: number;
}

export interface QuantForm {
  name: string;
  /** One line for --help and reports. */
  description: string;
  /** Static forms need the range of each quantized layer's input (and, for `conv`, output). */
  needsRanges: boolean;
  /** Opset imports the emitted operators need, beyond the model's own. */
  opsets: { domain: string; version: number }[];
  /** The default-domain opset the emitted operators need, for linear layers and for convolutions. */
  minOpset: { linear: number; conv: number };
  linear(ed: GraphEditor, site: LinearSite, w: QuantizedWeights, range?: ActivationRange): void;
  conv(ed: GraphEditor, site: ConvSite, w: QuantizedWeights, range?: { input: ActivationRange; output: ActivationRange }): void;
}

/** uint8 asymmetric parameters covering [min, max] and 0 (so that zero padding is exact). */
export function uint8Params(r: ActivationRange): { scale: number; zeroPoint: number } {
  const lo = Math.min(r.min, 0);
  const hi = Math.max(r.max, 0);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

function scalar(ed: GraphEditor, hint: string, v: number): string {
  return ed.constant(hint, Float32Array.of(v), []);
}

function biasAdd(ed: GraphEditor, site: { name: string; output: string; bias?: Float32Array }, y: string, dims: (n: number) => number[]): void {
  if (!site.bias) {
    ed.emit('Identity', [y], [site.output], {}, `${site.name}.out`);
    return;
  }
  ed.emit('Add', [y, ed.constant(`${site.name}.bias`, site.bias, dims(site.bias.length))], [site.output], {}, `${site.name}.bias_add`);
}

/** [M, 1, ..., 1]: a per-output-channel vector that broadcasts over a convolution's spatial axes. */
function channelDims(site: ConvSite): (m: number) => number[] {
  return (m) => [m, ...site.weightDims.slice(2).map(() => 1)];
}

/**
 * Dynamic quantization with standard operators: DynamicQuantizeLinear, then `op` (MatMulInteger or
 * ConvInteger) on the int8 weight, then the int32 result back to float: x_scale * w_scale, plus the bias.
 */
function dynamicInteger(ed: GraphEditor, site: { name: string; input: string; output: string; bias?: Float32Array }, op: string, w: QuantizedWeights, weightDims: number[], attributes: Record<string, AttrValue>, channelShape: (m: number) => number[]): void {
  const [xq, xs, xz] = ed.emit('DynamicQuantizeLinear', [site.input], [ed.fresh(`${site.name}.x_q`), ed.fresh(`${site.name}.x_scale`), ed.fresh(`${site.name}.x_zero`)], {}, `${site.name}.quantize`) as [string, string, string];
  const [acc] = ed.emit(op, [xq, ed.constant(`${site.name}.weight_int8`, w.values, weightDims), xz], [ed.fresh(`${site.name}.acc`)], attributes, `${site.name}.${op}`);
  const [f] = ed.emit('Cast', [acc!], [ed.fresh(`${site.name}.acc_f`)], { to: attr.i(TensorType.FLOAT) }, `${site.name}.cast`);
  const [s] = ed.emit('Mul', [xs, ed.constant(`${site.name}.weight_scale`, w.scales, channelShape(w.scales.length))], [ed.fresh(`${site.name}.scale`)], {}, `${site.name}.scale`);
  const [y] = ed.emit('Mul', [f!, s!], [ed.fresh(`${site.name}.y`)], {}, `${site.name}.rescale`);
  biasAdd(ed, site, y!, channelShape);
}

function convInteger(ed: GraphEditor, site: ConvSite, w: QuantizedWeights): void {
  dynamicInteger(ed, site, 'ConvInteger', w, site.weightDims, site.attributes, channelDims(site));
}

/** Static convolution as QDQ around a float Conv: onnxruntime fuses it into QLinearConv. */
function convQdq(ed: GraphEditor, site: ConvSite, w: QuantizedWeights, range: { input: ActivationRange; output: ActivationRange }): void {
  const x = qdq(ed, site.name, 'x', site.input, range.input);
  const [wf] = ed.emit('DequantizeLinear', [ed.constant(`${site.name}.weight_int8`, w.values, site.weightDims), ed.constant(`${site.name}.weight_scale`, w.scales, [site.weightDims[0]!])], [ed.fresh(`${site.name}.weight_dq`)], { axis: attr.i(0) }, `${site.name}.weight_dq`);
  const inputs = [x, wf!];
  if (site.bias) inputs.push(ed.constant(`${site.name}.bias`, site.bias, [site.bias.length]));
  const [y] = ed.emit('Conv', inputs, [ed.fresh(`${site.name}.y`)], site.attributes, `${site.name}.conv`);
  const yq = qdq(ed, site.name, 'y', y!, range.output);
  ed.emit('Identity', [yq], [site.output], {}, `${site.name}.out`);
}

/** Dynamic: the com.microsoft fused kernel that quantizes x per call and multiplies in one pass. */
const dynamicFused: QuantForm = {
  name: 'dynamic',
  description: 'DynamicQuantizeMatMul (com.microsoft): activations quantized per call, uint8 x int8, bias fused',
  needsRanges: false,
  opsets: [{ domain: MS_DOMAIN, version: 1 }],
  minOpset: { linear: 1, conv: 11 },
  linear(ed, site, w) {
    const inputs = [site.input, ed.constant(`${site.name}.weight_int8`, w.values, [site.k, site.n]), ed.constant(`${site.name}.weight_scale`, w.scales, [site.n])];
    if (site.bias) inputs.push('', ed.constant(`${site.name}.bias`, site.bias, [site.n]));
    ed.emit('DynamicQuantizeMatMul', inputs, [site.output], {}, `${site.name}.int8`, MS_DOMAIN);
  },
  conv: convInteger,
};

/** Dynamic with standard operators only: DynamicQuantizeLinear + MatMulInteger + rescale. */
const dynamicStandard: QuantForm = {
  name: 'dynamic-standard',
  description: 'DynamicQuantizeLinear + MatMulInteger/ConvInteger + Cast + Mul (+ Add), standard ONNX operators only',
  needsRanges: false,
  opsets: [],
  minOpset: { linear: 11, conv: 11 },
  linear(ed, site, w) {
    dynamicInteger(ed, site, 'MatMulInteger', w, [site.k, site.n], {}, (n) => [n]);
  },
  conv: convInteger,
};

/** Static: fixed uint8 parameters from calibration, then the com.microsoft integer MatMul with float output. */
const staticFused: QuantForm = {
  name: 'static',
  description: 'QuantizeLinear (calibrated scale) + MatMulIntegerToFloat (com.microsoft), bias fused',
  needsRanges: true,
  opsets: [{ domain: MS_DOMAIN, version: 1 }],
  minOpset: { linear: 10, conv: 13 },
  linear(ed, site, w, range) {
    const p = uint8Params(range!);
    const xs = scalar(ed, `${site.name}.x_scale`, p.scale);
    const xz = ed.constant(`${site.name}.x_zero`, Uint8Array.of(p.zeroPoint), []);
    const [xq] = ed.emit('QuantizeLinear', [site.input, xs, xz], [ed.fresh(`${site.name}.x_q`)], {}, `${site.name}.quantize`);
    const inputs = [xq!, ed.constant(`${site.name}.weight_int8`, w.values, [site.k, site.n]), xs, ed.constant(`${site.name}.weight_scale`, w.scales, [site.n]), xz, ''];
    if (site.bias) inputs.push(ed.constant(`${site.name}.bias`, site.bias, [site.n]));
    else inputs.pop();
    ed.emit('MatMulIntegerToFloat', inputs, [site.output], {}, `${site.name}.int8`, MS_DOMAIN);
  },
  conv: (ed, site, w, range) => convQdq(ed, site, w, range!),
};

/**
 * Static QDQ: QuantizeLinear/DequantizeLinear pairs around float operators, which onnxruntime's graph
 * optimizer turns into integer kernels (MatMulIntegerToFloat, QLinearConv) when it recognises them.
 */
const staticQdq: QuantForm = {
  name: 'qdq',
  description: 'QuantizeLinear/DequantizeLinear pairs (calibrated), fused by onnxruntime into integer kernels',
  needsRanges: true,
  opsets: [],
  minOpset: { linear: 13, conv: 13 },
  linear(ed, site, w, range) {
    const x = qdq(ed, site.name, 'x', site.input, range!);
    const [wf] = ed.emit('DequantizeLinear', [ed.constant(`${site.name}.weight_int8`, w.values, [site.k, site.n]), ed.constant(`${site.name}.weight_scale`, w.scales, [site.n])], [ed.fresh(`${site.name}.weight_dq`)], { axis: attr.i(1) }, `${site.name}.weight_dq`);
    const [y] = ed.emit('MatMul', [x, wf!], [ed.fresh(`${site.name}.y`)], {}, `${site.name}.matmul`);
    biasAdd(ed, site, y!, (n) => [n]);
  },
  conv: (ed, site, w, range) => convQdq(ed, site, w, range!),
};

function qdq(ed: GraphEditor, name: string, what: string, tensor: string, r: ActivationRange): string {
  const p = uint8Params(r);
  const s = scalar(ed, `${name}.${what}_scale`, p.scale);
  const z = ed.constant(`${name}.${what}_zero`, Uint8Array.of(p.zeroPoint), []);
  const [q] = ed.emit('QuantizeLinear', [tensor, s, z], [ed.fresh(`${name}.${what}_q`)], {}, `${name}.${what}_quantize`);
  const [d] = ed.emit('DequantizeLinear', [q!, s, z], [ed.fresh(`${name}.${what}_dq`)], {}, `${name}.${what}_dequantize`);
  return d!;
}

export const QUANT_FORMS: ReadonlyMap<string, QuantForm> = new Map([dynamicFused, dynamicStandard, staticFused, staticQdq].map((f) => [f.name, f]));
