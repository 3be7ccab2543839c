// The FMI channel seam: ordered byte frames between ranks of one communicator. Collectives are written
// once over this interface; backends (tcp, redis, s3, inproc) live in channels/<name>/.

/** Identity of one rank in one communicator. `secret` authenticates peers and never leaves the process. */
export interface ChannelConfig {
  /** Communicator name; keys, sockets and objects are namespaced by it. */
  communicator: string;
  /** Distinguishes runs that reuse a communicator name, so an old run's peers are refused. */
  runId: string;
  rank: number;
  worldSize: number;
  secret: string;
  /** Largest frame accepted from a peer; larger frames fail the receive instead of exhausting memory. */
  maxFrameBytes: number;
}

/**
 * A connected endpoint. Frames between one (source, destination, tag) are delivered in send order.
 * Deadlines are absolute (Date.now() milliseconds); an operation past its deadline rejects with
 * DeadlineError naming the peer it waited for.
 */
export interface Channel {
  readonly kind: ChannelKind;
  readonly rank: number;
  readonly worldSize: number;
  send(dest: number, tag: number, payload: Uint8Array, deadline: number): Promise<void>;
  recv(source: number, tag: number, deadline: number): Promise<Uint8Array>;
  /** Release sockets/keys/objects this endpoint owns. Idempotent. */
  close(): Promise<void>;
}

export type ChannelKind = 'tcp' | 'redis' | 's3' | 'inproc';

export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;
