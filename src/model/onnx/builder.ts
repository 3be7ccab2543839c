// A small graph builder: unique names, initializers, constants and nodes; serializes the part of the graph
// that the requested outputs depend on, so one in-memory graph yields both the model and its probe sub-graphs.
import { encodeModel, TensorType, type AttrValue, type NodeDef, type TensorDef, type ValueInfoDef } from './schema.js';

export const OPSET = 17;
export const IR_VERSION = 8;

export const attr = {
  f: (value: number): AttrValue => ({ kind: 'float', value }),
  i: (value: number): AttrValue => ({ kind: 'int', value }),
  ints: (value: number[]): AttrValue => ({ kind: 'ints', value }),
  floats: (value: number[]): AttrValue => ({ kind: 'floats', value }),
  s: (value: string): AttrValue => ({ kind: 'string', value }),
};

function bytesOf(a: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export interface SerializeOptions {
  /** Graph outputs: tensor name, and its declared dims. */
  outputs: { name: string; dims: (number | string)[]; elemType?: number }[];
  producerName: string;
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
}

export class GraphBuilder {
  private readonly nodes: NodeDef[] = [];
  private readonly initializers = new Map<string, TensorDef>();
  private readonly inputs: ValueInfoDef[] = [];
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(readonly name: string) {}

  /** A fresh name starting with `hint`; names are unique across tensors and nodes. */
  fresh(hint: string): string {
    let name = hint;
    if (this.used.has(name)) {
      let k = this.counters.get(hint) ?? 1;
      while (this.used.has(`${hint}_${k}`)) k++;
      this.counters.set(hint, k + 1);
      name = `${hint}_${k}`;
    }
    this.used.add(name);
    return name;
  }

  input(name: string, dims: (number | string)[], elemType: number = TensorType.FLOAT): string {
    if (this.used.has(name)) throw new Error(`duplicate tensor name ${name}`);
    this.used.add(name);
    this.inputs.push({ name, elemType, dims });
    return name;
  }

  /** A named weight. The data is referenced, not copied, until serialization. */
  initializer(hint: string, data: Float32Array | BigInt64Array, dims: number[]): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new Error(`initializer ${hint}: ${data.length} values for shape [${dims.join(',')}]`);
    const name = this.fresh(hint);
    const dataType = data instanceof Float32Array ? TensorType.FLOAT : TensorType.INT64;
    this.initializers.set(name, { name, dims: [...dims], dataType, raw: bytesOf(data) });
    return name;
  }

  constFloat(hint: string, values: number[] | Float32Array, dims: number[] = [values.length]): string {
    return this.initializer(hint, Float32Array.from(values), dims);
  }

  constInt64(hint: string, values: number[], dims: number[] = [values.length]): string {
    return this.initializer(hint, BigInt64Array.from(values, (v) => BigInt(v)), dims);
  }

  /** Add a node; returns its output names (`outputs` is a count or explicit names). */
  nodeN(opType: string, inputs: string[], attributes: Record<string, AttrValue> = {}, outputs: number | string[] = 1, hint?: string): string[] {
    for (const i of inputs) if (i !== '' && !this.used.has(i)) throw new Error(`${opType}: unknown input tensor ${i}`);
    const name = this.fresh(`${hint ?? opType}`);
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, k) => this.fresh(outputs === 1 ? `${name}_out` : `${name}_out${k}`)) : outputs.map((o) => this.fresh(o));
    this.nodes.push({ opType, domain: '', name, inputs: [...inputs], outputs: outs, attributes });
    return outs;
  }

  /** Add a single-output node; returns the output name. */
  node(opType: string, inputs: string[], attributes: Record<string, AttrValue> = {}, hint?: string): string {
    return this.nodeN(opType, inputs, attributes, 1, hint)[0]!;
  }

  /** Replace the data of an existing initializer (same shape); used to refresh calibrated weights. */
  setInitializer(name: string, data: Float32Array): void {
    const t = this.initializers.get(name);
    if (!t || t.dataType !== TensorType.FLOAT || t.raw.byteLength !== data.byteLength) throw new Error(`cannot replace initializer ${name}`);
    t.raw = bytesOf(data);
  }

  /** Serialize the sub-graph that computes `outputs` from the inputs, as an ONNX model. */
  serialize(opts: SerializeOptions): Uint8Array {
    const producers = new Map<string, NodeDef>();
    for (const n of this.nodes) for (const o of n.outputs) producers.set(o, n);
    const needed = new Set<NodeDef>();
    const neededTensors = new Set<string>();
    const stack = opts.outputs.map((o) => o.name);
    while (stack.length) {
      const t = stack.pop()!;
      if (neededTensors.has(t)) continue;
      neededTensors.add(t);
      const p = producers.get(t);
      if (p && !needed.has(p)) {
        needed.add(p);
        for (const i of p.inputs) if (i !== '') stack.push(i);
      } else if (!p && !this.initializers.has(t) && !this.inputs.some((x) => x.name === t)) {
        throw new Error(`output ${t} is not produced by the graph`);
      }
    }
    return encodeModel({
      irVersion: IR_VERSION,
      opsets: [{ domain: '', version: OPSET }],
      producerName: opts.producerName,
      producerVersion: opts.producerVersion,
      docString: opts.docString,
      metadata: opts.metadata ?? {},
      graph: {
        name: this.name,
        // Keep construction order: it is already topological.
        nodes: this.nodes.filter((n) => needed.has(n)),
        initializers: [...this.initializers.values()].filter((t) => neededTensors.has(t.name)),
        inputs: this.inputs.filter((i) => neededTensors.has(i.name)),
        outputs: opts.outputs.map((o) => ({ name: o.name, elemType: o.elemType ?? TensorType.FLOAT, dims: o.dims })),
      },
    });
  }
}
