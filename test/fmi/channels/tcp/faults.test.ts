import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TcpChannel } from '../../../../src/fmi/channels/tcp/channel.js';
import { Communicator } from '../../../../src/fmi/communicator.js';
import { FmiDeadlineError } from '../../../../src/fmi/errors.js';
import { RendezvousServer } from '../../../../src/fmi/channels/tcp/rendezvous/server.js';
import { connectTcpChannels, randomSecret } from '../../../../src/fmi/testing/world.js';

const secret = randomSecret();

interface RankProcess {
  child: ChildProcess;
  events: Record<string, unknown>[];
  waitFor(pred: (e: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

function spawnRank(env: Record<string, string>): RankProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fmi/channels/tcp/fixtures/rank-process.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const events: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    events.push(JSON.parse(line));
    for (const l of listeners) l();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    events,
    exited,
    waitFor: (pred, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = events.find(pred);
          if (hit) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events.slice(-3))}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
  };
}

test('a rank that never reaches the rendezvous: every other rank fails by the deadline naming it', async () => {
  const server = await RendezvousServer.start({ secret });
  try {
    const started = Date.now();
    const outcomes = await Promise.allSettled(
      [0, 1, 3].map((rank) => TcpChannel.connect({ communicator: 'late', runId: 'r1', rank, worldSize: 4, secret, maxFrameBytes: 1024 }, { rendezvous: server.address, deadline: started + 600 })),
    );
    assert.ok(Date.now() - started < 600 + 1500, 'failed promptly');
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected');
      const e = (o as PromiseRejectedResult).reason;
      assert.ok(e instanceof FmiDeadlineError, String(e));
      assert.deepEqual(e.ranks, [2]);
      assert.match(e.message, /^rendezvous for rank \d of "late" run "r1": deadline passed while waiting for rank 2$/);
    }
  } finally {
    await server.close();
  }
});

test('a rank process killed mid-allreduce: every other rank fails by its deadline naming the dead rank', async () => {
  const server = await RendezvousServer.start({ secret });
  const worldSize = 4;
  const victimRank = 2;
  const child = spawnRank({
    FMI_RANK: String(victimRank),
    FMI_WORLD_SIZE: String(worldSize),
    FMI_COMMUNICATOR: 'kill',
    FMI_RUN_ID: 'r1',
    FMI_SECRET: secret,
    FMI_RENDEZVOUS_PORT: String(server.address.port),
    FMI_SETUP_MS: '20000',
  });
  let channels: TcpChannel[] = [];
  try {
    // The other ranks live in this process; the victim is a real process we can kill.
    const others = [0, 1, 3];
    channels = await Promise.all(others.map((rank) => TcpChannel.connect({ communicator: 'kill', runId: 'r1', rank, worldSize, secret, maxFrameBytes: 1 << 20 }, { rendezvous: server.address, deadline: Date.now() + 20000 })));
    const comms = channels.map((ch) => new Communicator(ch, { name: 'kill', timeoutMs: 1500 }));
    let killedAt = 0;
    // Kill the victim while everyone is mid-stream, from outside the ranks' loops: a rank that stopped to
    // do the killing would itself be the rank the others wait for.
    const killer = (async () => {
      await child.waitFor((e) => e.event === 'iteration' && (e.i as number) >= 20, 10000);
      child.child.kill('SIGKILL');
      killedAt = Date.now();
    })();
    const loops = comms.map(async (comm) => {
      for (let i = 0; ; i++) {
        const sum = await comm.allreduce(i, 'sum');
        assert.equal(sum, i * worldSize);
      }
    });
    const outcomes = await Promise.allSettled(loops);
    await killer;
    assert.equal(await child.exited, null, 'victim died by signal');
    const blamed = new Map<number, readonly number[]>();
    for (const [k, o] of outcomes.entries()) {
      assert.equal(o.status, 'rejected');
      const e = (o as PromiseRejectedResult).reason;
      assert.ok(e instanceof FmiDeadlineError, `rank ${others[k]}: ${e}`);
      assert.match(e.message, /^fmi allreduce #\d+ on rank \d\/4 of "kill": deadline passed while waiting for rank \d/);
      blamed.set(others[k]!, e.ranks);
    }
    // Every rank names whom it waited for. Ranks normally trace the wait to the dead rank within the time
    // kept for it; when the machine is loaded a rank may instead name a live peer that was itself stuck on
    // the dead rank, which is what it was waiting for too. Either way the chain ends at the victim.
    const namingVictim = [...blamed].filter(([, r]) => r.length === 1 && r[0] === victimRank).map(([rank]) => rank);
    assert.ok(namingVictim.length > 0, `some rank names the dead rank: ${JSON.stringify([...blamed])}`);
    for (const [rank, r] of blamed) {
      assert.ok(r.length > 0 && r.every((x) => x === victimRank || namingVictim.includes(x)), `rank ${rank} names ${r}, which leads to the dead rank`);
    }
    assert.ok(Date.now() - killedAt < 1500 + 2000, 'no rank hung past its deadline');
  } finally {
    child.child.kill('SIGKILL');
    await Promise.all(channels.map((c) => c.close()));
    await server.close();
  }
});

test('a rank process with the wrong secret is refused with a clear one-line error and exit code 2', async () => {
  const server = await RendezvousServer.start({ secret });
  try {
    const child = spawnRank({
      FMI_RANK: '0',
      FMI_WORLD_SIZE: '2',
      FMI_COMMUNICATOR: 'wrong',
      FMI_RUN_ID: 'r1',
      FMI_SECRET: 'not-the-secret-' + 'q'.repeat(20),
      FMI_RENDEZVOUS_PORT: String(server.address.port),
    });
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

test('a stalled rank in one big world: all 39 others name it (world of 40 in one process)', async () => {
  const server = await RendezvousServer.start({ secret });
  try {
    const channels = await connectTcpChannels(40, server.address, { secret });
    const comms = channels.map((ch) => new Communicator(ch, { timeoutMs: 800 }));
    const deadline = Date.now() + 800;
    const outcomes = await Promise.allSettled(comms.filter((c) => c.rank !== 17).map((c) => c.allreduce(1, 'sum', { deadline, algorithm: 'recursive-doubling' })));
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected');
      assert.deepEqual((o as PromiseRejectedResult).reason.ranks, [17], (o as PromiseRejectedResult).reason.message);
    }
    await Promise.all(channels.map((c) => c.close()));
  } finally {
    await server.close();
  }
});
