import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis, type RedisFixture } from '../../../support/redis.js';
import { openRedisChannel, redisMessageKey, type RedisChannel } from '../../../../src/fmi/channels/redis/index.js';
import { FrameSealer } from '../../../../src/fmi/channels/sealed-frame.js';
import { scaled, within } from '../../../support/time-scale.js';
import { DataError, DeadlineError, ExitCode, UnavailableError } from '../../../../src/errors.js';
import { ReplayWindow } from '../../../../src/fmi/channels/redis/replay-window.js';
import type { ChannelConfig } from '../../../../src/fmi/channel.js';
import { Communicator } from '../../../../src/fmi/communicator.js';

let redis: RedisFixture;
let admin: Redis;
let runCounter = 0;
/** The run id of the latest world(). */
let lastRun = '';

before(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});
after(async () => {
  admin.disconnect();
  await redis.stop();
});

function config(rank: number, worldSize: number, runId: string, extra: Partial<ChannelConfig> = {}): ChannelConfig {
  return { communicator: 'redis-test', runId, rank, worldSize, secret: 'correct horse battery staple', maxFrameBytes: 1 << 20, ...extra };
}

async function world(n: number, extra: Partial<ChannelConfig> = {}): Promise<RedisChannel[]> {
  const runId = (lastRun = `run${++runCounter}`);
  return Promise.all(Array.from({ length: n }, (_, r) => openRedisChannel(config(r, n, runId, extra), { url: redis.url })));
}

const soon = () => within(5000);
const bytes = (...v: number[]) => Uint8Array.from(v);

describe('replay window', () => {
  test('accepts each sequence number once, in any order', () => {
    const w = new ReplayWindow();
    assert.ok(w.accept(0));
    assert.ok(w.accept(2));
    assert.ok(w.accept(3));
    assert.equal(w.pending, 2);
    assert.ok(!w.accept(2), 'replay ahead of the floor');
    assert.ok(w.accept(1));
    assert.equal(w.pending, 0, 'the floor moved past 3');
    assert.ok(!w.accept(0), 'replay below the floor');
    assert.ok(!w.accept(3));
    assert.ok(w.accept(4));
    assert.ok(!w.accept(-1));
  });
});

describe('redis channel', () => {
  test('delivers frames per (source, tag) in send order, tags independent', async () => {
    const [a, b] = await world(2);
    try {
      for (let i = 0; i < 20; i++) await a!.send(1, i % 2, bytes(i, 255 - i), soon());
      const odd: number[] = [];
      const even: number[] = [];
      for (let i = 0; i < 10; i++) odd.push((await b!.recv(0, 1, soon()))[0]!);
      for (let i = 0; i < 10; i++) even.push((await b!.recv(0, 0, soon()))[0]!);
      assert.deepEqual(odd, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
      assert.deepEqual(even, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
      const second = await (async () => {
        await a!.send(1, 7, bytes(), soon());
        return b!.recv(0, 7, soon());
      })();
      assert.equal(second.byteLength, 0);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  test('a receive posted later completes even while an earlier one still waits', async () => {
    // Rank 0 waits on rank 1 first, but rank 1 only sends after hearing from rank 2 via rank 0.
    const [r0, r1, r2] = await world(3);
    try {
      const fromOne = r0!.recv(1, 5, soon());
      const fromTwo = r0!.recv(2, 5, soon());
      const relay = (async () => {
        const x = await r1!.recv(0, 6, soon());
        await r1!.send(0, 5, bytes(x[0]! + 1), soon());
      })();
      await r2!.send(0, 5, bytes(41), soon());
      const two = await fromTwo;
      await r0!.send(1, 6, two, soon());
      assert.deepEqual([...(await fromOne)], [42]);
      await relay;
    } finally {
      await Promise.all([r0!.close(), r1!.close(), r2!.close()]);
    }
  });

  test('65 ranks run collectives through one server and leave no keys behind', async () => {
    const chs = await world(65);
    const run = lastRun;
    try {
      const comms = chs.map((c) => new Communicator(c, { timeoutMs: 30_000, ranksPerCore: 32 }));
      const results = await Promise.all(
        comms.map(async (c) => {
          await c.barrier();
          const sum = await c.allreduce(new Float64Array([c.rank, 1]), 'sum');
          const gathered = await c.gather(c.rank * 10, 64);
          return { sum: [...sum], gathered };
        }),
      );
      for (const r of results) assert.deepEqual(r.sum, [(64 * 65) / 2, 65]);
      assert.deepEqual(results[64]!.gathered, Array.from({ length: 65 }, (_, i) => i * 10));
      assert.equal(results[0]!.gathered, undefined);
    } finally {
      await Promise.all(chs.map((c) => c.close()));
    }
    assert.deepEqual(await admin.keys(`fmi:redis-test:${run}:*`), []);
  });

  test('carries a 1 MiB payload intact', async () => {
    const [a, b] = await world(2);
    try {
      const payload = new Uint8Array(1 << 20);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
      await a!.send(1, 0, payload, soon());
      const got = await b!.recv(0, 0, soon());
      assert.equal(got.byteLength, payload.byteLength);
      assert.ok(Buffer.from(got).equals(Buffer.from(payload)));
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  test('a peer that never sends gives DeadlineError naming that peer', async () => {
    const [a, b, c] = await world(3);
    try {
      const started = Date.now();
      await assert.rejects(c!.recv(1, 3, Date.now() + 300), (err: unknown) => {
        assert.ok(err instanceof DeadlineError);
        assert.deepEqual([...err.waitingFor], ['rank 1']);
        assert.match(err.message, /rank 1/);
        assert.equal(err.exitCode, ExitCode.timeout);
        return true;
      });
      const waited = Date.now() - started;
      assert.ok(waited >= 290 && waited < scaled(2000), `waited ${waited} ms`);
      // The channel still works after a timeout, and a frame arriving late goes to the next receive.
      await b!.send(2, 3, bytes(9), soon());
      assert.deepEqual([...(await c!.recv(1, 3, soon()))], [9]);
    } finally {
      await Promise.all([a!.close(), b!.close(), c!.close()]);
    }
  });

  test('refuses forged frames, frames of another run, and oversized frames', async () => {
    const [a, b] = await world(2);
    const runId = lastRun;
    const key = redisMessageKey('redis-test', runId, 0, 1, 4);
    try {
      // Sealed with the wrong secret.
      const forger = new FrameSealer('not the secret, but long enough', 'redis', 'redis-test', runId);
      await admin.rpush(key, forger.seal(0, 1, 4, 0, bytes(1, 2, 3)));
      await assert.rejects(b!.recv(0, 4, soon()), (err: unknown) => err instanceof DataError && /authentication/.test(err.message) && err.message.includes(key));
      // A genuine frame of another run replayed into this run's list.
      const otherRun = new FrameSealer('correct horse battery staple', 'redis', 'redis-test', 'some-other-run');
      await admin.rpush(key, otherRun.seal(0, 1, 4, 1, bytes(1)));
      await assert.rejects(b!.recv(0, 4, soon()), /authentication/);
      // Garbage.
      await admin.rpush(key, Buffer.from('hello'));
      await assert.rejects(b!.recv(0, 4, soon()), /shorter than/);
      // A genuine frame over the receiver's limit.
      const [c, d] = await world(2, { maxFrameBytes: 100 });
      try {
        await c!.send(1, 0, new Uint8Array(101), soon());
        await assert.rejects(d!.recv(0, 0, soon()), /exceeds the 100-byte limit/);
      } finally {
        await Promise.all([c!.close(), d!.close()]);
      }
      // After the refusals, genuine traffic still flows.
      const ok = new FrameSealer('correct horse battery staple', 'redis', 'redis-test', runId);
      const genuine = ok.seal(0, 1, 4, 3, bytes(7));
      await admin.rpush(key, genuine);
      assert.deepEqual([...(await b!.recv(0, 4, soon()))], [7]);
      // The same frame again is a replay; moved to another tag's list it fails authentication.
      await admin.rpush(key, genuine);
      await assert.rejects(b!.recv(0, 4, soon()), /sequence number 3 was already received \(replayed frame\)/);
      await admin.rpush(redisMessageKey('redis-test', runId, 0, 1, 6), genuine);
      await assert.rejects(b!.recv(0, 6, soon()), /authentication/);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  test('close removes unreceived frames and wake lists; pending lists carry a TTL', async () => {
    const [a, b] = await world(2);
    const runId = lastRun;
    const pattern = `fmi:redis-test:${runId}:*`;
    await a!.send(1, 1, bytes(1), soon());
    await a!.send(1, 2, bytes(2), soon());
    await b!.send(0, 1, bytes(3), soon());
    // Exercise the wake list: a receive added while another blocks.
    const late = b!.recv(0, 9, soon());
    await new Promise((r) => setTimeout(r, 20));
    const later = b!.recv(0, 10, soon());
    await a!.send(1, 10, bytes(10), soon());
    assert.deepEqual([...(await later)], [10]);
    await a!.send(1, 9, bytes(9), soon());
    assert.deepEqual([...(await late)], [9]);
    const keys = await admin.keys(pattern);
    assert.ok(keys.length >= 3, `keys before close: ${keys}`);
    for (const k of keys) {
      const ttl = await admin.pttl(k);
      assert.ok(ttl > 0 && ttl <= 10 * 60 * 1000, `${k} has TTL ${ttl}`);
    }
    await a!.close();
    await b!.close();
    await b!.close(); // idempotent
    assert.deepEqual(await admin.keys(pattern), []);
    await assert.rejects(b!.recv(0, 1, soon()), /closed/);
  });

  test('uses the Redis AUTH password and fails clearly without it', async () => {
    const password = 'pw-' + Math.random().toString(36).slice(2);
    await admin.config('SET', 'requirepass', password);
    try {
      await assert.rejects(openRedisChannel(config(0, 1, 'authrun'), { url: redis.url }), (err: unknown) => {
        assert.ok(err instanceof UnavailableError);
        assert.match(err.message, /^redis 127\.0\.0\.1:\d+: cannot connect: .*(NOAUTH|auth)/i);
        assert.ok(!err.message.includes(password));
        return true;
      });
      const ch = await openRedisChannel(config(0, 1, 'authrun'), { url: redis.url, password });
      await ch.send(0, 0, bytes(5), soon());
      assert.deepEqual([...(await ch.recv(0, 0, soon()))], [5]);
      await ch.close();
    } finally {
      const authed = new Redis(redis.url, { password });
      await authed.config('SET', 'requirepass', '');
      authed.disconnect();
    }
  });

  test('a server that goes away fails waiting receives and later sends as unavailable, not as a hang', async () => {
    const own = await startRedis();
    const open = (rank: number) => openRedisChannel(config(rank, 2, 'gone'), { url: own.url });
    const [a, b] = await Promise.all([open(0), open(1)]);
    try {
      const waiting = b.recv(0, 1, within(20_000));
      const started = Date.now();
      await own.stop();
      await assert.rejects(waiting, (err: unknown) => err instanceof UnavailableError && err.message.startsWith(`redis 127.0.0.1:${own.port}: blocking receive failed`));
      assert.ok(Date.now() - started < scaled(10_000));
      // A send is handed to the connection; the failure surfaces on this endpoint's next operation.
      let failed: unknown;
      for (let i = 0; i < 50 && !failed; i++) {
        await a.send(1, 2, bytes(1), Date.now() + 1000).catch((err: unknown) => (failed = err));
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(failed instanceof UnavailableError, String(failed));
      assert.match((failed as Error).message, /send from rank 0 to rank 1 tag 2 failed/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('an unreachable server is reported as unavailable', async () => {
    await assert.rejects(openRedisChannel(config(0, 1, 'down'), { url: 'redis://127.0.0.1:1', connectTimeoutMs: 500 }), (err: unknown) => {
      return err instanceof UnavailableError && /^redis 127\.0\.0\.1:1: cannot connect/.test(err.message);
    });
  });

  test('rejects unsafe communicator names and peers outside the world', async () => {
    await assert.rejects(openRedisChannel(config(0, 1, 'x', { communicator: 'a:b*' }), { url: redis.url }), /communicator "a:b\*"/);
    const [a] = await world(1);
    try {
      await assert.rejects(a!.send(3, 0, bytes(), soon()), /peer rank 3 is outside 0\.\.0/);
    } finally {
      await a!.close();
    }
  });
});
