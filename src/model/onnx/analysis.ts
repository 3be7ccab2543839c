// Static analysis of an ONNX graph: parameter count and FLOPs per sample, from shape inference with the
// batch dimension set to 1. FLOPs count 2 per multiply-accumulate of Conv, Gemm and MatMul, and of their
// integer forms (MatMulInteger, ConvInteger, QLinear*, the com.microsoft int8 MatMuls), counted apart so
// that a reader can set each against its own peak; other ops are memory-bound and are left out (they add
// about 1% for AstroMAE).
import { TensorType, type AttrValue, type GraphDef, type NodeDef, type TensorDef } from './schema.js';

type Shape = number[];

export interface GraphAnalysis {
  /** Elements of floating-point initializers, and of int8 ones (quantized weights). */
  parameters: number;
  /** 2 x multiply-accumulates of Conv/Gemm/MatMul for one sample; a lower bound when `unresolved` is non-empty. */
  flopsPerSample: number;
  /** FLOPs per sample by operator type. */
  flopsByOp: Record<string, number>;
  /** Of flopsPerSample, the multiply-accumulates done by integer (int8/uint8) kernels, x2. */
  int8FlopsPerSample: number;
  /** Nodes whose output shape could not be inferred (their cost, and that of what follows, is missing). */
  unresolved: string[];
  /** Operator types and how often each occurs. */
  opCounts: Record<string, number>;
}

const WEIGHT_TYPES = new Set<number>([TensorType.FLOAT, TensorType.DOUBLE, TensorType.FLOAT16, 16, TensorType.INT8]);

const SAME_SHAPE = new Set([
  'Relu', 'Erf', 'Asinh', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Gelu', 'Softmax', 'LogSoftmax', 'LayerNormalization',
  'BatchNormalization', 'Dropout', 'Identity', 'Clip', 'LeakyRelu', 'Elu', 'Selu', 'HardSigmoid', 'Softplus', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sign', 'InstanceNormalization', 'Not',
  'QuantizeLinear', 'DequantizeLinear',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Equal', 'Less', 'Greater', 'And', 'Or', 'Where', 'Mod', 'PRelu', 'Sum', 'Mean']);
/** Operators whose multiply-accumulates run on 8-bit integers. */
export const INTEGER_MAC_OPS: ReadonlySet<string> = new Set(['MatMulInteger', 'ConvInteger', 'QLinearMatMul', 'QLinearConv', 'DynamicQuantizeMatMul', 'MatMulIntegerToFloat', 'QGemm']);
/** Where the data and weight inputs of a matrix-multiply or convolution operator are. */
const MATMUL_INPUTS: Record<string, [number, number]> = { MatMul: [0, 1], MatMulInteger: [0, 1], DynamicQuantizeMatMul: [0, 1], MatMulIntegerToFloat: [0, 1], QLinearMatMul: [0, 3] };
const CONV_INPUTS: Record<string, [number, number]> = { Conv: [0, 1], ConvInteger: [0, 1], QLinearConv: [0, 3] };

function operands(ins: (Shape | undefined)[], at: [number, number]): [Shape | undefined, Shape | undefined] {
  return [ins[at[0]], ins[at[1]]];
}

const REDUCE = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL2', 'ReduceL1', 'ReduceSumSquare', 'ReduceLogSumExp']);

function numel(s: Shape): number {
  return s.reduce((a, b) => a * b, 1);
}

function broadcast(shapes: Shape[]): Shape | undefined {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) return undefined;
      d = v;
    }
    out.push(d);
  }
  return out;
}

function ints(a: AttrValue | undefined): number[] | undefined {
  return a?.kind === 'ints' ? a.value : undefined;
}
function int(a: AttrValue | undefined, dflt: number): number {
  return a?.kind === 'int' ? a.value : dflt;
}
function norm(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function tensorInts(t: TensorDef): number[] | undefined {
  if (t.dataType === TensorType.INT64 && t.raw.byteLength % 8 === 0) {
    const dv = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
    return Array.from({ length: t.raw.byteLength / 8 }, (_, i) => Number(dv.getBigInt64(i * 8, true)));
  }
  if (t.dataType === TensorType.INT32 && t.raw.byteLength % 4 === 0) {
    const dv = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
    return Array.from({ length: t.raw.byteLength / 4 }, (_, i) => dv.getInt32(i * 4, true));
  }
  return undefined;
}

/** Analyse a decoded graph; symbolic or unknown input dimensions are taken as 1 (one sample). */
export function analyseGraph(graph: GraphDef): GraphAnalysis {
  const shapes = new Map<string, Shape>();
  // Small integer tensors (shapes, indices) whose values are known statically.
  const values = new Map<string, number[]>();
  let parameters = 0;
  for (const t of graph.initializers) {
    shapes.set(t.name, t.dims);
    if (WEIGHT_TYPES.has(t.dataType)) parameters += numel(t.dims);
    const v = numel(t.dims) <= 64 ? tensorInts(t) : undefined;
    if (v) values.set(t.name, v);
  }
  for (const i of graph.inputs) {
    if (shapes.has(i.name)) continue;
    if (i.dims) shapes.set(i.name, i.dims.map((d) => (typeof d === 'number' && d > 0 ? d : 1)));
  }
  const batch = (() => {
    const first = graph.inputs.find((i) => !graph.initializers.some((t) => t.name === i.name));
    const d = first?.dims?.[0];
    return typeof d === 'number' && d > 0 ? d : 1;
  })();

  const flopsByOp: Record<string, number> = {};
  const opCounts: Record<string, number> = {};
  const unresolved: string[] = [];
  let flops = 0;
  const addFlops = (op: string, f: number): void => {
    flops += f;
    flopsByOp[op] = (flopsByOp[op] ?? 0) + f;
  };

  for (const n of graph.nodes) {
    opCounts[n.opType] = (opCounts[n.opType] ?? 0) + 1;
    const ins = n.inputs.map((i) => (i === '' ? undefined : shapes.get(i)));
    const outs = inferNode(n, ins, (k) => (n.inputs[k] ? values.get(n.inputs[k]!) : undefined), values, addFlops);
    if (!outs) {
      unresolved.push(`${n.name || n.opType} (${n.opType})`);
      continue;
    }
    outs.forEach((s, k) => {
      if (s && n.outputs[k]) shapes.set(n.outputs[k]!, s);
    });
  }
  const perSample = (f: number): number => f / batch;
  return {
    parameters,
    flopsPerSample: perSample(flops),
    flopsByOp: Object.fromEntries(Object.entries(flopsByOp).map(([k, v]) => [k, perSample(v)])),
    int8FlopsPerSample: perSample(Object.entries(flopsByOp).reduce((sum, [op, f]) => sum + (INTEGER_MAC_OPS.has(op) ? f : 0), 0)),
    unresolved,
    opCounts,
  };
}

function inferNode(
  n: NodeDef,
  ins: (Shape | undefined)[],
  valueOf: (k: number) => number[] | undefined,
  values: Map<string, number[]>,
  addFlops: (op: string, f: number) => void,
): (Shape | undefined)[] | undefined {
  const a = n.attributes;
  const x = ins[0];
  const setValue = (v: number[] | undefined): void => {
    if (v && n.outputs[0]) values.set(n.outputs[0], v);
  };
  switch (n.opType) {
    case 'Constant': {
      const t = a.value?.kind === 'tensor' ? a.value.value : undefined;
      if (!t) return undefined;
      setValue(tensorInts(t));
      return [t.dims];
    }
    case 'Conv':
    case 'ConvInteger':
    case 'QLinearConv': {
      const [x, w] = operands(ins, CONV_INPUTS[n.opType]!);
      if (!x || !w || x.length < 3) return undefined;
      const spatial = x.length - 2;
      const kernel = ints(a.kernel_shape) ?? w.slice(2);
      const strides = ints(a.strides) ?? Array(spatial).fill(1);
      const dil = ints(a.dilations) ?? Array(spatial).fill(1);
      const pads = ints(a.pads) ?? Array(2 * spatial).fill(0);
      const group = int(a.group, 1);
      const out: Shape = [x[0]!, w[0]!];
      for (let d = 0; d < spatial; d++) out.push(Math.floor((x[2 + d]! + pads[d]! + pads[d + spatial]! - dil[d]! * (kernel[d]! - 1) - 1) / strides[d]!) + 1);
      addFlops(n.opType, 2 * numel(out) * (x[1]! / group) * numel(kernel));
      return [out];
    }
    case 'MaxPool':
    case 'AveragePool': {
      if (!x) return undefined;
      const spatial = x.length - 2;
      const kernel = ints(a.kernel_shape) ?? [];
      const strides = ints(a.strides) ?? Array(spatial).fill(1);
      const pads = ints(a.pads) ?? Array(2 * spatial).fill(0);
      const round = int(a.ceil_mode, 0) ? Math.ceil : Math.floor;
      const out: Shape = [x[0]!, x[1]!];
      for (let d = 0; d < spatial; d++) out.push(round((x[2 + d]! + pads[d]! + pads[d + spatial]! - kernel[d]!) / strides[d]!) + 1);
      return [out];
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      return x ? [[x[0]!, x[1]!, ...x.slice(2).map(() => 1)]] : undefined;
    case 'Gemm': {
      const b = ins[1];
      if (!x || !b) return undefined;
      const [m, k] = int(a.transA, 0) ? [x[1]!, x[0]!] : [x[0]!, x[1]!];
      const nOut = int(a.transB, 0) ? b[0]! : b[1]!;
      addFlops('Gemm', 2 * m * k * nOut);
      return [[m, nOut]];
    }
    case 'MatMul':
    case 'MatMulInteger':
    case 'DynamicQuantizeMatMul':
    case 'MatMulIntegerToFloat':
    case 'QLinearMatMul': {
      const [x, b] = operands(ins, MATMUL_INPUTS[n.opType]!);
      if (!x || !b) return undefined;
      const xa = x.length === 1 ? [1, x[0]!] : x;
      const xb = b.length === 1 ? [b[0]!, 1] : b;
      const batchShape = broadcast([xa.slice(0, -2), xb.slice(0, -2)]);
      if (!batchShape) return undefined;
      const m = xa[xa.length - 2]!;
      const k = xa[xa.length - 1]!;
      const nn = xb[xb.length - 1]!;
      addFlops(n.opType, 2 * numel(batchShape) * m * k * nn);
      const out = [...batchShape, m, nn];
      if (x.length === 1) out.splice(out.length - 2, 1);
      if (b.length === 1) out.pop();
      return [out];
    }
    case 'Flatten': {
      if (!x) return undefined;
      const axis = norm(int(a.axis, 1), x.length);
      return [[numel(x.slice(0, axis)), numel(x.slice(axis))]];
    }
    case 'Reshape': {
      const target = valueOf(1);
      if (!x || !target) return undefined;
      const out = target.map((d, i) => (d === 0 && int(a.allowzero, 0) === 0 ? x[i]! : d));
      const known = out.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
      const ii = out.indexOf(-1);
      if (ii >= 0) out[ii] = known === 0 ? 0 : numel(x) / known;
      return [out];
    }
    case 'Transpose': {
      if (!x) return undefined;
      const perm = ints(a.perm) ?? x.map((_, i) => x.length - 1 - i);
      return [perm.map((p) => x[p]!)];
    }
    case 'Concat': {
      if (ins.some((s) => !s)) return undefined;
      const axis = norm(int(a.axis, 0), x!.length);
      const out = [...x!];
      out[axis] = ins.reduce((s, t) => s + t![axis]!, 0);
      const vs = n.inputs.map((_, k) => valueOf(k));
      if (vs.every((v) => v)) setValue(vs.flat() as number[]);
      return [out];
    }
    case 'Split': {
      if (!x) return undefined;
      const axis = norm(int(a.axis, 0), x.length);
      const sizes = valueOf(1) ?? ints(a.split) ?? Array(n.outputs.length).fill(x[axis]! / n.outputs.length);
      return sizes.map((s) => x.map((d, i) => (i === axis ? s : d)));
    }
    case 'Slice': {
      const starts = valueOf(1);
      const ends = valueOf(2);
      if (!x || !starts || !ends) return undefined;
      const axes = valueOf(3) ?? starts.map((_, i) => i);
      const steps = valueOf(4) ?? starts.map(() => 1);
      const out = [...x];
      axes.forEach((ax, i) => {
        const d = norm(ax, x.length);
        const dim = x[d]!;
        const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
        const s = clamp(starts[i]!);
        const e = clamp(ends[i]!);
        out[d] = Math.max(0, Math.ceil((e - s) / steps[i]!));
      });
      const v = valueOf(0);
      if (v && x.length === 1 && steps.every((s) => s === 1)) setValue(v.slice(Math.max(0, starts[0]! < 0 ? starts[0]! + v.length : starts[0]!), ends[0]! < 0 ? ends[0]! + v.length : Math.min(ends[0]!, v.length)));
      return [out];
    }
    case 'Shape': {
      if (!x) return undefined;
      const start = norm(int(a.start, 0), x.length);
      const endAttr = a.end?.kind === 'int' ? norm(a.end.value, x.length) : x.length;
      const v = x.slice(start, Math.min(endAttr, x.length));
      setValue(v);
      return [[v.length]];
    }
    case 'Gather': {
      const idx = ins[1];
      if (!x || !idx) return undefined;
      const axis = norm(int(a.axis, 0), x.length);
      const v = valueOf(0);
      const iv = valueOf(1);
      if (v && iv && x.length === 1) setValue(iv.map((i) => v[i < 0 ? i + v.length : i]!));
      return [[...x.slice(0, axis), ...idx, ...x.slice(axis + 1)]];
    }
    case 'Unsqueeze': {
      const axes = valueOf(1) ?? ints(a.axes);
      if (!x || !axes) return undefined;
      const rank = x.length + axes.length;
      const set = new Set(axes.map((ax) => norm(ax, rank)));
      const out: Shape = [];
      let j = 0;
      for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : x[j++]!);
      setValue(valueOf(0));
      return [out];
    }
    case 'Squeeze': {
      if (!x) return undefined;
      const axes = valueOf(1) ?? ints(a.axes);
      const set = new Set((axes ?? x.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((ax) => norm(ax, x.length)));
      setValue(valueOf(0));
      return [x.filter((_, i) => !set.has(i))];
    }
    case 'Expand': {
      const target = valueOf(1);
      if (!x || !target) return undefined;
      return [broadcast([x, target])];
    }
    case 'Cast':
      setValue(valueOf(0));
      return x ? [x] : undefined;
    case 'DynamicQuantizeLinear':
      return x ? [x, [], []] : undefined;
    default:
      break;
  }
  if (SAME_SHAPE.has(n.opType)) return x ? [x, ...n.outputs.slice(1).map(() => undefined)] : undefined;
  if (BROADCAST.has(n.opType)) {
    if (ins.some((s) => !s)) return undefined;
    const out = broadcast(ins as Shape[]);
    return out ? [out] : undefined;
  }
  if (REDUCE.has(n.opType)) {
    if (!x) return undefined;
    const axes = ints(a.axes) ?? valueOf(1) ?? x.map((_, i) => i);
    const keep = int(a.keepdims, 1);
    const set = new Set(axes.map((ax) => norm(ax, x.length)));
    return [keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i))];
  }
  return undefined;
}
