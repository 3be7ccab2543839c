import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpChannel } from '../../../../src/fmi/channels/tcp/channel.js';
import { Communicator } from '../../../../src/fmi/communicator.js';
import { FmiDeadlineError } from '../../../../src/fmi/errors.js';
import { UsageError } from '../../../../src/errors.js';
import { RendezvousServer } from '../../../../src/fmi/channels/tcp/rendezvous/server.js';
import { connectTcpChannels, randomSecret } from '../../../../src/fmi/testing/world.js';
import { scaled, within } from '../../../support/time-scale.js';
import { killMidAllreduce } from '../fixtures/kill-mid-allreduce.js';
import { spawnRank } from '../fixtures/spawn-rank.js';

const secret = randomSecret();

/** rank-process.ts settings for a TCP rank of `communicator` meeting at `server`. */
function tcpRank(server: RendezvousServer, rank: number, worldSize: number, communicator: string, extra: Record<string, string> = {}): Record<string, string> {
  return { FMI_CHANNEL: 'tcp', FMI_ENDPOINT: JSON.stringify({ rendezvous: `127.0.0.1:${server.address.port}` }), FMI_RANK: String(rank), FMI_WORLD_SIZE: String(worldSize), FMI_COMMUNICATOR: communicator, FMI_RUN_ID: 'r1', FMI_SECRET: secret, ...extra };
}

test('a rank that never reaches the rendezvous: every other rank fails by the deadline naming it', async () => {
  const server = await RendezvousServer.start({ secret });
  try {
    const started = Date.now();
    const outcomes = await Promise.allSettled(
      [0, 1, 3].map((rank) => TcpChannel.connect({ communicator: 'late', runId: 'r1', rank, worldSize: 4, secret, maxFrameBytes: 1024 }, { rendezvous: server.address, deadline: started + scaled(600) })),
    );
    assert.ok(Date.now() - started < scaled(600 + 1500), 'failed promptly');
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected');
      const e = (o as PromiseRejectedResult).reason;
      assert.ok(e instanceof FmiDeadlineError, String(e));
      assert.deepEqual(e.ranks, [2]);
      assert.match(e.message, /^rendezvous for rank \d of "late" run "r1": deadline passed while waiting for rank 2 \(never joined\)$/);
    }
  } finally {
    await server.close();
  }
});

test('a rank that leaves before every rank joined: the others stop waiting at once, naming it, and so does any rank that comes later', async () => {
  const server = await RendezvousServer.start({ secret });
  const config = (rank: number) => ({ communicator: 'quitter', runId: 'r1', rank, worldSize: 4, secret, maxFrameBytes: 1024 });
  // Rank 2 is a real process: it registers, then dies before rank 3 ever comes.
  const quitter = spawnRank(tcpRank(server, 2, 4, 'quitter', { FMI_SETUP_MS: String(scaled(60_000)) }));
  try {
    const admitted: (() => void)[] = [];
    const registered = [0, 1].map((rank) => new Promise<void>((resolve) => (admitted[rank] = resolve)));
    const waiting = [0, 1].map((rank) => TcpChannel.connect(config(rank), { rendezvous: server.address, deadline: within(60_000), onRegistered: () => admitted[rank]!() }));
    await Promise.all([...registered, quitter.waitFor((e) => e.event === 'registered', scaled(20_000))]);
    const killedAt = Date.now();
    quitter.child.kill('SIGKILL');
    const outcomes = await Promise.allSettled(waiting);
    assert.ok(Date.now() - killedAt < scaled(5000), 'they did not wait for their deadline');
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected');
      const e = (o as PromiseRejectedResult).reason;
      assert.ok(e instanceof FmiDeadlineError, String(e));
      assert.deepEqual(e.ranks, [2]);
      assert.match(e.message, /^rendezvous for rank [01] of "quitter" run "r1": stopped waiting for rank 2 \(left\)$/);
    }
    await assert.rejects(TcpChannel.connect(config(3), { rendezvous: server.address, deadline: within(5000) }), (e: unknown) => e instanceof FmiDeadlineError && e.message === 'rendezvous for rank 3 of "quitter" run "r1": stopped waiting for rank 2 (left)');
  } finally {
    quitter.child.kill('SIGKILL');
    await server.close();
  }
});

test('a rank that gives up joining is, to the others, a rank that left', async () => {
  const server = await RendezvousServer.start({ secret });
  try {
    const config = (rank: number) => ({ communicator: 'giver', runId: 'r1', rank, worldSize: 4, secret, maxFrameBytes: 1024 });
    const give = new AbortController();
    const admitted: (() => void)[] = [];
    const registered = [0, 1, 2].map((rank) => new Promise<void>((resolve) => (admitted[rank] = resolve)));
    const connect = (rank: number, signal?: AbortSignal) => TcpChannel.connect(config(rank), { rendezvous: server.address, deadline: within(60_000), onRegistered: () => admitted[rank]!(), signal });
    const waiting = [connect(0), connect(1)];
    const giver = connect(2, give.signal);
    await Promise.all(registered);
    give.abort();
    await assert.rejects(giver, (e: unknown) => e instanceof UsageError && /^rendezvous for rank 2 of "giver" run "r1": given up by this rank$/.test(e.message));
    for (const o of await Promise.allSettled(waiting)) {
      assert.equal(o.status, 'rejected');
      assert.match(String((o as PromiseRejectedResult).reason.message), /^rendezvous for rank [01] of "giver" run "r1": stopped waiting for rank 2 \(left\)$/);
    }
  } finally {
    await server.close();
  }
});

test('a rank process killed mid-allreduce: every other rank fails by its deadline naming the dead rank', async () => {
  const server = await RendezvousServer.start({ secret });
  const worldSize = 4;
  const victimRank = 2;
  const child = spawnRank(tcpRank(server, victimRank, worldSize, 'kill', { FMI_SETUP_MS: String(scaled(20_000)), FMI_TIMEOUT_MS: String(scaled(2000)) }));
  let channels: TcpChannel[] = [];
  try {
    // The other ranks live in this process; the victim is a real process we can kill.
    channels = await Promise.all([0, 1, 3].map((rank) => TcpChannel.connect({ communicator: 'kill', runId: 'r1', rank, worldSize, secret, maxFrameBytes: 1 << 20 }, { rendezvous: server.address, deadline: within(20_000) })));
    // Its connection to the rendezvous server closed with it, so every rank knows it left: each names it,
    // and only it, whether it waited on the dead rank itself or on a rank that was stuck behind it.
    await killMidAllreduce(child, channels, { worldSize, victimRank, after: 20, timeoutMs: 1500, message: /^fmi allreduce #\d+ on rank \d\/4 of "kill": (deadline passed while waiting|stopped waiting) for rank 2 \(left\)$/ });
  } finally {
    child.child.kill('SIGKILL');
    await Promise.all(channels.map((c) => c.close()));
    await server.close();
  }
});

test('a rank process with the wrong secret is refused with a clear one-line error and exit code 2', async () => {
  const server = await RendezvousServer.start({ secret });
  try {
    const child = spawnRank(tcpRank(server, 0, 2, 'wrong', { FMI_SECRET: 'not-the-secret-' + 'q'.repeat(20) }));
    const code = await child.exited;
    assert.equal(code, 2);
    const err = child.events.find((e) => e.event === 'error')!;
    assert.equal(err.name, 'FmiRefusedError');
    assert.match(err.message as string, /^rendezvous server 127\.0\.0\.1:\d+: refused: authentication failed: the proof does not match this server's secret \(wrong secret\?\)$/);
    assert.deepEqual(server.status(), []);
  } finally {
    await server.close();
  }
});

test('a rank that leaves one big world: all 39 others name it (world of 40 in one process)', async () => {
  const server = await RendezvousServer.start({ secret });
  try {
    const channels = await connectTcpChannels(40, server.address, { secret });
    const comms = channels.map((ch) => new Communicator(ch, { timeoutMs: scaled(800) }));
    await channels[17]!.close();
    const deadline = within(800);
    const outcomes = await Promise.allSettled(comms.filter((c) => c.rank !== 17).map((c) => c.allreduce(1, 'sum', { deadline, algorithm: 'recursive-doubling' })));
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected');
      const e = (o as PromiseRejectedResult).reason as FmiDeadlineError;
      assert.deepEqual(e.ranks, [17], e.message);
      assert.equal(e.absence.get(17), 'left', e.message);
    }
    await Promise.all(channels.map((c) => c.close()));
  } finally {
    await server.close();
  }
});
