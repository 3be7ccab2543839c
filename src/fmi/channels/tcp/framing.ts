// Length-prefixed frames on a byte stream. Header (12 bytes, little-endian): payload length u32, tag low
// u32, tag high u32. Data tags are < 2^53, so a high word of 0xffffffff marks a control message (handshake,
// rendezvous) whose type is the low word. A header announcing more than `maxBytes` stops the parser before
// anything is allocated.
import type { Socket } from 'node:net';

export const FRAME_HEADER_BYTES = 12;
export const CONTROL_HI = 0xffffffff;
/** Frames up to this size are copied behind their header into one write; larger ones are written as they are. */
const COALESCE_BYTES = 16 * 1024;

export type FrameHandler = (hi: number, lo: number, payload: Uint8Array) => void;

export class FrameParser {
  private readonly head = Buffer.alloc(FRAME_HEADER_BYTES);
  private headFill = 0;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private hi = 0;
  private lo = 0;
  private stopped = false;

  constructor(
    public maxBytes: number,
    public onFrame: FrameHandler,
    /** Called once for a header over the cap; the parser ignores everything after it. */
    private readonly onOversize: (length: number, hi: number, lo: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let off = 0;
    const n = chunk.length;
    while (off < n && !this.stopped) {
      if (this.body) {
        const take = Math.min(this.body.length - this.bodyFill, n - off);
        this.body.set(chunk.subarray(off, off + take), this.bodyFill);
        this.bodyFill += take;
        off += take;
        if (this.bodyFill === this.body.length) {
          const body = this.body;
          this.body = undefined;
          this.onFrame(this.hi, this.lo, body);
        }
        continue;
      }
      let len: number;
      if (this.headFill === 0 && n - off >= FRAME_HEADER_BYTES) {
        len = chunk.readUInt32LE(off);
        this.lo = chunk.readUInt32LE(off + 4);
        this.hi = chunk.readUInt32LE(off + 8);
        off += FRAME_HEADER_BYTES;
      } else {
        const take = Math.min(FRAME_HEADER_BYTES - this.headFill, n - off);
        chunk.copy(this.head, this.headFill, off, off + take);
        this.headFill += take;
        off += take;
        if (this.headFill < FRAME_HEADER_BYTES) break;
        this.headFill = 0;
        len = this.head.readUInt32LE(0);
        this.lo = this.head.readUInt32LE(4);
        this.hi = this.head.readUInt32LE(8);
      }
      if (len > this.maxBytes) {
        this.stopped = true;
        this.onOversize(len, this.hi, this.lo);
        return;
      }
      if (n - off >= len) {
        // A plain Uint8Array view (not a Buffer) so receivers see the same type on every channel.
        const payload = new Uint8Array(chunk.buffer, chunk.byteOffset + off, len);
        off += len;
        this.onFrame(this.hi, this.lo, payload);
      } else {
        this.body = new Uint8Array(len);
        this.bodyFill = 0;
      }
    }
  }
}

/**
 * Write one frame. Small frames are copied with their header into one buffer (one syscall, and the caller
 * may reuse `payload` at once); large ones are written in place and `done` runs once the socket has
 * taken them, after which the caller may reuse `payload`. Returns false if the socket wants a drain.
 */
export function writeFrame(socket: Socket, hi: number, lo: number, payload: Uint8Array, done?: (err?: Error | null) => void): boolean {
  const len = payload.length;
  if (len <= COALESCE_BYTES) {
    const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + len);
    buf.writeUInt32LE(len, 0);
    buf.writeUInt32LE(lo, 4);
    buf.writeUInt32LE(hi, 8);
    buf.set(payload, FRAME_HEADER_BYTES);
    const ok = socket.write(buf);
    done?.();
    return ok;
  }
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  head.writeUInt32LE(len, 0);
  head.writeUInt32LE(lo, 4);
  head.writeUInt32LE(hi, 8);
  socket.cork();
  socket.write(head);
  const ok = socket.write(payload, done);
  socket.uncork();
  return ok;
}

export function splitTag(tag: number): { hi: number; lo: number } {
  return { hi: Math.floor(tag / 0x100000000), lo: tag >>> 0 };
}
