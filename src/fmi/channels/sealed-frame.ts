// Authenticated frames for the store-and-forward channels (Redis lists, S3 objects). Anyone who can
// write to the store can write a frame, so each frame carries an HMAC-SHA256 over the communicator, run,
// route, tag, sequence number and payload, keyed by the communicator secret. A frame from another
// communicator or run, a replayed or reordered frame, and a forged or altered one all fail the check.
// Presence records (a rank has joined the run) carry a token made with the same key, so nobody without
// the secret can make an absent rank look present.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { checkSecret } from '../auth.js';

const MAGIC = 0x43414946; // "CAIF"
const VERSION = 1;
const MAC_BYTES = 32;
/** magic(4) version(1) reserved(3) seq(8) payloadLength(4) mac(32) */
export const FRAME_HEADER_BYTES = 4 + 1 + 3 + 8 + 4 + MAC_BYTES;
const MAC_OFFSET = FRAME_HEADER_BYTES - MAC_BYTES;

/** True when `frame` is an FMI frame cut short: fewer bytes than a header, or than its header declares. */
export function isIncompleteFrame(frame: Uint8Array): boolean {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.byteLength >= 4 && view.getUint32(0) !== MAGIC) return false;
  if (frame.byteLength < FRAME_HEADER_BYTES) return true;
  return view.getUint32(16) > frame.byteLength - FRAME_HEADER_BYTES;
}

/** Where a frame travels; every field is bound into the MAC. */
export interface FrameRoute {
  channel: string;
  communicator: string;
  runId: string;
  source: number;
  dest: number;
  tag: number;
}

/** Why a frame was refused. `problem` is one short phrase, safe to print (it never contains the secret). */
export class FrameRejected extends Error {
  constructor(readonly problem: string) {
    super(problem);
    this.name = 'FrameRejected';
  }
}

export interface OpenedFrame {
  payload: Uint8Array;
  /** The sender's sequence number, authenticated with the rest of the frame. */
  seq: number;
}

/** Seals and opens frames for one communicator. */
export class FrameSealer {
  private readonly key: KeyObject;

  constructor(
    secret: string,
    private readonly channel: string,
    private readonly communicator: string,
    private readonly runId: string,
  ) {
    checkSecret(secret, `${channel} channel of communicator "${communicator}"`);
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  seal(source: number, dest: number, tag: number, seq: number, payload: Uint8Array): Buffer {
    const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
    frame.writeUInt32BE(MAGIC, 0);
    frame.writeUInt8(VERSION, 4);
    frame.writeUIntBE(0, 5, 3);
    frame.writeUInt32BE(Math.floor(seq / 0x100000000), 8);
    frame.writeUInt32BE(seq >>> 0, 12);
    frame.writeUInt32BE(payload.byteLength, 16);
    frame.set(payload, FRAME_HEADER_BYTES);
    this.mac(source, dest, tag, frame).copy(frame, MAC_OFFSET);
    return frame;
  }

  /**
   * Check a frame and return its payload (a view into `frame`, no copy) and sequence number. Throws
   * FrameRejected when the frame is malformed, larger than `maxPayloadBytes`, or fails authentication.
   * Whether the sequence number is the expected one is the caller's check.
   */
  open(source: number, dest: number, tag: number, frame: Uint8Array, maxPayloadBytes: number): OpenedFrame {
    if (frame.byteLength < FRAME_HEADER_BYTES) throw new FrameRejected(`frame of ${frame.byteLength} bytes is shorter than its ${FRAME_HEADER_BYTES}-byte header`);
    const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    if (buf.readUInt32BE(0) !== MAGIC || buf.readUInt8(4) !== VERSION) throw new FrameRejected('not an FMI frame (bad magic or version)');
    const length = buf.readUInt32BE(16);
    if (length > maxPayloadBytes) throw new FrameRejected(`frame payload of ${length} bytes exceeds the ${maxPayloadBytes}-byte limit`);
    if (length !== buf.length - FRAME_HEADER_BYTES) throw new FrameRejected(`frame declares ${length} payload bytes but carries ${buf.length - FRAME_HEADER_BYTES}`);
    const expected = this.mac(source, dest, tag, buf);
    if (!timingSafeEqual(expected, buf.subarray(MAC_OFFSET, FRAME_HEADER_BYTES))) {
      throw new FrameRejected('frame failed authentication (wrong secret, communicator or run, or altered bytes)');
    }
    const seq = buf.readUInt32BE(8) * 0x100000000 + buf.readUInt32BE(12);
    // A plain Uint8Array view (no copy): callers compare and store payloads as Uint8Array, not Buffer.
    return { payload: new Uint8Array(buf.buffer, buf.byteOffset + FRAME_HEADER_BYTES, length), seq };
  }

  /** `open`, with a rejection turned into the channel's own one-line error. */
  openOr(source: number, dest: number, tag: number, frame: Uint8Array, maxPayloadBytes: number, refuse: (problem: string) => Error): OpenedFrame {
    try {
      return this.open(source, dest, tag, frame, maxPayloadBytes);
    } catch (err) {
      if (err instanceof FrameRejected) throw refuse(err.problem);
      throw err;
    }
  }

  /** This rank's presence token for the run: HMAC over the context and the rank, hex (64 characters). */
  presenceToken(rank: number): string {
    return createHmac('sha256', this.key).update(`cai-fmi-presence/1\0${this.channel}\0${this.communicator}\0${this.runId}\0${rank}\0`, 'utf8').digest('hex');
  }

  /** Whether `token` is `rank`'s presence token (constant time). */
  isPresenceToken(rank: number, token: string | Uint8Array): boolean {
    const got = typeof token === 'string' ? Buffer.from(token, 'latin1') : Buffer.from(token.buffer, token.byteOffset, token.byteLength);
    const expected = Buffer.from(this.presenceToken(rank), 'latin1');
    return got.length === expected.length && timingSafeEqual(got, expected);
  }

  private mac(source: number, dest: number, tag: number, frame: Buffer): Buffer {
    const h = createHmac('sha256', this.key);
    // NUL separators keep ("a", "bc") and ("ab", "c") apart.
    h.update(`cai-fmi-frame/1\0${this.channel}\0${this.communicator}\0${this.runId}\0${source}\0${dest}\0${tag}\0`, 'utf8');
    h.update(frame.subarray(0, MAC_OFFSET));
    h.update(frame.subarray(FRAME_HEADER_BYTES));
    return h.digest();
  }
}
