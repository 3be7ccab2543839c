// One TCP connection carrying frames. It starts in control mode (handshake messages are queued for
// `next()`), then switches to data mode where frames go straight to a handler.
import type { Socket } from 'node:net';
import { FmiDeadlineError, FmiProtocolError, FmiRefusedError } from '../../errors.js';
import { CONTROL_HI, FrameParser, writeFrame } from './framing.js';
import { WireReader, WireWriter } from './wire.js';

/** Handshake and rendezvous messages are small; a rendezvous table is bounded by the world size. */
export const CONTROL_MAX_BYTES = 64 * 1024;

export const enum Msg {
  PeerHello = 1,
  PeerChallenge = 2,
  PeerProof = 3,
  PeerAccept = 4,
  Reject = 5,
  RdvHello = 11,
  RdvChallenge = 12,
  RdvProof = 13,
  RdvTable = 14,
  RdvMissing = 15,
  RdvAccept = 16,
  /** Server to the ranks of a group: these ranks left (their connection to the server closed). */
  RdvLeft = 17,
}

/** 2: the rendezvous connection stays open for the run, and the server tells the others when a rank leaves. */
export const PROTOCOL_VERSION = 2;

interface Queued {
  hi: number;
  lo: number;
  payload: Uint8Array;
}

export class Conn {
  readonly parser: FrameParser;
  private queue: Queued[] = [];
  private waiter: { resolve: (q: Queued) => void; reject: (e: Error) => void } | undefined;
  private dataHandler: ((tag: number, payload: Uint8Array) => void) | undefined;
  private controlHandler: ((type: number, body: WireReader) => void) | undefined;
  closed = false;
  closeError: Error | undefined;
  private closeHandlers: ((err: Error | undefined) => void)[] = [];
  private upgrade: { type: Msg; maxBytes: number } | undefined;
  private upgraded = false;

  constructor(
    readonly socket: Socket,
    readonly label: string,
    controlMax = CONTROL_MAX_BYTES,
  ) {
    socket.setNoDelay(true);
    this.parser = new FrameParser(controlMax, (hi, lo, payload) => this.onFrame(hi, lo, payload), (len) => {
      this.fail(new FmiProtocolError(`${this.label}: refused a ${len}-byte frame (limit ${this.parser.maxBytes} bytes); connection closed`));
    });
    socket.on('data', (chunk: Buffer) => this.parser.push(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(undefined));
  }

  private onFrame(hi: number, lo: number, payload: Uint8Array): void {
    if (this.dataHandler && hi !== CONTROL_HI) {
      this.dataHandler(hi * 0x100000000 + lo, payload);
      return;
    }
    if (this.dataHandler) {
      this.fail(new FmiProtocolError(`${this.label}: unexpected control message ${lo} after the handshake`));
      return;
    }
    if (hi !== CONTROL_HI) {
      // Data may follow the final handshake message in the same read, before startData() runs.
      if (this.upgraded) this.queue.push({ hi, lo, payload });
      else this.fail(new FmiProtocolError(`${this.label}: data frame before the handshake finished`));
      return;
    }
    if (this.controlHandler) {
      this.controlHandler(lo, new WireReader(payload, this.label));
      return;
    }
    if (this.upgrade && lo === this.upgrade.type) {
      // Switch the size limit now, synchronously: data frames may already be in this chunk.
      this.parser.maxBytes = this.upgrade.maxBytes;
      this.upgraded = true;
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ hi, lo, payload });
    } else if (this.queue.length < 16) this.queue.push({ hi, lo, payload });
    else this.fail(new FmiProtocolError(`${this.label}: too many unanswered control messages`));
  }

  /** Close once; `err` undefined means an orderly close by the other side. */
  fail(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closeError = err;
    this.socket.destroy();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(err ?? new FmiRefusedError(`${this.label}: connection closed by the other side`));
    }
    for (const h of this.closeHandlers) h(err);
  }

  onClose(handler: (err: Error | undefined) => void): void {
    if (this.closed) handler(this.closeError);
    else this.closeHandlers.push(handler);
  }

  sendControl(type: Msg, body: Uint8Array = new Uint8Array(0)): void {
    if (!this.closed) writeFrame(this.socket, CONTROL_HI, type, body);
  }

  /** When control message `type` arrives, data frames up to `maxBytes` may follow at once. */
  upgradeOn(type: Msg, maxBytes: number): void {
    this.upgrade = { type, maxBytes };
  }

  /** Next control message of an expected type; a Reject from the other side becomes FmiRefusedError. */
  async expect(types: readonly Msg[], deadline: number, waitingFor: () => FmiDeadlineError): Promise<{ type: Msg; body: WireReader }> {
    const q = await this.next(deadline, waitingFor);
    if (q.hi !== CONTROL_HI) throw new FmiProtocolError(`${this.label}: data frame before the handshake finished`);
    if (q.lo === Msg.Reject && !types.includes(Msg.Reject)) {
      const reason = new WireReader(q.payload, this.label).str();
      throw new FmiRefusedError(`${this.label}: refused: ${reason}`);
    }
    if (!types.includes(q.lo as Msg)) throw new FmiProtocolError(`${this.label}: unexpected control message ${q.lo}`);
    return { type: q.lo as Msg, body: new WireReader(q.payload, this.label) };
  }

  private next(deadline: number, waitingFor: () => FmiDeadlineError): Promise<Queued> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    if (this.closed) return Promise.reject(this.closeError ?? new FmiRefusedError(`${this.label}: connection closed by the other side`));
    return new Promise<Queued>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(waitingFor());
        this.fail(undefined);
      }, Math.max(0, deadline - Date.now()));
      this.waiter = {
        resolve: (x) => {
          clearTimeout(timer);
          resolve(x);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /**
   * Hand every later control message to `handler` (queued ones first), for a connection that stays open
   * after its handshake to carry notices; a data frame then is a protocol error.
   */
  listen(handler: (type: number, body: WireReader) => void): void {
    this.controlHandler = handler;
    const early = this.queue;
    this.queue = [];
    for (const q of early) this.onFrame(q.hi, q.lo, q.payload);
  }

  /** Switch to data mode; frames already queued behind the handshake are handed over first. */
  startData(maxFrameBytes: number, handler: (tag: number, payload: Uint8Array) => void): void {
    this.parser.maxBytes = maxFrameBytes;
    this.dataHandler = handler;
    const early = this.queue;
    this.queue = [];
    for (const q of early) this.onFrame(q.hi, q.lo, q.payload);
  }

  reject(reason: string): void {
    this.sendControl(Msg.Reject, new WireWriter().str(reason).done());
    this.socket.end();
  }
}
