// Frames that arrived before anyone asked for them, and receivers waiting for frames that have not arrived,
// keyed by (source, tag). Deadlines share one timer per mailbox, armed for the earliest waiter and left
// armed (unref'd while idle) between operations, so a message costs no timer calls.
import { FmiDeadlineError } from '../errors.js';

interface Waiter {
  source: number;
  tag: number;
  deadline: number;
  resolve: (frame: Uint8Array) => void;
  reject: (err: Error) => void;
}

interface Slot {
  frames: Uint8Array[];
  waiters: Waiter[];
}

const MAX_DELAY = 0x7fffffff;

export class Mailbox {
  private readonly slots: Map<number, Slot>[];
  private readonly waiting = new Set<Waiter>();
  private readonly sourceFailure: (Error | undefined)[];
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private closedWith: Error | undefined;

  /** `describe` names this endpoint in deadline messages, e.g. `rank 3 of "comm"`. */
  constructor(worldSize: number, private readonly describe: () => string) {
    this.slots = Array.from({ length: worldSize }, () => new Map());
    this.sourceFailure = new Array(worldSize).fill(undefined);
  }

  /** A frame arrived from `source`. */
  deliver(source: number, tag: number, frame: Uint8Array): void {
    const byTag = this.slots[source];
    let slot = byTag.get(tag);
    if (slot && slot.waiters.length > 0) {
      const w = slot.waiters.shift()!;
      if (slot.waiters.length === 0 && slot.frames.length === 0) byTag.delete(tag);
      this.waiting.delete(w);
      if (this.waiting.size === 0) this.timer?.unref();
      w.resolve(frame);
      return;
    }
    if (!slot) byTag.set(tag, (slot = { frames: [], waiters: [] }));
    slot.frames.push(frame);
  }

  /** The next frame from (source, tag); rejects with FmiDeadlineError naming `source` at `deadline`. */
  take(source: number, tag: number, deadline: number): Promise<Uint8Array> {
    const byTag = this.slots[source];
    const slot = byTag.get(tag);
    if (slot && slot.frames.length > 0) {
      const frame = slot.frames.shift()!;
      if (slot.frames.length === 0 && slot.waiters.length === 0) byTag.delete(tag);
      return Promise.resolve(frame);
    }
    if (this.closedWith) return Promise.reject(this.closedWith);
    const failure = this.sourceFailure[source];
    if (failure) return Promise.reject(failure);
    if (deadline <= Date.now()) return Promise.reject(this.expired(source, tag));
    return new Promise<Uint8Array>((resolve, reject) => {
      const w: Waiter = { source, tag, deadline, resolve, reject };
      let s = slot;
      if (!s) byTag.set(tag, (s = { frames: [], waiters: [] }));
      s.waiters.push(w);
      this.waiting.add(w);
      this.arm(deadline);
    });
  }

  /** Fail pending and future receives from `source` (after its queued frames) with `err`. */
  failSource(source: number, err: Error): void {
    if (this.sourceFailure[source]) return;
    this.sourceFailure[source] = err;
    for (const [tag, slot] of this.slots[source]) {
      for (const w of slot.waiters) {
        this.waiting.delete(w);
        w.reject(err);
      }
      slot.waiters = [];
      if (slot.frames.length === 0) this.slots[source].delete(tag);
    }
    if (this.waiting.size === 0) this.timer?.unref();
  }

  /** Reject everything pending and every later receive with `err`. */
  close(err: Error): void {
    if (this.closedWith) return;
    this.closedWith = err;
    for (const w of this.waiting) w.reject(err);
    this.waiting.clear();
    for (const m of this.slots) m.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }

  /** Frames received but not yet taken (for diagnostics and leak tests). */
  get queuedFrames(): number {
    let n = 0;
    for (const m of this.slots) for (const s of m.values()) n += s.frames.length;
    return n;
  }

  private expired(source: number, tag: number): FmiDeadlineError {
    return new FmiDeadlineError(`${this.describe()}: receive (tag ${tag})`, [source]);
  }

  private arm(deadline: number): void {
    if (this.timer && this.armedAt <= deadline) {
      this.timer.ref();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = deadline;
    this.timer = setTimeout(() => this.sweep(), Math.min(MAX_DELAY, Math.max(0, deadline - Date.now())));
  }

  private sweep(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const w of this.waiting) {
      if (w.deadline <= now) {
        this.waiting.delete(w);
        const byTag = this.slots[w.source];
        const slot = byTag.get(w.tag);
        if (slot) {
          slot.waiters = slot.waiters.filter((x) => x !== w);
          if (slot.waiters.length === 0 && slot.frames.length === 0) byTag.delete(w.tag);
        }
        w.reject(this.expired(w.source, w.tag));
      } else if (w.deadline < next) next = w.deadline;
    }
    if (next < Infinity) this.arm(next);
  }
}
