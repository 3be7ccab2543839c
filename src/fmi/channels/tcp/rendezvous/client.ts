// Registering with the rendezvous server and waiting for the address table.
import { connect as netConnect, type Socket } from 'node:net';
import type { ChannelConfig } from '../../../channel.js';
import { newNonce, proof, proofMatches, MAC_BYTES } from '../../../auth.js';
import { Conn, CONTROL_MAX_BYTES, Msg, PROTOCOL_VERSION } from '../conn.js';
import { FmiDeadlineError, FmiRefusedError } from '../../../errors.js';
import { readRanks, readTable, tableBytes, writeHello, writeProof, type PeerAddress } from './protocol.js';

/** How long past its own deadline a client waits for the server's answer before blaming the server. */
const SERVER_GRACE_MS = 2000;

/** Connect, retrying refused or failed attempts with backoff until `deadline` (or until `stop()` says so). */
export async function openSocket(address: PeerAddress, deadline: number, what: () => FmiDeadlineError, stop: () => boolean = () => false): Promise<Socket> {
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

/** Register `self` for `config`'s rank and return every rank's address, indexed by rank. */
export async function rendezvous(config: ChannelConfig, server: PeerAddress, self: PeerAddress, deadline: number): Promise<PeerAddress[]> {
  const where = `rendezvous server ${server.host}:${server.port}`;
  const what = `rendezvous for rank ${config.rank} of "${config.communicator}" run "${config.runId}"`;
  const serverSilent = () => new FmiDeadlineError(what, [], [where]);
  const socket = await openSocket(server, deadline, serverSilent);
  const conn = new Conn(socket, where, Math.max(CONTROL_MAX_BYTES, tableBytes(config.worldSize)));
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
    const answer = await conn.expect([Msg.RdvTable, Msg.RdvMissing], deadline + SERVER_GRACE_MS, serverSilent);
    if (answer.type === Msg.RdvMissing) throw new FmiDeadlineError(what, readRanks(answer.body));
    return readTable(answer.body, config.worldSize);
  } finally {
    conn.fail(undefined);
  }
}
