// Whole worlds in one process: N ranks over loopback TCP (through a real rendezvous server) or in-process
// channels, each wrapped in a Communicator. For tests, benchmarks and examples.
import { randomBytes } from 'node:crypto';
import type { Channel } from '../channel.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../channel.js';
import { Communicator, type CommunicatorOptions } from '../communicator.js';
import { keepAllOrNone } from '../channels/backend.js';
import { createInprocWorld } from '../channels/inproc/channel.js';
import { TcpChannel } from '../channels/tcp/channel.js';
import { RendezvousServer } from '../channels/tcp/rendezvous/server.js';
import type { PeerAddress } from '../channels/tcp/rendezvous/protocol.js';

export interface World {
  channels: Channel[];
  comms: Communicator[];
  /** The rendezvous server this world started (TCP worlds without an external one). */
  rendezvous?: RendezvousServer;
  close(): Promise<void>;
}

export interface TcpWorldOptions {
  communicator?: string;
  runId?: string;
  /** Shared secret (default: 32 random bytes, hex). */
  secret?: string;
  maxFrameBytes?: number;
  /** Use this rendezvous server instead of starting one. */
  rendezvous?: PeerAddress;
  /** Time allowed for every rank to register (default 30000 ms). */
  setupTimeoutMs?: number;
  communicatorOptions?: CommunicatorOptions;
}

export function randomSecret(): string {
  return randomBytes(32).toString('hex');
}

let worlds = 0;
/** One loopback hop between ranks of one process, in the cost model's terms (its default is for networks). */
const LOOPBACK_LATENCY_US = 10;

/** Connect `worldSize` TCP channels in this process (all ranks register concurrently). */
export async function connectTcpChannels(worldSize: number, rendezvous: PeerAddress, options: Omit<TcpWorldOptions, 'rendezvous' | 'communicatorOptions'> = {}): Promise<TcpChannel[]> {
  const communicator = options.communicator ?? `world-${process.pid}-${++worlds}`;
  const runId = options.runId ?? randomBytes(8).toString('hex');
  const secret = options.secret ?? randomSecret();
  const deadline = Date.now() + (options.setupTimeoutMs ?? 30_000);
  const settled = await Promise.allSettled(
    Array.from({ length: worldSize }, (_, rank) =>
      TcpChannel.connect({ communicator, runId, rank, worldSize, secret, maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES }, { rendezvous, deadline }),
    ),
  );
  return keepAllOrNone(settled);
}

/** A TCP world on loopback: a rendezvous server (unless given) plus `worldSize` ranks. */
export async function startTcpWorld(worldSize: number, options: TcpWorldOptions = {}): Promise<World> {
  const secret = options.secret ?? randomSecret();
  const rendezvous = options.rendezvous ? undefined : await RendezvousServer.start({ secret });
  try {
    const channels = await connectTcpChannels(worldSize, options.rendezvous ?? rendezvous!.address, { ...options, secret });
    // Every rank of this world shares one JavaScript thread, and loopback hops are short: tell the cost model.
    const comms = channels.map((ch) => new Communicator(ch, { name: options.communicator, ranksPerCore: worldSize, latencyUs: LOOPBACK_LATENCY_US, ...options.communicatorOptions }));
    return {
      channels,
      comms,
      rendezvous,
      close: async () => {
        await Promise.all(channels.map((c) => c.close()));
        await rendezvous?.close();
      },
    };
  } catch (err) {
    await rendezvous?.close();
    throw err;
  }
}

export async function startInprocWorld(worldSize: number, communicatorOptions: CommunicatorOptions = {}): Promise<World> {
  const channels = createInprocWorld(worldSize, { communicator: communicatorOptions.name });
  const comms = channels.map((ch) => new Communicator(ch, { ranksPerCore: worldSize, ...communicatorOptions }));
  return { channels, comms, close: async () => void (await Promise.all(channels.map((c) => c.close()))) };
}

/** Run `fn` on every rank at once; resolves with every rank's result, or rejects with the first failure. */
export function onEveryRank<T>(comms: readonly Communicator[], fn: (comm: Communicator) => Promise<T>): Promise<T[]> {
  return Promise.all(comms.map(fn));
}
