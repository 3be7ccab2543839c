// Small hand-encoded ONNX models with a closed-form output, so tests can check every prediction exactly:
//   redshift = mean(image over bands and pixels) + magScale * mean(magnitude)     shape [N,1]
// Options bend the interface (names, shapes) to exercise the engine's model checks.
import { randomBytes } from 'node:crypto';

// --- a minimal protobuf writer (only what ModelProto needs) ---
type Field = Uint8Array;
function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}
const cat = (parts: (Uint8Array | number[])[]): Uint8Array => {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const int = (field: number, v: number | bigint): Field => Uint8Array.from([...varint(field << 3), ...varint(v)]);
const bytes = (field: number, b: Uint8Array): Field => cat([varint((field << 3) | 2), varint(b.length), b]);
const str = (field: number, s: string): Field => bytes(field, new TextEncoder().encode(s));
const msg = (field: number, ...fields: Field[]): Field => bytes(field, cat(fields));
const f32 = (field: number, v: number): Field => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  return cat([varint((field << 3) | 5), b]);
};

const FLOAT = 1;
type Dim = number | string;
function valueInfo(field: number, name: string, shape: Dim[]): Field {
  const dims = shape.map((d) => (typeof d === 'number' ? msg(1, int(1, d)) : msg(1, str(2, d))));
  return msg(field, str(1, name), msg(2, msg(1, int(1, FLOAT), msg(2, ...dims))));
}
function node(op: string, inputs: string[], outputs: string[], attrs: Field[] = []): Field {
  return msg(1, ...inputs.map((i) => str(1, i)), ...outputs.map((o) => str(2, o)), str(4, op), ...attrs);
}
const attrInts = (name: string, values: number[]): Field => msg(5, str(1, name), ...values.map((v) => int(8, v)), int(20, 7));
const attrInt = (name: string, value: number): Field => msg(5, str(1, name), int(3, value), int(20, 2));
function scalarInitializer(name: string, value: number): Field {
  return msg(5, int(2, FLOAT), str(8, name), f32(4, value));
}

export interface FixtureOptions {
  imageName?: string;
  magnitudeName?: string;
  outputName?: string;
  imageShape?: Dim[];
  magnitudeShape?: Dim[];
  outputShape?: Dim[];
  magScale?: number;
  /** Leave out the magnitude input altogether. */
  noMagnitude?: boolean;
}

/** An ONNX model (opset 13) computing the closed form above. */
export function fixtureModel(o: FixtureOptions = {}): Uint8Array {
  const img = o.imageName ?? 'image';
  const mag = o.magnitudeName ?? 'magnitude';
  const out = o.outputName ?? 'redshift';
  const nodes: Field[] = [
    node('ReduceMean', [img], ['img_mean4'], [attrInts('axes', [1, 2, 3]), attrInt('keepdims', 1)]),
    node('Flatten', ['img_mean4'], ['img_mean'], [attrInt('axis', 1)]),
  ];
  const inputs = [valueInfo(11, img, o.imageShape ?? ['N', 5, 32, 32])];
  const inits = [scalarInitializer('mag_scale', o.magScale ?? 0.01)];
  if (o.noMagnitude) {
    nodes.push(node('Identity', ['img_mean'], [out]));
  } else {
    inputs.push(valueInfo(11, mag, o.magnitudeShape ?? ['N', 5]));
    nodes.push(node('ReduceMean', [mag], ['mag_mean'], [attrInts('axes', [1]), attrInt('keepdims', 1)]));
    nodes.push(node('Mul', ['mag_mean', 'mag_scale'], ['mag_term']));
    nodes.push(node('Add', ['img_mean', 'mag_term'], [out]));
  }
  const graph = msg(7, ...nodes, str(2, 'fixture'), ...inits, ...inputs, valueInfo(12, out, o.outputShape ?? ['N', 1]));
  return cat([int(1, 8), str(2, 'cai-test'), graph, msg(8, str(1, ''), int(2, 13))]);
}

/** What fixtureModel predicts for sample i, computed in float64. */
export function fixtureExpected(image: Float32Array, magnitude: Float32Array, i: number, magScale = 0.01): number {
  let s = 0;
  for (let k = i * 5120; k < (i + 1) * 5120; k++) s += image[k]!;
  let m = 0;
  for (let k = i * 5; k < (i + 1) * 5; k++) m += magnitude[k]!;
  return s / 5120 + (magScale * m) / 5;
}

/** Bytes that are not an ONNX model. */
export function notAModel(): Uint8Array {
  return randomBytes(300);
}
