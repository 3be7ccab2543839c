import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpChannel } from '../../../../src/fmi/channels/tcp/channel.js';
import { FRAME_HEADER_BYTES } from '../../../../src/fmi/channels/tcp/framing.js';
import { FmiProtocolError, FmiRefusedError } from '../../../../src/fmi/errors.js';
import { RendezvousServer, type RendezvousEvent } from '../../../../src/fmi/channels/tcp/rendezvous/server.js';
import type { PeerAddress } from '../../../../src/fmi/channels/tcp/rendezvous/protocol.js';
import { randomSecret } from '../../../../src/fmi/testing/world.js';
import { UsageError } from '../../../../src/errors.js';

const SECRET = randomSecret();
const cfg = (over: Partial<Parameters<typeof TcpChannel.connect>[0]> = {}) => ({ communicator: 'sec', runId: 'run-2', rank: 0, worldSize: 2, secret: SECRET, maxFrameBytes: 1 << 20, ...over });

async function withServer(fn: (server: RendezvousServer, events: RendezvousEvent[]) => Promise<void>): Promise<void> {
  const events: RendezvousEvent[] = [];
  const server = await RendezvousServer.start({ secret: SECRET, log: (e) => events.push(e) });
  try {
    await fn(server, events);
  } finally {
    await server.close();
  }
  assert.ok(!JSON.stringify(events).includes(SECRET), 'the secret reached the log');
}

/** A lone rank 1 of a two-rank world, reachable at a fixed address, to be probed by impostors. */
async function victim(maxFrameBytes = 1 << 20): Promise<{ ch: TcpChannel; table: PeerAddress[] }> {
  const ch = await TcpChannel.connect(cfg({ rank: 1, maxFrameBytes }), { addresses: [{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.1', port: 0 }] });
  return { ch, table: [{ host: '127.0.0.1', port: 1 }, ch.listenAddress] };
}

async function impostor(table: PeerAddress[], over: Partial<Parameters<typeof TcpChannel.connect>[0]>): Promise<TcpChannel> {
  return TcpChannel.connect(cfg({ rank: 0, ...over }), { addresses: table, listenPort: 0 });
}

test('the rendezvous server refuses a wrong secret, and the refused rank gets a clear error', async () => {
  await withServer(async (server, events) => {
    const wrong = 'x'.repeat(40);
    await assert.rejects(TcpChannel.connect(cfg({ secret: wrong }), { rendezvous: server.address, deadline: Date.now() + 5000 }), (e: unknown) => {
      assert.ok(e instanceof FmiRefusedError, String(e));
      assert.match(e.message, /^rendezvous server 127\.0\.0\.1:\d+: refused: authentication failed/);
      assert.ok(!e.message.includes(wrong) && !e.message.includes(SECRET));
      return true;
    });
    assert.ok(events.some((e) => e.event === 'refused' && e.rank === 0 && /authentication failed/.test(e.reason ?? '')));
    assert.deepEqual(server.status(), [], 'a refused rank is not registered');
  });
});

test('a rendezvous server that does not know the secret is not trusted either', async () => {
  const impostorServer = await RendezvousServer.start({ secret: 'y'.repeat(40) });
  try {
    await assert.rejects(TcpChannel.connect(cfg(), { rendezvous: impostorServer.address, deadline: Date.now() + 5000 }), FmiRefusedError);
  } finally {
    await impostorServer.close();
  }
});

test('a duplicate rank and a peer of an older run are refused by the rendezvous server', async () => {
  await withServer(async (server) => {
    const rendezvous = server.address;
    const deadline = Date.now() + 5000;
    const first = TcpChannel.connect(cfg({ runId: 'run-1' }), { rendezvous, deadline });
    while (!server.status().some((g) => g.registered === 1)) await new Promise((r) => setTimeout(r, 5));
    await assert.rejects(TcpChannel.connect(cfg({ runId: 'run-1' }), { rendezvous, deadline }), /rank 0 is already registered for communicator "sec" run "run-1"/);
    // A newer run supersedes run-1: its waiting rank is told, and run-1 stragglers are refused from then on.
    const newer = [0, 1].map((rank) => TcpChannel.connect(cfg({ rank }), { rendezvous, deadline }));
    await assert.rejects(first, /run "run-1" was superseded by run "run-2"/);
    await assert.rejects(TcpChannel.connect(cfg({ runId: 'run-1', rank: 1 }), { rendezvous, deadline }), /run "run-1" of communicator "sec" is older than the active run "run-2"/);
    const chans = await Promise.all(newer);
    assert.deepEqual(chans.map((c) => c.peerAddresses.length), [2, 2]);
    await Promise.all(chans.map((c) => c.close()));
  });
});

test('peers refuse connections from another communicator, another run, or without the secret', async () => {
  const { ch, table } = await victim();
  try {
    const cases: [Partial<Parameters<typeof TcpChannel.connect>[0]>, RegExp][] = [
      [{ communicator: 'other' }, /^rank 0 of "other" → rank 1: refused: this endpoint does not serve communicator "other"$/],
      [{ runId: 'run-1' }, /^rank 0 of "sec" → rank 1: refused: run "run-1" is not the current run of "sec"$/],
      [{ secret: 'z'.repeat(32) }, /^rank 0 of "sec" → rank 1: refused: authentication failed \(wrong secret\?\)$/],
      [{ worldSize: 3 }, /does not match this endpoint/],
    ];
    for (const [over, message] of cases) {
      const bad = await impostor(table.concat(over.worldSize === 3 ? [{ host: '127.0.0.1', port: 1 }] : []), over);
      try {
        await assert.rejects(bad.send(1, 2, new Uint8Array([1]), Date.now() + 3000), (e: unknown) => e instanceof FmiRefusedError && message.test(e.message));
      } finally {
        await bad.close();
      }
    }
    assert.deepEqual(ch.connectedPeers, [], 'no impostor got through');
    // The genuine rank 0 does.
    const good = await impostor(table, {});
    await good.send(1, 4, new Uint8Array([9]), Date.now() + 3000);
    assert.deepEqual(await ch.recv(0, 4, Date.now() + 3000), new Uint8Array([9]));
    await good.close();
  } finally {
    await ch.close();
  }
});

test('a frame over the cap closes the connection before anything is allocated', async () => {
  const { ch, table } = await victim(1 << 20);
  try {
    const sender = await TcpChannel.connect(cfg({ rank: 0, maxFrameBytes: 64 << 20 }), { addresses: table, listenPort: 0 });
    await sender.send(1, 2, new Uint8Array([1, 2, 3]), Date.now() + 3000);
    assert.deepEqual(await ch.recv(0, 2, Date.now() + 3000), new Uint8Array([1, 2, 3]));
    // An authenticated peer announces a 4 GiB frame: only the header is ever sent.
    const before = process.memoryUsage().arrayBuffers;
    const socket = (sender as unknown as { links: { conn: { socket: import('node:net').Socket } }[] }).links[1].conn.socket;
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUInt32LE(0xffffffff, 0);
    header.writeUInt32LE(6, 4);
    socket.write(header);
    await assert.rejects(ch.recv(0, 6, Date.now() + 5000), (e: unknown) => {
      assert.ok(e instanceof FmiProtocolError, String(e));
      assert.match(e.message, /refused a 4294967295-byte frame \(limit 1048576 bytes\); connection closed/);
      return true;
    });
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'the announced frame was not allocated');
    await sender.close();
  } finally {
    await ch.close();
  }
});

test('channel configuration is checked before anything listens', async () => {
  await assert.rejects(TcpChannel.connect(cfg({ secret: 'short' }), { rendezvous: { host: '127.0.0.1', port: 1 } }), (e: unknown) => e instanceof UsageError && /at least 16 characters/.test(e.message));
  await assert.rejects(TcpChannel.connect(cfg({ rank: 2 }), { rendezvous: { host: '127.0.0.1', port: 1 } }), /rank 2 is outside 0..1/);
  await assert.rejects(TcpChannel.connect(cfg(), {}), /needs a rendezvous address or an address table/);
  await assert.rejects(TcpChannel.connect(cfg(), { rendezvous: { host: '127.0.0.1', port: 1 }, listenHost: '0.0.0.0' }), /needs an advertiseHost/);
});
