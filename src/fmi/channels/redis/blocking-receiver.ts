// All pending receives of one endpoint share one blocking connection: a single BLPOP names every list
// some receive waits on, plus a private wake list. Whichever list gets a frame first returns, so receives
// complete in arrival order, not call order, and a receive posted later can never be stuck behind one
// whose sender depends on it. A receive for a list that the in-flight BLPOP does not name pushes a token
// onto the wake list to restart the BLPOP with the new set; tokens persist, so the wake-up cannot be lost.
import type { Redis } from 'ioredis';
import { UnavailableError } from '../../../errors.js';

interface Waiter {
  resolve(frame: Buffer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  deadline: number;
  done: boolean;
}

export class BlockingReceiver {
  private readonly waiters = new Map<string, Waiter[]>();
  /** Frames popped after their receive had given up; the next receive on that list takes them. */
  private readonly stash = new Map<string, Buffer[]>();
  private blockedOn: Set<string> | undefined;
  private wakeSent = false;
  private scheduled = false;
  private stopped: string | undefined;

  constructor(
    private readonly blocking: Redis,
    private readonly commands: Redis,
    readonly wakeKey: string,
    private readonly ttlMs: number,
    private readonly where: string,
  ) {}

  /** The next frame of list `key`, or `onTimeout()` once `deadline` passes. */
  pop(key: string, deadline: number, onTimeout: () => Error): Promise<Buffer> {
    if (this.stopped) return Promise.reject(new UnavailableError(this.stopped));
    const early = this.stash.get(key);
    if (early?.length && !this.waiters.get(key)?.length) {
      const frame = early.shift()!;
      if (early.length === 0) this.stash.delete(key);
      return Promise.resolve(frame);
    }
    return new Promise<Buffer>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        deadline,
        done: false,
        timer: setTimeout(() => {
          waiter.done = true;
          this.forget(key, waiter);
          reject(onTimeout());
        }, Math.max(0, deadline - Date.now())),
      };
      let queue = this.waiters.get(key);
      if (!queue) this.waiters.set(key, (queue = []));
      queue.push(waiter);
      this.kick(key);
    });
  }

  /** Reject every pending receive; later pops fail at once. */
  stop(reason: string): void {
    if (this.stopped) return;
    this.stopped = reason;
    for (const queue of this.waiters.values()) for (const w of queue) this.settle(w, undefined, new UnavailableError(reason));
    this.waiters.clear();
  }

  disconnect(): void {
    this.blocking.disconnect();
  }

  private kick(key: string): void {
    if (this.blockedOn) {
      // A BLPOP is in flight; restart it only if it does not already cover this list.
      if (!this.blockedOn.has(key) && !this.wakeSent) {
        this.wakeSent = true;
        this.commands.rpush(this.wakeKey, '1').catch(() => undefined);
        this.commands.pexpire(this.wakeKey, this.ttlMs).catch(() => undefined);
      }
      return;
    }
    if (!this.scheduled) {
      // Receives posted in the same tick (e.g. a root posting one per peer) share the first BLPOP.
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        void this.loop();
      });
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.waiters.size > 0 && !this.blockedOn) {
      const keys = [...this.waiters.keys()];
      let soonest = Infinity;
      for (const queue of this.waiters.values()) for (const w of queue) soonest = Math.min(soonest, w.deadline);
      // Local timers reject expired receives on time; the server-side timeout only bounds the BLPOP.
      const seconds = (Math.min(Math.max(soonest - Date.now(), 1), 3_600_000) / 1000).toFixed(3);
      this.blockedOn = new Set(keys);
      this.wakeSent = false;
      keys.push(this.wakeKey);
      let popped: [Buffer, Buffer] | null;
      try {
        popped = await this.blocking.blpopBuffer(keys, seconds);
      } catch (err) {
        this.blockedOn = undefined;
        if (!this.stopped) this.stop(`${this.where}: blocking receive failed: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      this.blockedOn = undefined;
      if (popped) {
        const key = popped[0].toString('latin1');
        if (key !== this.wakeKey) this.deliver(key, popped[1]);
      }
    }
  }

  private deliver(key: string, frame: Buffer): void {
    const queue = this.waiters.get(key);
    const waiter = queue?.shift();
    if (queue && queue.length === 0) this.waiters.delete(key);
    if (!waiter) {
      let stashed = this.stash.get(key);
      if (!stashed) this.stash.set(key, (stashed = []));
      stashed.push(frame);
      return;
    }
    this.settle(waiter, frame);
  }

  private settle(w: Waiter, value: Buffer | undefined, err?: Error): void {
    if (w.done) return;
    w.done = true;
    clearTimeout(w.timer);
    if (err) w.reject(err);
    else w.resolve(value!);
  }

  private forget(key: string, waiter: Waiter): void {
    const queue = this.waiters.get(key);
    if (!queue) return;
    const i = queue.indexOf(waiter);
    if (i >= 0) queue.splice(i, 1);
    if (queue.length === 0) this.waiters.delete(key);
  }
}
