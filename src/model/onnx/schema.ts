// The subset of onnx.proto this project writes and reads: ModelProto, GraphProto, NodeProto, AttributeProto,
// TensorProto, ValueInfoProto/TypeProto with symbolic dimensions, metadata_props. Fields the project does
// not interpret (value_info, doc strings, functions, subgraph attributes, ...) are kept as their encoded
// bytes and written back unchanged, so a foreign model survives decode + encode. Field numbers follow
// onnx/onnx.proto3.
import { ProtoDecodeError, ProtoReader, ProtoWriter, readFloat32, readString, readVarints, toInt64, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, type ProtoField } from './protobuf.js';

/** Protobuf caps a message at 2 GiB, so no ONNX file (model plus inline weights) is larger. */
export const MAX_MODEL_BYTES = 2 ** 31;

export const TensorType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
export const TENSOR_TYPE_NAME: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};
const ELEMENT_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

/** Bytes per element of a numeric tensor type; undefined for strings and types this project does not read. */
export function elementBytes(dataType: number): number | undefined {
  return ELEMENT_BYTES[dataType];
}

const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export interface TensorDef {
  name: string;
  dims: number[];
  dataType: number;
  /** Little-endian element bytes (whichever typed field the file used is converted to this). */
  raw: Uint8Array;
  /** Set when the data lives in another file (`data_location: EXTERNAL`); `raw` is then empty. */
  external?: ExternalDataRef;
  /** Fields kept as encoded (doc_string, string_data, ...). */
  extra?: Uint8Array[];
}

/** TensorProto.external_data: where the bytes are, relative to the model's directory. */
export interface ExternalDataRef {
  location: string;
  offset: number;
  /** Absent: to the end of the file. */
  length?: number;
  /** Every key as given (location, offset, length, checksum, ...), to write the reference back unchanged. */
  entries: [string, string][];
}

export type AttrValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: TensorDef }
  /** Graphs, tensor lists, type protos, ...: `raw` is the AttributeProto as encoded, written back as is. */
  | { kind: 'other'; type: number; raw?: Uint8Array };

/** AttributeProto.type values for subgraphs (If/Loop/Scan bodies). */
export const SUBGRAPH_ATTRIBUTE_TYPES: ReadonlySet<number> = new Set([5, 10]);

export interface NodeDef {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttrValue>;
  /** Fields kept as encoded (doc_string, ...). */
  extra?: Uint8Array[];
}

export interface ValueInfoDef {
  name: string;
  elemType: number;
  /** A number for a fixed dimension, a string for a symbolic one (e.g. 'N'); undefined when unknown. */
  dims: (number | string | undefined)[] | undefined;
}

export interface GraphDef {
  name: string;
  nodes: NodeDef[];
  initializers: TensorDef[];
  inputs: ValueInfoDef[];
  outputs: ValueInfoDef[];
  /** Fields kept as encoded (value_info, doc_string, sparse_initializer, quantization_annotation, ...). */
  extra?: Uint8Array[];
}

export interface ModelDef {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: GraphDef;
  metadata: Record<string, string>;
  /** Fields kept as encoded (functions, training_info, domain, model_version, ...). */
  extra?: Uint8Array[];
}

// ---------------------------------------------------------------- encoding

function writeExtra(w: ProtoWriter, extra: Uint8Array[] | undefined): void {
  for (const e of extra ?? []) w.rawField(e);
}

function encodeTensor(t: TensorDef): ProtoWriter {
  const w = new ProtoWriter();
  if (t.dims.length) w.packedVarints(1, t.dims);
  w.varint(2, t.dataType);
  w.string(8, t.name);
  // raw_data is written unless the data is elsewhere: present-but-empty would mean "no elements".
  if (t.raw.byteLength > 0 || (!t.external && !t.extra?.length)) w.bytes(9, t.raw);
  if (t.external) {
    for (const [key, value] of t.external.entries) w.message(13, new ProtoWriter().string(1, key).string(2, value));
    w.varint(14, 1);
  }
  writeExtra(w, t.extra);
  return w;
}

function encodeAttribute(name: string, a: AttrValue): ProtoWriter {
  if (a.kind === 'other' && a.raw) return new ProtoWriter().rawField(a.raw);
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value).varint(20, AttrType.FLOAT);
      break;
    case 'int':
      w.varint(3, a.value).varint(20, AttrType.INT);
      break;
    case 'string':
      w.string(4, a.value).varint(20, AttrType.STRING);
      break;
    case 'tensor':
      w.message(5, encodeTensor(a.value)).varint(20, AttrType.TENSOR);
      break;
    case 'floats':
      w.packedFloats(7, a.value).varint(20, AttrType.FLOATS);
      break;
    case 'ints':
      w.packedVarints(8, a.value).varint(20, AttrType.INTS);
      break;
    default:
      throw new Error(`cannot encode attribute ${name} of kind ${a.kind}`);
  }
  return w;
}

function encodeNode(n: NodeDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes)) w.message(5, encodeAttribute(k, v));
  if (n.domain) w.string(7, n.domain);
  writeExtra(w, n.extra);
  return w;
}

function encodeValueInfo(v: ValueInfoDef): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims ?? []) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.varint(1, d);
    else if (typeof d === 'string') dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().varint(1, v.elemType);
  if (v.dims) tensorType.message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

function encodeGraph(g: GraphDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensor(t));
  for (const i of g.inputs) w.message(11, encodeValueInfo(i));
  for (const o of g.outputs) w.message(12, encodeValueInfo(o));
  writeExtra(w, g.extra);
  return w;
}

export function encodeModel(m: ModelDef): Uint8Array {
  const w = new ProtoWriter();
  w.varint(1, m.irVersion);
  w.string(2, m.producerName);
  w.string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, encodeGraph(m.graph));
  for (const o of m.opsets) {
    const op = new ProtoWriter();
    if (o.domain) op.string(1, o.domain);
    op.varint(2, o.version);
    w.message(8, op);
  }
  for (const [key, value] of Object.entries(m.metadata)) w.message(14, new ProtoWriter().string(1, key).string(2, value));
  writeExtra(w, m.extra);
  return w.finish();
}

// ---------------------------------------------------------------- decoding

function fieldsOf(f: ProtoField): Generator<ProtoField> {
  if (f.wire !== WIRE_LEN) throw new ProtoDecodeError(`field ${f.field}: expected a nested message`);
  return new ProtoReader(f.data!).fields();
}

function num(v: bigint, what: string): number {
  const n = Number(toInt64(v));
  if (!Number.isSafeInteger(n)) throw new ProtoDecodeError(`${what} ${v} is out of range`);
  return n;
}

/** The key/value pairs of a repeated StringStringEntryProto field. */
function readEntry(f: ProtoField): [string, string] {
  let key = '';
  let value = '';
  for (const y of fieldsOf(f)) {
    if (y.field === 1) key = readString(y);
    else if (y.field === 2) value = readString(y);
  }
  return [key, value];
}

function externalRef(entries: [string, string][], tensor: string): ExternalDataRef {
  const get = (k: string): string | undefined => entries.find(([key]) => key === k)?.[1];
  const location = get('location');
  if (!location) throw new ProtoDecodeError(`tensor ${tensor}: external data without a location`);
  const int = (k: string): number | undefined => {
    const v = get(k);
    if (v === undefined) return undefined;
    if (!/^\d{1,15}$/.test(v)) throw new ProtoDecodeError(`tensor ${tensor}: external data ${k} "${v.slice(0, 40)}" is not a byte count`);
    return Number(v);
  };
  return { location, offset: int('offset') ?? 0, length: int('length'), entries };
}

/** The values of a repeated float (4) or double (8) field, packed (one LEN field) or not (one fixed field per value). */
function readFixed(x: ProtoField, width: 4 | 8, what: string, into: number[]): void {
  const fixedWire = width === 4 ? WIRE_FIXED32 : WIRE_FIXED64;
  if (x.wire !== WIRE_LEN && x.wire !== fixedWire) throw new ProtoDecodeError(`${what}: expected ${width === 4 ? 'floats' : 'doubles'}`);
  const d = x.data!;
  if (d.length % width) throw new ProtoDecodeError(`${what} length is not a multiple of ${width}`);
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  for (let i = 0; i < d.length; i += width) into.push(width === 4 ? dv.getFloat32(i, true) : dv.getFloat64(i, true));
}

/** Little-endian bytes of the values of a typed repeated field (int32_data, int64_data, double_data, uint64_data). */
function typedRaw(dataType: number, values: readonly bigint[] | readonly number[], tensor: string): Uint8Array {
  const size = ELEMENT_BYTES[dataType];
  if (size === undefined) throw new ProtoDecodeError(`tensor ${tensor}: typed data for element type ${dataType} is not supported`);
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    const at = i * size;
    if (dataType === TensorType.FLOAT) dv.setFloat32(at, Number(v), true);
    else if (dataType === TensorType.DOUBLE) dv.setFloat64(at, Number(v), true);
    else if (size === 8) dv.setBigUint64(at, BigInt.asUintN(64, BigInt(v)), true);
    else if (size === 4) dv.setUint32(at, Number(BigInt.asUintN(32, BigInt(v))), true);
    else if (size === 2) dv.setUint16(at, Number(BigInt.asUintN(16, BigInt(v))), true);
    else dv.setUint8(at, Number(BigInt.asUintN(8, BigInt(v))));
  });
  return out;
}

function decodeTensor(f: ProtoField): TensorDef {
  const t: TensorDef = { name: '', dims: [], dataType: 0, raw: new Uint8Array(0) };
  const floats: number[] = [];
  const doubles: number[] = [];
  const ints: bigint[] = [];
  const entries: [string, string][] = [];
  const extra: Uint8Array[] = [];
  let external = false;
  for (const x of fieldsOf(f)) {
    switch (x.field) {
      case 1:
        for (const d of readVarints(x)) t.dims.push(num(d, 'tensor dimension'));
        break;
      case 2:
        t.dataType = Number(x.int ?? 0n);
        break;
      case 4: // float_data
        readFixed(x, 4, 'float_data', floats);
        break;
      case 10: // double_data
        readFixed(x, 8, 'double_data', doubles);
        break;
      case 5: // int32_data (also carries int8/uint8/int16/uint16/bool/float16 values)
      case 7: // int64_data
      case 11: // uint64_data (uint32, uint64)
        for (const v of readVarints(x)) ints.push(x.field === 11 ? BigInt.asUintN(64, v) : v);
        break;
      case 8:
        t.name = readString(x);
        break;
      case 9:
        t.raw = x.data!;
        break;
      case 13:
        entries.push(readEntry(x));
        break;
      case 14:
        external = x.int === 1n;
        break;
      default:
        extra.push(x.raw);
    }
  }
  if (extra.length) t.extra = extra;
  if (t.dims.some((d) => d < 0)) throw new ProtoDecodeError(`tensor ${t.name} has a negative dimension`);
  if (external) {
    t.external = externalRef(entries, t.name);
    return t; // data lives in another file; only its shape is known here
  }
  if (t.raw.byteLength === 0) {
    if (floats.length) t.raw = typedRaw(TensorType.FLOAT, floats, t.name);
    else if (doubles.length) t.raw = typedRaw(TensorType.DOUBLE, doubles, t.name);
    else if (ints.length) t.raw = typedRaw(t.dataType, ints, t.name);
  }
  const count = t.dims.reduce((a, b) => a * b, 1);
  const size = ELEMENT_BYTES[t.dataType];
  if (size !== undefined && t.raw.byteLength !== 0 && t.raw.byteLength !== count * size)
    throw new ProtoDecodeError(`tensor ${t.name} holds ${t.raw.byteLength} bytes but its shape needs ${count * size}`);
  return t;
}

function decodeAttribute(f: ProtoField): [string, AttrValue] {
  let name = '';
  let type = 0;
  let fv: number | undefined;
  let iv: number | undefined;
  let sv: string | undefined;
  let tv: TensorDef | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  for (const x of fieldsOf(f)) {
    switch (x.field) {
      case 1:
        name = readString(x);
        break;
      case 20:
        type = Number(x.int ?? 0n);
        break;
      case 2:
        fv = readFloat32(x);
        break;
      case 3:
        iv = num(x.int ?? 0n, 'attribute value');
        break;
      case 4:
        sv = readString(x);
        break;
      case 5:
        tv = decodeTensor(x);
        break;
      case 7:
        if (x.wire === WIRE_LEN) {
          const d = x.data!;
          const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
          for (let i = 0; i + 4 <= d.length; i += 4) floats.push(dv.getFloat32(i, true));
        } else floats.push(readFloat32(x));
        break;
      case 8:
        for (const v of readVarints(x)) ints.push(num(v, 'attribute value'));
        break;
    }
  }
  // Writers before IR 3 could leave the type out; it follows from the field that is set.
  if (type === 0) type = fv !== undefined ? AttrType.FLOAT : iv !== undefined ? AttrType.INT : sv !== undefined ? AttrType.STRING : tv ? AttrType.TENSOR : floats.length ? AttrType.FLOATS : ints.length ? AttrType.INTS : 0;
  switch (type) {
    case AttrType.FLOAT:
      return [name, { kind: 'float', value: fv ?? 0 }];
    case AttrType.INT:
      return [name, { kind: 'int', value: iv ?? 0 }];
    case AttrType.STRING:
      return [name, { kind: 'string', value: sv ?? '' }];
    case AttrType.TENSOR:
      return [name, tv ? { kind: 'tensor', value: tv } : { kind: 'other', type, raw: f.data! }];
    case AttrType.FLOATS:
      return [name, { kind: 'floats', value: floats }];
    case AttrType.INTS:
      return [name, { kind: 'ints', value: ints }];
    default:
      return [name, { kind: 'other', type, raw: f.data! }];
  }
}

function decodeNode(f: ProtoField): NodeDef {
  const n: NodeDef = { opType: '', domain: '', name: '', inputs: [], outputs: [], attributes: {} };
  for (const x of fieldsOf(f)) {
    switch (x.field) {
      case 1:
        n.inputs.push(readString(x));
        break;
      case 2:
        n.outputs.push(readString(x));
        break;
      case 3:
        n.name = readString(x);
        break;
      case 4:
        n.opType = readString(x);
        break;
      case 5: {
        const [k, v] = decodeAttribute(x);
        n.attributes[k] = v;
        break;
      }
      case 7:
        n.domain = readString(x);
        break;
      default:
        (n.extra ??= []).push(x.raw);
    }
  }
  return n;
}

function decodeValueInfo(f: ProtoField): ValueInfoDef {
  const v: ValueInfoDef = { name: '', elemType: 0, dims: undefined };
  for (const x of fieldsOf(f)) {
    if (x.field === 1) v.name = readString(x);
    else if (x.field === 2) {
      for (const t of fieldsOf(x)) {
        if (t.field !== 1) continue; // only tensor types are described
        for (const tt of fieldsOf(t)) {
          if (tt.field === 1) v.elemType = Number(tt.int ?? 0n);
          else if (tt.field === 2) {
            v.dims = [];
            for (const d of fieldsOf(tt)) {
              if (d.field !== 1) continue;
              let dim: number | string | undefined;
              for (const dd of fieldsOf(d)) {
                if (dd.field === 1) dim = num(dd.int ?? 0n, 'dimension');
                else if (dd.field === 2) dim = readString(dd);
              }
              v.dims.push(dim);
            }
          }
        }
      }
    }
  }
  return v;
}

function decodeGraph(f: ProtoField): GraphDef {
  const g: GraphDef = { name: '', nodes: [], initializers: [], inputs: [], outputs: [] };
  for (const x of fieldsOf(f)) {
    switch (x.field) {
      case 1:
        g.nodes.push(decodeNode(x));
        break;
      case 2:
        g.name = readString(x);
        break;
      case 5:
        g.initializers.push(decodeTensor(x));
        break;
      case 11:
        g.inputs.push(decodeValueInfo(x));
        break;
      case 12:
        g.outputs.push(decodeValueInfo(x));
        break;
      default:
        (g.extra ??= []).push(x.raw);
    }
  }
  return g;
}

/** Parse ONNX ModelProto bytes. Throws ProtoDecodeError on malformed input; tensor payloads are views of `bytes`. */
export function decodeModel(bytes: Uint8Array): ModelDef {
  const m: ModelDef = { irVersion: 0, opsets: [], producerName: '', producerVersion: '', graph: { name: '', nodes: [], initializers: [], inputs: [], outputs: [] }, metadata: {} };
  let sawGraph = false;
  for (const x of new ProtoReader(bytes).fields()) {
    switch (x.field) {
      case 1:
        m.irVersion = Number(x.int ?? 0n);
        break;
      case 2:
        m.producerName = readString(x);
        break;
      case 3:
        m.producerVersion = readString(x);
        break;
      case 6:
        m.docString = readString(x);
        break;
      case 7:
        m.graph = decodeGraph(x);
        sawGraph = true;
        break;
      case 8: {
        const o = { domain: '', version: 0 };
        for (const y of fieldsOf(x)) {
          if (y.field === 1) o.domain = readString(y);
          else if (y.field === 2) o.version = Number(y.int ?? 0n);
        }
        m.opsets.push(o);
        break;
      }
      case 14: {
        const [key, value] = readEntry(x);
        m.metadata[key] = value;
        break;
      }
      default:
        (m.extra ??= []).push(x.raw);
    }
  }
  if (!sawGraph) throw new ProtoDecodeError('no graph (not an ONNX model)');
  if (m.irVersion <= 0) throw new ProtoDecodeError('no ir_version (not an ONNX model)');
  return m;
}
