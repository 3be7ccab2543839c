// Control-message bodies (handshakes, rendezvous): a tiny bounds-checked binary writer and reader.
import { FmiProtocolError } from '../../errors.js';

export class WireWriter {
  private parts: Buffer[] = [];
  u8(v: number): this {
    const b = Buffer.allocUnsafe(1);
    b.writeUInt8(v, 0);
    this.parts.push(b);
    return this;
  }
  u16(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16LE(v, 0);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v, 0);
    this.parts.push(b);
    return this;
  }
  /** UTF-8 string with a u16 length. */
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 0xffff) throw new RangeError('control string too long');
    this.u16(b.length);
    this.parts.push(b);
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class WireReader {
  private off = 0;
  private readonly buf: Buffer;
  constructor(
    bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number): void {
    if (this.off + n > this.buf.length) throw new FmiProtocolError(`${this.what}: message truncated`);
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.off++);
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.off);
    this.off += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.off);
    this.off += 4;
    return v;
  }
  str(max = 1024): string {
    const len = this.u16();
    if (len > max) throw new FmiProtocolError(`${this.what}: ${len}-byte string exceeds ${max}`);
    this.need(len);
    const s = this.buf.toString('utf8', this.off, this.off + len);
    this.off += len;
    return s;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  end(): void {
    if (this.off !== this.buf.length) throw new FmiProtocolError(`${this.what}: ${this.buf.length - this.off} unexpected trailing bytes`);
  }
}
