import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TcpChannel } from '../../../../src/fmi/channels/tcp/channel.js';
import { partnersOf } from '../../../../src/fmi/collectives/partners.js';
import { startTcpWorld } from '../../../../src/fmi/testing/world.js';
import { until } from '../../../support/time-scale.js';

test('megabyte arrays cross loopback TCP intact (allreduce, bcast, gather)', async () => {
  const w = await startTcpWorld(3);
  try {
    const n = 1 << 17; // 1 MiB of float64 per rank
    const inputs = w.comms.map((c) => Float64Array.from({ length: n }, (_, i) => (i % 1000) * (c.rank + 1)));
    const sums = await Promise.all(w.comms.map((c) => c.allreduce(inputs[c.rank], 'sum')));
    for (const s of sums) {
      assert.equal(s.length, n);
      for (const i of [0, 1, 999, 1000, n - 1]) assert.equal(s[i], (i % 1000) * 6);
    }
    const big = new Uint8Array(3 << 20).map((_, i) => i * 7);
    const got = await Promise.all(w.comms.map((c) => c.bcast(c.rank === 1 ? big : undefined, 1)));
    for (const g of got) assert.deepStrictEqual(g, big);
    const gathered = await Promise.all(w.comms.map((c) => c.gather(inputs[c.rank], 2)));
    assert.deepStrictEqual(gathered[2], inputs);
  } finally {
    await w.close();
  }
});

test('ranks connect on first use, only to partners, with exactly one connection per pair', async () => {
  const w = await startTcpWorld(12);
  try {
    const channels = w.channels as TcpChannel[];
    assert.deepEqual(channels.map((c) => c.connectedPeers.length), Array(12).fill(0), 'nothing connected before the first message');
    // Recursive doubling makes partners dial each other at the same moment: the tie-break must leave one link.
    await Promise.all(w.comms.map((c) => c.allreduce(c.rank, 'sum', { algorithm: 'recursive-doubling' })));
    await Promise.all(w.comms.map((c) => c.barrier({ algorithm: 'dissemination' })));
    // Refused duplicate dials close on their own; besides its peer links a rank holds its rendezvous connection.
    const sockets = (ch: TcpChannel) => (ch as unknown as { sockets: Set<unknown> }).sockets.size;
    await until(() => channels.every((ch) => sockets(ch) === ch.connectedPeers.length + 1), 'refused duplicate dials have closed');
    for (const ch of channels) {
      const expected = new Set([...partnersOf('allreduce', 'recursive-doubling', ch.rank, 12), ...partnersOf('barrier', 'dissemination', ch.rank, 12)]);
      for (const p of ch.connectedPeers) {
        assert.ok(expected.has(p), `rank ${ch.rank} connected to non-partner ${p}`);
        assert.ok(channels[p].connectedPeers.includes(ch.rank), `link ${ch.rank}-${p} is one-sided`);
      }
      assert.equal(sockets(ch), ch.connectedPeers.length + 1, `rank ${ch.rank} holds extra sockets`);
    }
  } finally {
    await w.close();
  }
});
