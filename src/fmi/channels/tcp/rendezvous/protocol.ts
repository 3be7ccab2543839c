// Rendezvous messages. Client: Hello(version, communicator, runId, rank, worldSize, nonce) → server:
// Challenge(nonce) → client: Proof(mac, host, port, waitMs) → server: Accept(server mac), then later
// Table(addresses) once every rank registered, or Missing(ranks) when the client's wait ran out, or
// Reject(reason) at any point.
import { UsageError } from '../../../../errors.js';
import { FmiProtocolError } from '../../../errors.js';
import { MAC_BYTES, NONCE_BYTES } from '../../../auth.js';
import { WireReader, WireWriter } from '../wire.js';

export interface PeerAddress {
  host: string;
  port: number;
}

/** "host:port" (IPv6 in brackets) to an address; `what` names where the text came from in the error. */
export function parseHostPort(text: string, what: string): PeerAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new UsageError(`${what}: "${text}" is not host:port`);
  return { host: (m[1] ?? m[2])!, port };
}

/** The inverse of parseHostPort. */
export function formatHostPort(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export interface Hello {
  version: number;
  communicator: string;
  runId: string;
  rank: number;
  worldSize: number;
  nonce: Buffer;
}

export const MAX_NAME_BYTES = 255;
export const MAX_HOST_BYTES = 255;

export function writeHello(h: Hello): Buffer {
  return new WireWriter().u8(h.version).str(h.communicator).str(h.runId).u32(h.rank).u32(h.worldSize).bytes(h.nonce).done();
}

export function readHello(r: WireReader): Hello {
  const h = { version: r.u8(), communicator: r.str(MAX_NAME_BYTES), runId: r.str(MAX_NAME_BYTES), rank: r.u32(), worldSize: r.u32(), nonce: r.bytes(NONCE_BYTES) };
  r.end();
  return h;
}

export function writeProof(mac: Uint8Array, self: PeerAddress, waitMs: number): Buffer {
  return new WireWriter().bytes(mac).str(self.host).u16(self.port).u32(Math.max(0, Math.min(0xffffffff, Math.round(waitMs)))).done();
}

export function readProof(r: WireReader): { mac: Buffer; self: PeerAddress; waitMs: number } {
  const p = { mac: r.bytes(MAC_BYTES), self: { host: r.str(MAX_HOST_BYTES), port: r.u16() }, waitMs: r.u32() };
  r.end();
  return p;
}

export function writeTable(addresses: readonly PeerAddress[]): Buffer {
  const w = new WireWriter().u32(addresses.length);
  for (const a of addresses) w.str(a.host).u16(a.port);
  return w.done();
}

export function readTable(r: WireReader, worldSize: number): PeerAddress[] {
  const n = r.u32();
  if (n !== worldSize) throw new FmiProtocolError(`rendezvous table lists ${n} ranks, expected ${worldSize}`);
  const out: PeerAddress[] = [];
  for (let i = 0; i < n; i++) out.push({ host: r.str(MAX_HOST_BYTES), port: r.u16() });
  r.end();
  return out;
}

export function writeRanks(ranks: readonly number[]): Buffer {
  const w = new WireWriter().u32(ranks.length);
  for (const x of ranks) w.u32(x);
  return w.done();
}

export function readRanks(r: WireReader): number[] {
  const n = r.u32();
  if (n > 1 << 20) throw new FmiProtocolError(`rendezvous: list of ${n} ranks is too long`);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.u32());
  r.end();
  return out;
}

/** Largest table message for a world size (each entry: u16 length + host + u16 port). */
export function tableBytes(worldSize: number): number {
  return 4 + worldSize * (2 + MAX_HOST_BYTES + 2);
}
