// Minimal protocol-buffers wire format: a writer that keeps large byte payloads (tensor data) as separate
// chunks so a 60 MB model is copied once, into the final buffer; and a bounds-checked reader for untrusted files.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const textEncoder = new TextEncoder();

/** Builds one message. Nested messages are built with their own writer and appended with `message()`. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private small: number[] = [];
  private total = 0;

  get length(): number {
    return this.total + this.small.length;
  }

  private flushSmall(): void {
    if (this.small.length === 0) return;
    this.chunks.push(Uint8Array.from(this.small));
    this.total += this.small.length;
    this.small = [];
  }

  private rawVarint(value: number | bigint): void {
    if (typeof value === 'number' && value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 0x7f) {
        this.small.push((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      this.small.push(v);
      return;
    }
    // Negative int64 values are encoded as their 64-bit two's complement (10 bytes), as protobuf does.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.small.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.small.push(Number(v));
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.small.push(...b);
    return this;
  }

  /** Small payloads are copied into the pending bytes, large ones kept as their own chunk (copied once, at finish). */
  private append(data: Uint8Array): this {
    if (data.byteLength <= 64) {
      for (const x of data) this.small.push(x);
    } else {
      this.flushSmall();
      this.chunks.push(data);
      this.total += data.byteLength;
    }
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(data.byteLength);
    return this.append(data);
  }

  string(field: number, text: string): this {
    return this.bytes(field, textEncoder.encode(text));
  }

  /** Append a field exactly as it was read (tag included): what a decoder kept without interpreting it. */
  rawField(encoded: Uint8Array): this {
    return this.append(encoded);
  }

  message(field: number, inner: ProtoWriter): this {
    inner.flushSmall();
    this.tag(field, WIRE_LEN);
    this.rawVarint(inner.total);
    this.flushSmall();
    for (const c of inner.chunks) this.chunks.push(c);
    this.total += inner.total;
    return this;
  }

  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.rawVarint(v);
    inner.flushSmall();
    this.tag(field, WIRE_LEN);
    this.rawVarint(inner.total);
    for (const c of inner.chunks) for (const x of c) this.small.push(x);
    return this;
  }

  packedFloats(field: number, values: readonly number[]): this {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    this.flushSmall();
    const out = new Uint8Array(this.total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}

export class ProtoDecodeError extends Error {}

export interface ProtoField {
  field: number;
  wire: number;
  /** For varint fields. */
  int?: bigint;
  /** For fixed32/fixed64 fields, the raw little-endian bytes; for length-delimited fields, the payload (a view). */
  data?: Uint8Array;
  /** The whole field as encoded, tag included (a view), so that a field kept uninterpreted is written back as it came. */
  raw: Uint8Array;
}

/** Reads the fields of one message. Every length is checked against the message's bounds before use. */
export class ProtoReader {
  private pos: number;
  private readonly end: number;
  constructor(private readonly buf: Uint8Array, start = 0, end = buf.byteLength) {
    this.pos = start;
    this.end = end;
  }

  private byte(): number {
    if (this.pos >= this.end) throw new ProtoDecodeError('truncated message');
    return this.buf[this.pos++]!;
  }

  private varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new ProtoDecodeError('varint longer than 10 bytes');
  }

  private take(n: number): Uint8Array {
    if (n < 0 || n > this.end - this.pos) throw new ProtoDecodeError(`field length ${n} runs past the end of its message`);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  *fields(): Generator<ProtoField> {
    while (this.pos < this.end) {
      const start = this.pos;
      const key = this.varint();
      const field = Number(key >> 3n);
      const wire = Number(key & 7n);
      if (field === 0) throw new ProtoDecodeError('field number 0');
      let int: bigint | undefined;
      let data: Uint8Array | undefined;
      switch (wire) {
        case WIRE_VARINT:
          int = this.varint();
          break;
        case WIRE_FIXED64:
          data = this.take(8);
          break;
        case WIRE_LEN: {
          const len = this.varint();
          if (len > BigInt(this.end - this.pos)) throw new ProtoDecodeError(`field length ${len} runs past the end of its message`);
          data = this.take(Number(len));
          break;
        }
        case WIRE_FIXED32:
          data = this.take(4);
          break;
        default:
          throw new ProtoDecodeError(`unsupported wire type ${wire}`);
      }
      const raw = this.buf.subarray(start, this.pos);
      yield int === undefined ? { field, wire, data, raw } : { field, wire, int, raw };
    }
  }
}

/** Signed value of an int64 varint. */
export function toInt64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

/** Varints of a repeated integer field, packed (one LEN field) or not (one VARINT field per value). */
export function readVarints(f: ProtoField): bigint[] {
  if (f.wire === WIRE_VARINT) return [toInt64(f.int!)];
  if (f.wire !== WIRE_LEN) throw new ProtoDecodeError(`field ${f.field}: expected integers`);
  const out: bigint[] = [];
  let pos = 0;
  const d = f.data!;
  while (pos < d.length) {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= d.length) throw new ProtoDecodeError('truncated packed varint');
      if (shift >= 70n) throw new ProtoDecodeError('varint longer than 10 bytes');
      const b = d[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) break;
    }
    out.push(BigInt.asIntN(64, result));
  }
  return out;
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });
export function readString(f: ProtoField): string {
  if (f.wire !== WIRE_LEN) throw new ProtoDecodeError(`field ${f.field}: expected a string`);
  return textDecoder.decode(f.data!);
}

export function readFloat32(f: ProtoField): number {
  if (f.wire !== WIRE_FIXED32) throw new ProtoDecodeError(`field ${f.field}: expected a float`);
  return new DataView(f.data!.buffer, f.data!.byteOffset, 4).getFloat32(0, true);
}
