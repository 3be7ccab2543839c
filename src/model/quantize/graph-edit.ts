// A rewriting view of a decoded ONNX graph: initializers by name, consumers of each tensor, fresh names
// that collide with nothing in the file, and node emission in place, so a rewrite keeps the graph's
// topological order and touches only the nodes it replaces.
import { TensorType, type AttrValue, type GraphDef, type NodeDef, type TensorDef } from '../onnx/schema.js';

export const MS_DOMAIN = 'com.microsoft';

export function bytesOf(a: Float32Array | Int8Array | Uint8Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The float32 values of an initializer (a copy, aligned), or undefined when it is not float32 data held in the file. */
export function floatValues(t: TensorDef): Float32Array | undefined {
  if (t.dataType !== TensorType.FLOAT || t.external) return undefined;
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.raw.byteLength !== count * 4) return undefined;
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(t.raw);
  return out;
}

export class GraphEditor {
  readonly initializers = new Map<string, TensorDef>();
  private readonly consumers = new Map<string, NodeDef[]>();
  private readonly names = new Set<string>();
  private readonly out: NodeDef[] = [];
  private readonly added: TensorDef[] = [];

  constructor(readonly graph: GraphDef) {
    for (const t of graph.initializers) {
      this.initializers.set(t.name, t);
      this.names.add(t.name);
    }
    for (const v of [...graph.inputs, ...graph.outputs]) this.names.add(v.name);
    for (const n of graph.nodes) {
      this.names.add(n.name);
      for (const o of n.outputs) this.names.add(o);
      for (const i of n.inputs) {
        this.names.add(i);
        if (i === '') continue;
        let list = this.consumers.get(i);
        if (!list) this.consumers.set(i, (list = []));
        list.push(n);
      }
    }
  }

  /** A name used nowhere in the graph yet, starting with `hint`. */
  fresh(hint: string): string {
    let name = hint;
    for (let k = 1; this.names.has(name); k++) name = `${hint}_${k}`;
    this.names.add(name);
    return name;
  }

  consumersOf(tensor: string): readonly NodeDef[] {
    return this.consumers.get(tensor) ?? [];
  }

  isGraphOutput(tensor: string): boolean {
    return this.graph.outputs.some((o) => o.name === tensor);
  }

  /** A new initializer; returns its name. */
  constant(hint: string, data: Float32Array | Int8Array | Uint8Array, dims: number[]): string {
    const name = this.fresh(hint);
    const dataType = data instanceof Float32Array ? TensorType.FLOAT : data instanceof Int8Array ? TensorType.INT8 : TensorType.UINT8;
    const t: TensorDef = { name, dims, dataType, raw: bytesOf(data) };
    this.added.push(t);
    this.initializers.set(name, t);
    return name;
  }

  /** Emit a node at the current position of the rewrite; returns its outputs. */
  emit(opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttrValue> = {}, name?: string, domain = ''): string[] {
    this.out.push({ opType, domain, name: this.fresh(name ?? opType), inputs, outputs, attributes });
    return outputs;
  }

  /** Keep an original node unchanged at the current position. */
  keep(n: NodeDef): void {
    this.out.push(n);
  }

  /**
   * The rewritten graph: emitted nodes in order, new initializers added, and initializers (and the graph
   * inputs that merely declared them) dropped when no node reads them any more.
   */
  finish(): GraphDef {
    const read = new Set<string>();
    for (const n of this.out) for (const i of n.inputs) read.add(i);
    for (const o of this.graph.outputs) read.add(o.name);
    const removed = new Set<string>();
    const initializers = [...this.graph.initializers, ...this.added].filter((t) => {
      if (read.has(t.name)) return true;
      removed.add(t.name);
      return false;
    });
    return { ...this.graph, nodes: this.out, initializers, inputs: this.graph.inputs.filter((i) => !removed.has(i.name)) };
  }
}
