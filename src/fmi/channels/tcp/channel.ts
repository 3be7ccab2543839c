// Direct TCP between ranks. Each rank listens (loopback unless told otherwise), registers its address with
// the rendezvous server and gets everyone's; connections are then made on first use, one per pair of
// ranks. If two ranks dial each other at once, the connection dialed by the lower rank wins and the other
// is refused before any data flows. Every connection is authenticated both ways with the shared secret.
// The connection to the rendezvous server stays open: the server tells every rank when another leaves, so
// a rank knows who is gone without asking anyone, and stops waiting for a gone rank once all it sent is in.
import { createServer, type Server, type Socket } from 'node:net';
import { UsageError } from '../../../errors.js';
import type { Absence, Channel, ChannelConfig } from '../../channel.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../channel.js';
import { checkSecret, MAC_BYTES, NONCE_BYTES, newNonce, proof, proofMatches } from '../../auth.js';
import { FmiDeadlineError, FmiProtocolError, FmiRefusedError } from '../../errors.js';
import { MAX_NAME_BYTES, readRanks, type PeerAddress } from './rendezvous/protocol.js';
import { openSocket, rendezvous } from './rendezvous/client.js';
import { Mailbox } from '../mailbox.js';
import { Conn, Msg, PROTOCOL_VERSION } from './conn.js';
import { splitTag, writeFrame } from './framing.js';
import { WireWriter } from './wire.js';

export interface TcpChannelOptions {
  /** Where ranks meet. Required unless `addresses` is given. */
  rendezvous?: PeerAddress;
  /** A fixed address table (index = rank) instead of a rendezvous; this rank listens on its own entry's port unless listenPort says otherwise. */
  addresses?: readonly PeerAddress[];
  /** Interface this rank listens on (default 127.0.0.1). */
  listenHost?: string;
  /** Port this rank listens on (default 0: any free port). */
  listenPort?: number;
  /** Address other ranks should dial (default: listenHost, which then must not be a wildcard). */
  advertiseHost?: string;
  /** Absolute deadline for registering and receiving the address table (default: 60 s from now). */
  deadline?: number;
  /** Time an incoming connection gets to authenticate (default 10000 ms). */
  handshakeTimeoutMs?: number;
  /** Called once this rank has joined (the rendezvous server admitted it), before the others may have. */
  onRegistered?: () => void;
  /** Give up joining (while waiting for the others): connect rejects, and the others learn this rank left. */
  signal?: AbortSignal;
}

interface Link {
  conn: Conn | undefined;
  dialing: boolean;
  /** Latest deadline any sender is waiting with; dialing retries until then. */
  dialUntil: number;
  waiters: { resolve: (c: Conn) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[];
  refused: Error | undefined;
  lost: boolean;
}

const MAX_FRAME_LIMIT = 0xffffffff;

export class TcpChannel implements Channel {
  readonly kind = 'tcp' as const;
  readonly rank: number;
  readonly worldSize: number;
  readonly mailbox: Mailbox;
  private readonly links: Link[];
  private readonly sockets = new Set<Socket>();
  private addresses: PeerAddress[] = [];
  /** This rank's connection to the rendezvous server: its presence, and where notices of departures arrive. */
  private presence: Conn | undefined;
  /** Ranks the rendezvous server said have left. */
  private readonly left = new Set<number>();
  private closed = false;
  private readonly label: string;

  private constructor(
    private readonly config: ChannelConfig,
    private readonly server: Server,
    private readonly handshakeTimeoutMs: number,
  ) {
    this.rank = config.rank;
    this.worldSize = config.worldSize;
    this.label = `rank ${config.rank} of "${config.communicator}"`;
    this.mailbox = new Mailbox(config.worldSize, () => this.label);
    this.links = Array.from({ length: config.worldSize }, () => ({ conn: undefined, dialing: false, dialUntil: 0, waiters: [], refused: undefined, lost: false }));
  }

  /** Listen, meet the other ranks at the rendezvous server, and return a ready channel. */
  static async connect(config: ChannelConfig, options: TcpChannelOptions): Promise<TcpChannel> {
    validateConfig(config);
    if (!options.rendezvous && !options.addresses) throw new UsageError(`rank ${config.rank}: a TCP channel needs a rendezvous address or an address table`);
    if (options.addresses && options.addresses.length !== config.worldSize) throw new UsageError(`rank ${config.rank}: the address table lists ${options.addresses.length} ranks, the world has ${config.worldSize}`);
    const listenHost = options.listenHost ?? '127.0.0.1';
    const listenPort = options.listenPort ?? options.addresses?.[config.rank].port ?? 0;
    const advertise = options.advertiseHost ?? listenHost;
    if (advertise === '0.0.0.0' || advertise === '::') throw new UsageError(`rank ${config.rank}: listening on ${listenHost} needs an advertiseHost other ranks can dial`);
    const server = createServer();
    const channel = new TcpChannel(config, server, options.handshakeTimeoutMs ?? 10_000);
    server.on('connection', (socket) => channel.onIncoming(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new UsageError(`rank ${config.rank}: cannot listen on ${listenHost}:${listenPort}: ${err.code ?? err.message}`)));
      server.listen(listenPort, listenHost, () => resolve());
    });
    try {
      const port = (server.address() as { port: number }).port;
      if (options.addresses) {
        channel.addresses = [...options.addresses];
        options.onRegistered?.();
      } else {
        const met = await rendezvous(config, options.rendezvous!, { host: advertise, port }, options.deadline ?? Date.now() + 60_000, options.onRegistered, options.signal);
        channel.addresses = met.table;
        channel.watchPresence(met.presence);
      }
    } catch (err) {
      await channel.close();
      throw err;
    }
    return channel;
  }

  /** Where this rank listens. */
  get listenAddress(): PeerAddress {
    const a = this.server.address() as { address: string; port: number };
    return { host: a.address, port: a.port };
  }

  /** Every rank's address, as handed out by the rendezvous (index = rank). */
  get peerAddresses(): readonly PeerAddress[] {
    return this.addresses;
  }

  /** Ranks this endpoint currently holds an open connection to. */
  get connectedPeers(): number[] {
    return this.links.flatMap((l, r) => (l.conn ? [r] : []));
  }

  send(dest: number, tag: number, payload: Uint8Array, deadline: number): Promise<void> {
    if (!Number.isInteger(dest) || dest < 0 || dest >= this.worldSize) return Promise.reject(new UsageError(`${this.label}: cannot send to rank ${dest}`));
    if (this.closed) return Promise.reject(new UsageError(`${this.label}: send on a closed channel`));
    if (payload.length > this.config.maxFrameBytes) return Promise.reject(new UsageError(`${this.label}: ${payload.length}-byte frame exceeds maxFrameBytes ${this.config.maxFrameBytes}`));
    if (dest === this.rank) {
      this.mailbox.deliver(this.rank, tag, payload.slice());
      return Promise.resolve();
    }
    // A gone rank never reads: as on every channel, the frame is dropped and only a wait for it fails.
    if (this.left.has(dest)) return Promise.resolve();
    const conn = this.links[dest].conn;
    // Fast path: connected and not backed up.
    if (conn && !conn.socket.writableNeedDrain) return this.write(conn, tag, payload);
    return this.sendSlow(dest, tag, payload, deadline);
  }

  recv(source: number, tag: number, deadline: number): Promise<Uint8Array> {
    if (!Number.isInteger(source) || source < 0 || source >= this.worldSize) return Promise.reject(new UsageError(`${this.label}: cannot receive from rank ${source}`));
    return this.mailbox.take(source, tag, deadline);
  }

  /**
   * Ranks the rendezvous server said have left. Without a connection to the server (a fixed address
   * table, or the server went away) the ranks whose connection to this one was lost count as left too.
   */
  async absentRanks(): Promise<ReadonlyMap<number, Absence>> {
    const absent = new Map<number, Absence>();
    for (const r of this.left) absent.set(r, 'left');
    if (!this.presence) this.links.forEach((l, r) => l.lost && !l.conn && absent.set(r, 'left'));
    return absent;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.mailbox.close(new UsageError(`${this.label}: channel closed`));
    for (const link of this.links) {
      for (const w of link.waiters) {
        clearTimeout(w.timer);
        w.reject(new UsageError(`${this.label}: channel closed`));
      }
      link.waiters = [];
    }
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- presence ----

  private watchPresence(conn: Conn): void {
    this.presence = conn;
    this.track(conn.socket);
    conn.onClose(() => {
      if (this.presence === conn) this.presence = undefined;
    });
    conn.listen((type, body) => {
      if (type !== Msg.RdvLeft) return conn.fail(new FmiProtocolError(`${conn.label}: unexpected control message ${type} after the address table`));
      for (const r of readRanks(body)) this.peerLeft(r);
    });
  }

  private peerLeft(peer: number): void {
    if (!Number.isInteger(peer) || peer < 0 || peer >= this.worldSize || peer === this.rank || this.left.has(peer)) return;
    this.left.add(peer);
    this.failWhenDrained(peer);
  }

  /**
   * Once a peer that left has nothing more in flight to this rank, end the receives (and sends) waiting on
   * it. Its frames travel only on an established connection, and TCP delivers them before that
   * connection's close, so: wait for the connection (or a dial in progress) to end, then one more turn.
   */
  private failWhenDrained(peer: number): void {
    const link = this.links[peer];
    if (this.closed || link.conn || link.dialing) return;
    setImmediate(() => {
      if (this.closed || link.conn) return;
      const gone = this.leftError(peer);
      this.mailbox.failSource(peer, gone);
      this.refuse(peer, gone);
    });
  }

  private leftError(peer: number): FmiDeadlineError {
    return new FmiDeadlineError(`${this.label}: receive`, [peer], [], { absence: new Map([[peer, 'left']]), early: true });
  }

  // ---- sending ----

  private write(conn: Conn, tag: number, payload: Uint8Array): Promise<void> {
    const { hi, lo } = splitTag(tag);
    if (payload.length <= 16 * 1024) {
      writeFrame(conn.socket, hi, lo, payload);
      return Promise.resolve();
    }
    return new Promise((resolve) => writeFrame(conn.socket, hi, lo, payload, () => resolve()));
  }

  private async sendSlow(dest: number, tag: number, payload: Uint8Array, deadline: number): Promise<void> {
    try {
      let conn = this.links[dest].conn ?? (await this.connection(dest, deadline));
      if (conn.socket.writableNeedDrain) {
        await this.drained(conn, dest, deadline);
        conn = this.links[dest].conn ?? (await this.connection(dest, deadline));
      }
      return await this.write(conn, tag, payload);
    } catch (err) {
      if (this.left.has(dest)) return;
      throw err;
    }
  }

  private drained(conn: Conn, dest: number, deadline: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        conn.socket.off('drain', ok);
        conn.socket.off('close', ok);
        if (err) reject(err);
        else resolve();
      };
      const ok = () => done();
      const timer = setTimeout(() => done(new FmiDeadlineError(`${this.label}: send (peer not reading)`, [dest])), Math.max(0, deadline - Date.now()));
      conn.socket.once('drain', ok);
      conn.socket.once('close', ok);
    });
  }

  /** The connection to `dest`, dialing it if nobody has yet. */
  private connection(dest: number, deadline: number): Promise<Conn> {
    const link = this.links[dest];
    if (link.conn) return Promise.resolve(link.conn);
    if (link.refused) return Promise.reject(link.refused);
    if (this.left.has(dest)) return Promise.reject(this.leftError(dest));
    link.dialUntil = Math.max(link.dialUntil, deadline);
    const wait = new Promise<Conn>((resolve, reject) => {
      const timer = setTimeout(() => {
        link.waiters = link.waiters.filter((w) => w.timer !== timer);
        reject(new FmiDeadlineError(`${this.label}: connect${link.lost ? ' (connection was lost)' : ''}`, [dest]));
      }, Math.max(0, deadline - Date.now()));
      link.waiters.push({ resolve, reject, timer });
    });
    if (!link.dialing) {
      link.dialing = true;
      this.dial(dest).finally(() => {
        link.dialing = false;
        if (this.left.has(dest)) this.failWhenDrained(dest);
      });
    }
    return wait;
  }

  private async dial(dest: number): Promise<void> {
    const link = this.links[dest];
    const address = this.addresses[dest];
    let delay = 20;
    while (!link.conn && !this.closed && Date.now() < link.dialUntil) {
      try {
        const socket = await openSocket(address, link.dialUntil, () => new FmiDeadlineError(`${this.label}: connect`, [dest]), () => this.closed || link.conn !== undefined || this.left.has(dest));
        if (this.closed) {
          socket.destroy();
          return;
        }
        const outcome = await this.dialHandshake(socket, dest, link.dialUntil);
        if (outcome === 'duplicate') return; // the peer's own dial to us wins; it will arrive as incoming
        return;
      } catch (err) {
        if (err instanceof FmiRefusedError || err instanceof UsageError) {
          this.refuse(dest, err as Error);
          return;
        }
        if (err instanceof FmiDeadlineError) return;
        // Connection reset mid-handshake (peer restarting or dying): retry until the deadline.
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(2 * delay, 500);
      }
    }
  }

  private refuse(dest: number, err: Error): void {
    const link = this.links[dest];
    link.refused = err;
    for (const w of link.waiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    link.waiters = [];
  }

  private async dialHandshake(socket: Socket, dest: number, deadline: number): Promise<'ok' | 'duplicate'> {
    this.track(socket);
    const conn = new Conn(socket, `${this.label} → rank ${dest}`);
    const c = this.config;
    const nonce = newNonce();
    const late = () => new FmiDeadlineError(`${this.label}: handshake`, [dest]);
    conn.sendControl(Msg.PeerHello, new WireWriter().u8(PROTOCOL_VERSION).str(c.communicator).str(c.runId).u32(c.rank).u32(dest).u32(c.worldSize).bytes(nonce).done());
    try {
      const ch = await conn.expect([Msg.PeerChallenge], deadline, late);
      const theirNonce = ch.body.bytes(NONCE_BYTES);
      ch.body.end();
      const fields = [c.communicator, c.runId, c.rank, dest, c.worldSize, nonce, theirNonce];
      conn.sendControl(Msg.PeerProof, proof(c.secret, 'peer-dialer', fields));
      conn.upgradeOn(Msg.PeerAccept, c.maxFrameBytes);
      const answer = await conn.expect([Msg.PeerAccept, Msg.Reject], deadline, late);
      if (answer.type === Msg.Reject) {
        const reason = answer.body.str();
        conn.fail(undefined);
        if (reason === DUPLICATE) return 'duplicate';
        throw new FmiRefusedError(`${conn.label}: refused: ${reason}`);
      }
      const mac = answer.body.bytes(MAC_BYTES);
      if (!proofMatches(proof(c.secret, 'peer-acceptor', fields), mac)) throw new FmiRefusedError(`${conn.label}: rank ${dest} did not prove the shared secret`);
      this.adopt(dest, conn);
      return 'ok';
    } catch (err) {
      conn.fail(undefined);
      throw err;
    }
  }

  // ---- accepting ----

  private onIncoming(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.track(socket);
    const conn = new Conn(socket, `${this.label} ← ${socket.remoteAddress}:${socket.remotePort}`);
    this.acceptHandshake(conn).catch(() => conn.fail(undefined));
  }

  private async acceptHandshake(conn: Conn): Promise<void> {
    const c = this.config;
    const deadline = Date.now() + this.handshakeTimeoutMs;
    const late = () => new FmiDeadlineError(`${this.label}: incoming handshake`, []);
    const hello = (await conn.expect([Msg.PeerHello], deadline, late)).body;
    const version = hello.u8();
    const communicator = hello.str(MAX_NAME_BYTES);
    const runId = hello.str(MAX_NAME_BYTES);
    const from = hello.u32();
    const to = hello.u32();
    const worldSize = hello.u32();
    const theirNonce = hello.bytes(NONCE_BYTES);
    hello.end();
    if (version !== PROTOCOL_VERSION) return conn.reject(`protocol version ${version} is not supported`);
    if (communicator !== c.communicator) return conn.reject(`this endpoint does not serve communicator "${communicator}"`);
    if (runId !== c.runId) return conn.reject(`run "${runId}" is not the current run of "${communicator}"`);
    if (to !== c.rank || worldSize !== c.worldSize || from >= c.worldSize || from === c.rank) return conn.reject(`rank ${from}→${to} of ${worldSize} does not match this endpoint (rank ${c.rank} of ${c.worldSize})`);
    const nonce = newNonce();
    conn.sendControl(Msg.PeerChallenge, nonce);
    const p = (await conn.expect([Msg.PeerProof], deadline, late)).body;
    const mac = p.bytes(MAC_BYTES);
    p.end();
    const fields = [c.communicator, c.runId, from, c.rank, c.worldSize, theirNonce, nonce];
    if (!proofMatches(proof(c.secret, 'peer-dialer', fields), mac)) return conn.reject('authentication failed (wrong secret?)');
    const link = this.links[from];
    // One connection per pair: an existing one stays; when both sides are dialing, the lower rank's dial wins.
    if (link.conn || (link.dialing && c.rank < from)) return conn.reject(DUPLICATE);
    conn.sendControl(Msg.PeerAccept, proof(c.secret, 'peer-acceptor', fields));
    this.adopt(from, conn);
  }

  // ---- established connections ----

  private adopt(peer: number, conn: Conn): void {
    const link = this.links[peer];
    link.conn = conn;
    conn.startData(this.config.maxFrameBytes, (tag, payload) => this.mailbox.deliver(peer, tag, payload));
    conn.onClose((err) => {
      if (link.conn === conn) {
        link.conn = undefined;
        link.lost = true;
      }
      // A protocol violation (e.g. an oversize frame) fails receives from that peer at once; a plain
      // disconnect leaves them to their deadline, which names the peer.
      if (err instanceof FmiProtocolError) this.mailbox.failSource(peer, err);
      if (this.left.has(peer)) this.failWhenDrained(peer);
    });
    for (const w of link.waiters) {
      clearTimeout(w.timer);
      w.resolve(conn);
    }
    link.waiters = [];
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}

const DUPLICATE = 'duplicate connection';

function validateConfig(c: ChannelConfig): void {
  const where = `rank ${c.rank} of "${c.communicator}"`;
  if (typeof c.communicator !== 'string' || !c.communicator || Buffer.byteLength(c.communicator) > MAX_NAME_BYTES) throw new UsageError(`communicator name must be 1..${MAX_NAME_BYTES} bytes`);
  if (typeof c.runId !== 'string' || !c.runId || Buffer.byteLength(c.runId) > MAX_NAME_BYTES) throw new UsageError(`${where}: run id must be 1..${MAX_NAME_BYTES} bytes`);
  if (!Number.isInteger(c.worldSize) || c.worldSize < 1) throw new UsageError(`${where}: world size must be a positive integer`);
  if (!Number.isInteger(c.rank) || c.rank < 0 || c.rank >= c.worldSize) throw new UsageError(`rank ${c.rank} is outside 0..${c.worldSize - 1}`);
  checkSecret(c.secret, where);
  if (!Number.isInteger(c.maxFrameBytes) || c.maxFrameBytes < 1 || c.maxFrameBytes > MAX_FRAME_LIMIT) throw new UsageError(`${where}: maxFrameBytes must be 1..${MAX_FRAME_LIMIT}`);
}

/** Fill in defaults for the optional parts of a channel config. */
export function channelConfig(c: Omit<ChannelConfig, 'maxFrameBytes'> & { maxFrameBytes?: number }): ChannelConfig {
  return { ...c, maxFrameBytes: c.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES };
}

