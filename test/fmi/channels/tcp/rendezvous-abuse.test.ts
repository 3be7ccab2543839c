// The rendezvous server under abuse: garbage bytes, huge length prefixes, a slow drip and 200 silent
// connections at once. Each is dropped by the server without buffering what it announces, and a real
// two-rank rendezvous completes during and after the abuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { FRAME_HEADER_BYTES, CONTROL_HI } from '../../../../src/fmi/channels/tcp/framing.js';
import { rendezvous } from '../../../../src/fmi/channels/tcp/rendezvous/client.js';
import { RendezvousServer, type RendezvousEvent } from '../../../../src/fmi/channels/tcp/rendezvous/server.js';
import type { PeerAddress } from '../../../../src/fmi/channels/tcp/rendezvous/protocol.js';
import { randomSecret } from '../../../../src/fmi/testing/world.js';

const SECRET = randomSecret();
/** Short, so that silent and dripping clients are dropped well within the test's deadlines. */
const HANDSHAKE_MS = 1500;

async function withServer(fn: (server: RendezvousServer, events: RendezvousEvent[]) => Promise<void>): Promise<void> {
  const events: RendezvousEvent[] = [];
  const server = await RendezvousServer.start({ secret: SECRET, handshakeTimeoutMs: HANDSHAKE_MS, log: (e) => events.push(e) });
  try {
    await fn(server, events);
  } finally {
    await server.close();
  }
}

/** Two ranks register and both get the full table. */
async function realRendezvous(server: RendezvousServer, runId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  const self = (rank: number): PeerAddress => ({ host: '127.0.0.1', port: 40000 + rank });
  const tables = await Promise.all(
    [0, 1].map((rank) => rendezvous({ communicator: 'abuse', runId, rank, worldSize: 2, secret: SECRET, maxFrameBytes: 1024 }, server.address, self(rank), deadline)),
  );
  for (const t of tables) assert.deepEqual(t.table, [self(0), self(1)]);
  // The presence connection stays open for the run's life; this check is done with it.
  for (const t of tables) t.presence.fail(undefined);
}

function open(server: RendezvousServer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(server.address.port, server.address.host, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the server has closed the socket (end or reset). */
function closedByServer(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    s.on('error', () => {});
    s.resume();
    s.once('close', () => resolve());
  });
}

test('garbage bytes and huge length prefixes close the connection without allocating what they announce', async () => {
  await withServer(async (server, events) => {
    const before = process.memoryUsage().arrayBuffers;
    const garbage: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      const s = await open(server);
      const closed = closedByServer(s);
      const bytes = Buffer.alloc(4096);
      for (let k = 0; k < bytes.length; k++) bytes[k] = (i * 131 + k * 7919) & 0xff;
      s.write(bytes);
      garbage.push(closed);
    }
    // Headers announcing 4 GiB and 64 kB + 1 (just over the control limit), as control and as data frames.
    for (const [len, hi] of [[0xffffffff, CONTROL_HI], [0xffffffff, 0], [64 * 1024 + 1, CONTROL_HI]] as const) {
      const s = await open(server);
      const closed = closedByServer(s);
      const head = Buffer.alloc(FRAME_HEADER_BYTES);
      head.writeUInt32LE(len, 0);
      head.writeUInt32LE(11, 4);
      head.writeUInt32LE(hi, 8);
      s.write(head);
      s.write(Buffer.alloc(1024, 1));
      garbage.push(closed);
    }
    await Promise.all(garbage);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64e6, 'no announced size was allocated');
    assert.ok(events.some((e) => e.event === 'error' && /refused a 4294967295-byte frame/.test(e.reason ?? '')), JSON.stringify(events.slice(0, 5)));
    await realRendezvous(server, 'after-garbage');
  });
});

test('a slow drip and 200 silent connections at once are dropped at the handshake deadline; real ranks get through meanwhile', async () => {
  await withServer(async (server, events) => {
    // A client that sends a valid frame header, then one byte of body at a time.
    const drip = await open(server);
    const dripClosed = closedByServer(drip);
    const head = Buffer.alloc(FRAME_HEADER_BYTES);
    head.writeUInt32LE(1000, 0);
    head.writeUInt32LE(11, 4);
    head.writeUInt32LE(CONTROL_HI, 8);
    drip.write(head);
    let dripping = true;
    void dripClosed.then(() => (dripping = false));
    const tick = setInterval(() => {
      if (dripping) drip.write(Buffer.from([7]));
    }, 50);
    // 200 connections that never say anything.
    const silent = await Promise.all(Array.from({ length: 200 }, () => open(server)));
    const silentClosed = silent.map(closedByServer);
    try {
      // The flood does not stop a real rendezvous.
      const started = Date.now();
      await realRendezvous(server, 'during-flood');
      assert.ok(Date.now() - started < HANDSHAKE_MS * 10);
      // Every abusive connection is closed by the server once its handshake time is up.
      await Promise.all([dripClosed, ...silentClosed]);
    } finally {
      clearInterval(tick);
      drip.destroy();
      for (const s of silent) s.destroy();
    }
    assert.equal(dripping, false);
    assert.ok(events.filter((e) => e.event === 'error' && /deadline/.test(e.reason ?? '')).length >= 200, 'each silent client timed out');
    assert.deepEqual(server.status().filter((g) => !g.complete), [], 'no half-registered group is left');
    await realRendezvous(server, 'after-flood');
  });
});
