// The rendezvous server: ranks of a communicator register the address they listen on and get the whole
// address table back once every rank has registered. Only peers proving the shared secret are admitted;
// each run of a communicator is a group, a newer run retires the older one, and a rank can register once.
// A rank's connection stays open for the run and is its presence: when it closes (the rank closed its
// channel, or its process died), the server tells the group's other ranks that it left. A rank that
// leaves before every rank has joined ends the group: the others are told at once, and so is any later one.
import { createServer, type Server, type Socket } from 'node:net';
import { UsageError } from '../../../../errors.js';
import { checkSecret, newNonce, proof, proofMatches } from '../../../auth.js';
import { Conn, Msg, PROTOCOL_VERSION } from '../conn.js';
import { FmiDeadlineError, FmiProtocolError, FmiRefusedError } from '../../../errors.js';
import { MAX_WORLD_SIZE } from '../../../channel.js';
import { PRESENCE_KEEPALIVE_MS } from './client.js';
import { readHello, readProof, writeRanks, writeTable, type PeerAddress } from './protocol.js';

export interface RendezvousServerOptions {
  /** Interface to bind; loopback unless told otherwise. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  secret: string;
  /** Time a connecting client gets to finish the handshake (default 10000 ms). */
  handshakeTimeoutMs?: number;
  maxWorldSize?: number;
  /** Communicators remembered at once; the oldest complete ones are forgotten first (default 1024). */
  maxGroups?: number;
  /** Called for every admission, refusal and completed table. Never receives the secret. */
  log?: (event: RendezvousEvent) => void;
}

export interface RendezvousEvent {
  event: 'admitted' | 'refused' | 'complete' | 'missing' | 'left' | 'lost' | 'superseded' | 'error';
  communicator?: string;
  runId?: string;
  rank?: number;
  worldSize?: number;
  peer?: string;
  reason?: string;
}

interface Member {
  conn: Conn;
  address: PeerAddress;
  timer?: NodeJS.Timeout;
}

interface Group {
  communicator: string;
  runId: string;
  worldSize: number;
  members: Map<number, Member>;
  /** Ranks that registered but stopped waiting (their own deadline passed): present, so not to blame. */
  gaveUp: Set<number>;
  complete: boolean;
  /** After completion: the ranks still connected (present), by rank. */
  live: Map<number, Conn>;
  /** Ranks whose departure the others have not been told of yet (sent together, once per turn). */
  departed: number[];
  /** Set when a rank left before every rank had joined: the group can never complete. */
  lost?: number[];
  createdAt: number;
}

const RETIRED_PER_COMMUNICATOR = 64;

export class RendezvousServer {
  private readonly groups = new Map<string, Group>();
  private readonly retired = new Map<string, string[]>();
  private readonly sockets = new Set<Socket>();
  private readonly secret: string;
  private readonly handshakeTimeoutMs: number;
  private readonly maxWorldSize: number;
  private readonly maxGroups: number;
  private readonly log: (e: RendezvousEvent) => void;
  private closing = false;

  private constructor(
    private readonly server: Server,
    options: RendezvousServerOptions,
  ) {
    this.secret = checkSecret(options.secret, 'rendezvous server');
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    this.maxWorldSize = options.maxWorldSize ?? MAX_WORLD_SIZE;
    this.maxGroups = options.maxGroups ?? 1024;
    this.log = options.log ?? (() => {});
  }

  static async start(options: RendezvousServerOptions): Promise<RendezvousServer> {
    const server = createServer();
    const rdv = new RendezvousServer(server, options);
    server.on('connection', (socket) => rdv.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new UsageError(`rendezvous server cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 0}: ${err.code ?? err.message}`)));
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    return rdv;
  }

  get address(): PeerAddress {
    const a = this.server.address();
    if (!a || typeof a === 'string') throw new Error('rendezvous server is not listening');
    return { host: a.address, port: a.port };
  }

  /** Ranks registered and waiting, per communicator (for status output and tests). */
  status(): { communicator: string; runId: string; worldSize: number; registered: number; complete: boolean }[] {
    return [...this.groups.values()].map((g) => ({ communicator: g.communicator, runId: g.runId, worldSize: g.worldSize, registered: g.complete ? g.worldSize : g.members.size, complete: g.complete }));
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const g of this.groups.values()) for (const m of g.members.values()) if (m.timer) clearTimeout(m.timer);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const conn = new Conn(socket, `rendezvous client ${peer}`);
    this.admit(conn, peer).catch((err: Error) => {
      this.log({ event: err instanceof FmiRefusedError ? 'refused' : 'error', peer, reason: err.message });
      conn.fail(undefined);
    });
  }

  private async admit(conn: Conn, peer: string): Promise<void> {
    const deadline = Date.now() + this.handshakeTimeoutMs;
    const late = () => new FmiDeadlineError(`rendezvous handshake with ${peer}`, [], [peer]);
    const hello = readHello((await conn.expect([Msg.RdvHello], deadline, late)).body);
    const who = { communicator: hello.communicator, runId: hello.runId, rank: hello.rank, worldSize: hello.worldSize, peer };
    const refuse = (reason: string) => {
      conn.reject(reason);
      this.log({ event: 'refused', ...who, reason });
    };
    if (hello.version !== PROTOCOL_VERSION) return refuse(`protocol version ${hello.version} is not supported (this server speaks ${PROTOCOL_VERSION})`);
    if (!hello.communicator || !hello.runId) return refuse('communicator and run id must not be empty');
    if (hello.worldSize < 1 || hello.worldSize > this.maxWorldSize) return refuse(`world size ${hello.worldSize} is outside 1..${this.maxWorldSize}`);
    if (hello.rank >= hello.worldSize) return refuse(`rank ${hello.rank} is outside 0..${hello.worldSize - 1}`);

    const serverNonce = newNonce();
    conn.sendControl(Msg.RdvChallenge, serverNonce);
    const p = readProof((await conn.expect([Msg.RdvProof], deadline, late)).body);
    const fields = [hello.communicator, hello.runId, hello.rank, hello.worldSize, hello.nonce, serverNonce];
    if (!proofMatches(proof(this.secret, 'rendezvous-client', fields), p.mac)) return refuse('authentication failed: the proof does not match this server\'s secret (wrong secret?)');
    if (!p.self.host || p.self.port === 0) return refuse('no listening address given');

    let g = this.groups.get(hello.communicator);
    if (g && g.runId !== hello.runId) {
      if (this.retired.get(hello.communicator)?.includes(hello.runId)) return refuse(`run "${hello.runId}" of communicator "${hello.communicator}" is older than the active run "${g.runId}"`);
      this.retire(g, hello.runId);
      g = undefined;
    }
    if (!g) g = this.newGroup(hello.communicator, hello.runId, hello.worldSize);
    if (g.worldSize !== hello.worldSize) return refuse(`world size ${hello.worldSize} does not match the ${g.worldSize} of run "${g.runId}"`);
    if (g.complete || g.members.has(hello.rank)) return refuse(`rank ${hello.rank} is already registered for communicator "${g.communicator}" run "${g.runId}"`);

    conn.sendControl(Msg.RdvAccept, proof(this.secret, 'rendezvous-server', fields));
    if (g.lost) {
      // The run can never complete: a latecomer is told who left, as the ranks waiting then were.
      conn.sendControl(Msg.RdvLeft, writeRanks(g.lost));
      conn.socket.end();
      this.log({ event: 'lost', ...who, reason: `rank ${g.lost.join(', ')} left before every rank joined` });
      return;
    }
    const group = g;
    const member: Member = { conn, address: p.self };
    group.members.set(hello.rank, member);
    group.gaveUp.delete(hello.rank);
    this.log({ event: 'admitted', ...who });
    conn.onClose(() => {
      if (this.closing) return;
      if (group.complete) {
        if (group.live.get(hello.rank) !== conn) return;
        group.live.delete(hello.rank);
        this.log({ event: 'left', ...who });
        this.announceLeft(group, hello.rank);
      } else if (group.members.get(hello.rank) === member) {
        group.members.delete(hello.rank);
        if (member.timer) clearTimeout(member.timer);
        this.log({ event: 'left', ...who });
        this.lose(group, hello.rank);
      }
    });
    if (group.members.size === group.worldSize) return this.complete(group);
    member.timer = setTimeout(() => {
      group.members.delete(hello.rank);
      group.gaveUp.add(hello.rank);
      const missing: number[] = [];
      for (let r = 0; r < group.worldSize; r++) if (!group.members.has(r) && !group.gaveUp.has(r)) missing.push(r);
      conn.sendControl(Msg.RdvMissing, writeRanks(missing));
      conn.socket.end();
      this.log({ event: 'missing', ...who, reason: `still missing ranks ${abbreviate(missing)}` });
    }, p.waitMs);
  }

  private newGroup(communicator: string, runId: string, worldSize: number): Group {
    if (this.groups.size >= this.maxGroups) {
      const victim = [...this.groups.values()].filter((x) => x.complete).sort((a, b) => a.createdAt - b.createdAt)[0] ?? [...this.groups.values()].sort((a, b) => a.createdAt - b.createdAt)[0];
      this.retire(victim, undefined);
      this.groups.delete(victim.communicator);
    }
    const g: Group = { communicator, runId, worldSize, members: new Map(), gaveUp: new Set(), complete: false, live: new Map(), departed: [], createdAt: Date.now() };
    this.groups.set(communicator, g);
    return g;
  }

  private retire(g: Group, by: string | undefined): void {
    const list = this.retired.get(g.communicator) ?? [];
    list.push(g.runId);
    if (list.length > RETIRED_PER_COMMUNICATOR) list.shift();
    this.retired.set(g.communicator, list);
    for (const [rank, m] of g.members) {
      if (m.timer) clearTimeout(m.timer);
      m.conn.reject(by ? `run "${g.runId}" was superseded by run "${by}"` : 'rendezvous server forgot this run (too many communicators)');
      this.log({ event: 'superseded', communicator: g.communicator, runId: g.runId, rank, reason: by ? `superseded by run "${by}"` : 'evicted' });
    }
    g.members.clear();
    // A retired run's ranks keep their peer connections; they only stop hearing about departures.
    const live = [...g.live.values()];
    g.live.clear();
    for (const conn of live) conn.socket.end();
  }

  /** A registered rank left before the table went out: nobody can complete, so tell the others now. */
  private lose(g: Group, rank: number): void {
    g.lost = [rank];
    const notice = writeRanks([rank]);
    for (const [r, m] of g.members) {
      if (m.timer) clearTimeout(m.timer);
      m.conn.sendControl(Msg.RdvLeft, notice);
      m.conn.socket.end();
      this.log({ event: 'lost', communicator: g.communicator, runId: g.runId, rank: r, reason: `rank ${rank} left before every rank joined` });
    }
    g.members.clear();
  }

  /** Tell the ranks still present that `rank` left; departures in one turn go out as one notice. */
  private announceLeft(g: Group, rank: number): void {
    g.departed.push(rank);
    if (g.departed.length > 1) return;
    setImmediate(() => {
      const notice = writeRanks(g.departed.splice(0));
      for (const conn of g.live.values()) conn.sendControl(Msg.RdvLeft, notice);
    });
  }

  private complete(g: Group): void {
    g.complete = true;
    const table: PeerAddress[] = new Array(g.worldSize);
    for (const [rank, m] of g.members) table[rank] = m.address;
    const bytes = writeTable(table);
    for (const [rank, m] of g.members) {
      if (m.timer) clearTimeout(m.timer);
      m.conn.sendControl(Msg.RdvTable, bytes);
      // The connection stays open as the rank's presence; a rank has nothing more to say on it.
      m.conn.listen(() => m.conn.fail(new FmiProtocolError(`${m.conn.label}: unexpected message after the address table`)));
      m.conn.socket.setKeepAlive(true, PRESENCE_KEEPALIVE_MS);
      g.live.set(rank, m.conn);
    }
    g.members.clear();
    this.log({ event: 'complete', communicator: g.communicator, runId: g.runId, worldSize: g.worldSize });
  }
}

export function abbreviate(ranks: readonly number[], max = 20): string {
  return ranks.length <= max ? ranks.join(', ') : `${ranks.slice(0, max).join(', ')} and ${ranks.length - max} more`;
}
