// Registering with the rendezvous server and waiting for the address table. The connection then stays
// open for the run: it is this rank's presence, and it brings the server's notices of ranks that leave.
import { connect as netConnect, type Socket } from 'node:net';
import type { Absence, ChannelConfig } from '../../../channel.js';
import { newNonce, proof, proofMatches, MAC_BYTES } from '../../../auth.js';
import { Conn, CONTROL_MAX_BYTES, Msg, PROTOCOL_VERSION } from '../conn.js';
import { UsageError } from '../../../../errors.js';
import { FmiDeadlineError, FmiRefusedError } from '../../../errors.js';
import { readRanks, readTable, tableBytes, writeHello, writeProof, type PeerAddress } from './protocol.js';

/** How long past its own deadline a client waits for the server's answer before blaming the server. */
const SERVER_GRACE_MS = 2000;

/** Connect, retrying refused or failed attempts with backoff until `deadline` (or until `stop()` says so). */
export async function openSocket(address: PeerAddress, deadline: number, what: () => Error, stop: () => boolean = () => false): Promise<Socket> {
  let delay = 20;
  for (;;) {
    if (stop()) throw what();
    const socket = netConnect({ host: address.host, port: address.port });
    const result = await new Promise<Error | undefined>((resolve) => {
      socket.once('connect', () => resolve(undefined));
      socket.once('error', (err) => resolve(err));
    });
    if (!result) return socket;
    socket.destroy();
    // Not listening yet (or gone): try again until the deadline.
    if (Date.now() + delay >= deadline) throw what();
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
}

export interface Rendezvoused {
  /** Every rank's address, indexed by rank. */
  table: PeerAddress[];
  /** The connection to the server, left open: it carries the server's notices of ranks that leave. */
  presence: Conn;
}

/** A set of ranks, each with the same reason. */
function all(ranks: readonly number[], why: Absence): Map<number, Absence> {
  return new Map(ranks.map((r) => [r, why]));
}

/**
 * Register `self` for `config`'s rank and wait for every rank's address. `onRegistered` runs once the
 * server has admitted this rank (its presence is recorded), which may be long before the others arrive.
 */
export async function rendezvous(config: ChannelConfig, server: PeerAddress, self: PeerAddress, deadline: number, onRegistered?: () => void, signal?: AbortSignal): Promise<Rendezvoused> {
  const where = `rendezvous server ${server.host}:${server.port}`;
  const what = `rendezvous for rank ${config.rank} of "${config.communicator}" run "${config.runId}"`;
  const serverSilent = () => new FmiDeadlineError(what, [], [where]);
  const gaveUp = () => new UsageError(`${what}: given up by this rank`);
  const socket = await openSocket(server, deadline, () => (signal?.aborted ? gaveUp() : serverSilent()), () => signal?.aborted ?? false);
  const conn = new Conn(socket, where, Math.max(CONTROL_MAX_BYTES, tableBytes(config.worldSize)));
  // Leaving while waiting closes the connection, which the server takes as this rank leaving.
  const leave = () => conn.fail(gaveUp());
  signal?.addEventListener('abort', leave, { once: true });
  try {
    const nonce = newNonce();
    conn.sendControl(Msg.RdvHello, writeHello({ version: PROTOCOL_VERSION, communicator: config.communicator, runId: config.runId, rank: config.rank, worldSize: config.worldSize, nonce }));
    const challenge = await conn.expect([Msg.RdvChallenge], deadline + SERVER_GRACE_MS, serverSilent);
    const serverNonce = challenge.body.bytes(32);
    challenge.body.end();
    const fields = [config.communicator, config.runId, config.rank, config.worldSize, nonce, serverNonce];
    conn.sendControl(Msg.RdvProof, writeProof(proof(config.secret, 'rendezvous-client', fields), self, deadline - Date.now()));
    const accept = await conn.expect([Msg.RdvAccept], deadline + SERVER_GRACE_MS, serverSilent);
    const mac = accept.body.bytes(MAC_BYTES);
    if (!proofMatches(proof(config.secret, 'rendezvous-server', fields), mac)) throw new FmiRefusedError(`${where} did not prove the shared secret; not trusting its address table`);
    onRegistered?.();
    const answer = await conn.expect([Msg.RdvTable, Msg.RdvMissing, Msg.RdvLeft], deadline + SERVER_GRACE_MS, serverSilent);
    if (answer.type === Msg.RdvMissing) {
      const missing = readRanks(answer.body);
      throw new FmiDeadlineError(what, missing, [], { absence: all(missing, 'never joined') });
    }
    if (answer.type === Msg.RdvLeft) {
      const left = readRanks(answer.body);
      throw new FmiDeadlineError(what, left, [], { absence: all(left, 'left'), early: true });
    }
    const table = readTable(answer.body, config.worldSize);
    // Idle for the whole run: keepalive lets the server notice a host that vanished without closing.
    socket.setKeepAlive(true, PRESENCE_KEEPALIVE_MS);
    return { table, presence: conn };
  } catch (err) {
    conn.fail(undefined);
    throw err;
  } finally {
    signal?.removeEventListener('abort', leave);
  }
}

/** Idle time before TCP keepalive probes on the connection to the rendezvous server. */
export const PRESENCE_KEEPALIVE_MS = 15_000;
