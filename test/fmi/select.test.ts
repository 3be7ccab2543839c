import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Channel } from '../../src/fmi/channel.js';
import { createInprocWorld } from '../../src/fmi/channels/inproc/index.js';
import { Communicator } from '../../src/fmi/communicator.js';
import { ALGORITHMS, algorithmShape, selectAlgorithm, type CollectiveOp } from '../../src/fmi/collectives/select.js';
import { partnersOf } from '../../src/fmi/collectives/partners.js';

/** Wraps channels to count the messages a collective really sends and whom each rank talks to. */
function counted(channels: Channel[]) {
  let messages = 0;
  const talked = channels.map(() => new Set<number>());
  const wrapped = channels.map((ch, r): Channel => ({
    kind: ch.kind,
    rank: ch.rank,
    worldSize: ch.worldSize,
    send: (dest, tag, payload, deadline) => {
      messages++;
      talked[r].add(dest);
      talked[dest].add(r);
      return ch.send(dest, tag, payload, deadline);
    },
    recv: (source, tag, deadline) => ch.recv(source, tag, deadline),
    absentRanks: (deadline) => ch.absentRanks(deadline),
    close: () => ch.close(),
  }));
  return { wrapped, count: () => messages, reset: () => void (messages = 0), talked };
}

async function runOp(comm: Communicator, op: CollectiveOp, algorithm: string, root: number): Promise<unknown> {
  const o = { algorithm };
  switch (op) {
    case 'barrier':
      return comm.barrier(o);
    case 'bcast':
      return comm.bcast(comm.rank === root ? 1 : undefined, root, o);
    case 'reduce':
      return comm.reduce(1, 'sum', root, o);
    case 'allreduce':
      return comm.allreduce(1, 'sum', o);
    case 'scan':
      return comm.scan(1, algorithm === 'linear' ? { fn: (a: number, b: number) => a + b, associative: false, commutative: true } : 'sum', o);
    case 'gather':
      return comm.gather(1, root, o);
    case 'scatter':
      return comm.scatter(comm.rank === root ? Array.from({ length: comm.size }, () => 1) : undefined, root, o);
    case 'allgather':
      return comm.allgather(1, o);
  }
}

test('each algorithm sends exactly the messages its model entry says, and talks only to its partners', async () => {
  for (const n of [1, 2, 3, 5, 8, 13, 32, 33]) {
    const c = counted(createInprocWorld(n));
    const comms = c.wrapped.map((ch) => new Communicator(ch));
    for (const op of Object.keys(ALGORITHMS) as CollectiveOp[]) {
      for (const algorithm of ALGORITHMS[op]) {
        const root = n > 2 ? 2 : 0;
        c.reset();
        c.talked.forEach((s) => s.clear());
        await Promise.all(comms.map((comm) => runOp(comm, op, algorithm, root)));
        // reduce/gather-fold is a gather, whose model matches; non-associative scan is the linear chain.
        assert.equal(c.count(), algorithmShape(op, algorithm, n).messages, `${op}/${algorithm} at n=${n}`);
        for (let r = 0; r < n; r++) {
          const partners = new Set(partnersOf(op, algorithm, r, n, root));
          for (const p of c.talked[r]) assert.ok(partners.has(p), `${op}/${algorithm} n=${n}: rank ${r} talked to ${p}, not among its partners ${[...partners]}`);
        }
      }
    }
    await Promise.all(comms.map((x) => x.close()));
  }
});

test('the model prefers few rounds with a core per rank and few messages when ranks share cores', () => {
  assert.equal(selectAlgorithm('barrier', 200, { ranksPerCore: 1 }).algorithm, 'dissemination');
  assert.equal(selectAlgorithm('allreduce', 200, { ranksPerCore: 1 }).algorithm, 'recursive-doubling');
  assert.equal(selectAlgorithm('barrier', 200, { ranksPerCore: 100 }).algorithm, 'tree');
  assert.equal(selectAlgorithm('allreduce', 200, { ranksPerCore: 100 }).algorithm, 'reduce-bcast');
  assert.equal(selectAlgorithm('allgather', 200, { ranksPerCore: 100 }).algorithm, 'gather-bcast');
  assert.equal(selectAlgorithm('scan', 200, { ranksPerCore: 100 }).algorithm, 'tree');
  // Operator properties restrict the choice before cost is considered.
  assert.equal(selectAlgorithm('allreduce', 8, { associative: false }).algorithm, 'reduce-bcast');
  assert.equal(selectAlgorithm('scan', 8, { associative: false }).algorithm, 'linear');
  const s = selectAlgorithm('allreduce', 200, { ranksPerCore: 100 });
  assert.equal(s.candidates.length, 2);
  assert.ok(s.candidates[0].estimatedUs <= s.candidates[1].estimatedUs);
  assert.deepEqual(algorithmShape('allreduce', 'recursive-doubling', 200), { rounds: 9, messages: 128 * 7 + 2 * 72 });
  assert.throws(() => selectAlgorithm('alltoall' as CollectiveOp, 4), /unknown collective "alltoall"/);
  assert.throws(() => algorithmShape('barrier', 'ring', 4), /unknown algorithm "ring" for barrier/);
});

test('a communicator follows the model and explicit choices, and rejects unknown algorithms', async () => {
  const channels = createInprocWorld(4);
  const shared = new Communicator(channels[0], { ranksPerCore: 4 });
  assert.equal(shared.algorithmFor('barrier'), selectAlgorithm('barrier', 4, { ranksPerCore: 4 }).algorithm);
  const forced = new Communicator(channels[0], { algorithms: { barrier: 'tree' } });
  assert.equal(forced.algorithmFor('barrier'), 'tree');
  // A forced algorithm the operator cannot use correctly gives way to one that can.
  const chain = { fn: (a: number, b: number) => a - b, associative: false, commutative: false };
  assert.equal(new Communicator(channels[0], { algorithms: { allreduce: 'recursive-doubling' } }).algorithmFor('allreduce', chain), 'reduce-bcast');
  assert.throws(() => new Communicator(channels[0], { algorithms: { barrier: 'ring' } }), /unknown algorithm "ring" for barrier/);
  await assert.rejects(shared.barrier({ algorithm: 'ring' }), /unknown algorithm "ring"/);
  await Promise.all(channels.map((c) => c.close()));
});
