// An in-process channel: every rank of a world lives in this process and frames are copied straight into
// the receiver's mailbox. For tests and for running collectives without a network.
import { UsageError } from '../../../errors.js';
import type { Absence, Channel } from '../../channel.js';
import { FmiDeadlineError } from '../../errors.js';
import { Mailbox } from '../mailbox.js';

export interface InprocWorldOptions {
  communicator?: string;
  /** Frames larger than this are refused by the receiver (send rejects). */
  maxFrameBytes?: number;
}

class InprocChannel implements Channel {
  readonly kind = 'inproc' as const;
  readonly mailbox: Mailbox;
  closed = false;
  constructor(
    readonly rank: number,
    readonly worldSize: number,
    /** Index = rank; a rank that never joined has no entry. */
    private readonly world: (InprocChannel | undefined)[],
    private readonly communicator: string,
    private readonly maxFrameBytes: number,
  ) {
    this.mailbox = new Mailbox(worldSize, () => `rank ${rank} of "${communicator}"`);
  }

  async send(dest: number, tag: number, payload: Uint8Array, deadline: number): Promise<void> {
    checkPeer(dest, this.worldSize, 'send to');
    if (this.closed) throw new UsageError(`rank ${this.rank} of "${this.communicator}": send on a closed channel`);
    if (payload.length > this.maxFrameBytes) throw new UsageError(`rank ${this.rank}: ${payload.length}-byte frame exceeds maxFrameBytes ${this.maxFrameBytes}`);
    const peer = this.world[dest];
    // A closed or absent peer never reads; like a dead host, the sender only learns of it through its deadline.
    if (!peer || peer.closed) {
      if (deadline <= Date.now()) throw new FmiDeadlineError(`rank ${this.rank} of "${this.communicator}": send`, [dest]);
      return;
    }
    // Copy: the sender may reuse its buffer as soon as send resolves, as with a real network.
    peer.mailbox.deliver(this.rank, tag, payload.slice());
  }

  recv(source: number, tag: number, deadline: number): Promise<Uint8Array> {
    checkPeer(source, this.worldSize, 'receive from');
    return this.mailbox.take(source, tag, deadline);
  }

  /** The world itself says who never joined (no channel) and who left (closed). */
  async absentRanks(): Promise<ReadonlyMap<number, Absence>> {
    const absent = new Map<number, Absence>();
    this.world.forEach((peer, r) => {
      if (r === this.rank) return;
      if (!peer) absent.set(r, 'never joined');
      else if (peer.closed) absent.set(r, 'left');
    });
    return absent;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.mailbox.close(new UsageError(`rank ${this.rank} of "${this.communicator}": channel closed`));
    // Every frame this rank sent is already in its peers' mailboxes: receives waiting for more end now.
    for (const peer of this.world) {
      if (peer && peer !== this && !peer.closed) peer.mailbox.failSource(this.rank, new FmiDeadlineError(`rank ${peer.rank} of "${this.communicator}": receive`, [this.rank], [], { absence: new Map([[this.rank, 'left']]), early: true }));
    }
  }
}

function checkPeer(peer: number, worldSize: number, what: string): void {
  if (!Number.isInteger(peer) || peer < 0 || peer >= worldSize) throw new UsageError(`cannot ${what} rank ${peer}: world size is ${worldSize}`);
}

/** `worldSize` connected in-process channels, index = rank. */
export function createInprocWorld(worldSize: number, options: InprocWorldOptions = {}): Channel[] {
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new UsageError(`world size must be a positive integer, got ${worldSize}`);
  return joinInprocWorld(worldSize, Array.from({ length: worldSize }, (_, r) => r), options);
}

/** Channels for `ranks` of a world of `worldSize`, in the order given; the other ranks never join. */
export function joinInprocWorld(worldSize: number, ranks: readonly number[], options: InprocWorldOptions = {}): Channel[] {
  const world: (InprocChannel | undefined)[] = new Array(worldSize).fill(undefined);
  const name = options.communicator ?? 'inproc';
  const max = options.maxFrameBytes ?? Number.MAX_SAFE_INTEGER;
  for (const r of ranks) {
    checkPeer(r, worldSize, 'open');
    if (world[r]) throw new UsageError(`rank ${r} of "${name}" is opened twice`);
    world[r] = new InprocChannel(r, worldSize, world, name, max);
  }
  return ranks.map((r) => world[r]!);
}
