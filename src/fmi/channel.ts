// The FMI channel seam: ordered byte frames between ranks of one communicator. Collectives are written
// once over this interface; backends (tcp, redis, s3, inproc) live in channels/<kind>/, each behind the
// ChannelBackend interface (channels/backend.ts) and found through the registry (channels/index.ts).

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
 * Why a rank is not in a run, as one endpoint knows it: it never joined (no registration, no presence
 * record), it left (closed its endpoint, or its connection or process is gone), or the channel cannot
 * tell those two apart (a presence record that is simply not there).
 */
export type Absence = 'never joined' | 'left' | 'never joined or left';

/**
 * A connected endpoint. Frames between one (source, destination, tag) are delivered in send order.
 * Deadlines are absolute (Date.now() milliseconds); an operation past its deadline rejects with
 * DeadlineError naming the peer it waited for (use FmiDeadlineError from ./errors.js, whose `ranks` the
 * communicator merges into its own error).
 *
 * Notes for implementers:
 * - Tags are non-negative safe integers (up to 2^53); the communicator uses even tags for collectives
 *   (operation sequence number × 256 + step, doubled) and odd tags for point-to-point messages, so a
 *   channel must not assume tags are small or dense. Each tag is typically used once per (source, dest).
 * - `recv` may be called before the matching `send` happens, and frames may arrive for tags nobody has
 *   asked for yet; channels/mailbox.ts (class Mailbox) implements that matching plus the deadline timer.
 * - `send` resolves once the frame is handed to the transport; the caller may reuse `payload` afterwards.
 * - A rank never sends to itself in the collectives, but sending to one's own rank should still work.
 * - A peer known to have left may fail receives from it early (after every frame it sent has arrived),
 *   with FmiDeadlineError naming it (`early`, `absence`).
 * - Conformance: test/fmi/channels/conformance.ts `runChannelConformance(name, makeWorld, options)`.
 */
export interface Channel {
  /** The backend's name in the registry (channels/index.ts), e.g. "tcp". */
  readonly kind: string;
  readonly rank: number;
  readonly worldSize: number;
  send(dest: number, tag: number, payload: Uint8Array, deadline: number): Promise<void>;
  recv(source: number, tag: number, deadline: number): Promise<Uint8Array>;
  /**
   * The other ranks of this run that are absent, and why, as this endpoint can tell by `deadline`:
   * ranks that never joined and ranks that left. Joining is explicit on every channel (a rendezvous
   * registration, a sealed presence record written when the endpoint opens and removed when it closes),
   * so the answer does not depend on timing. Undefined when the channel cannot tell (its presence
   * records are gone). Costs local state or one round trip to the channel's service, nothing per
   * operation: the communicator asks only when an operation's deadline passes.
   */
  absentRanks(deadline: number): Promise<ReadonlyMap<number, Absence> | undefined>;
  /** Release sockets/keys/objects this endpoint owns, and leave the run. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;
/** Tags leave room for 256 steps per collective; the round-based algorithms need about 2·log2(n). */
export const MAX_WORLD_SIZE = 1 << 20;
