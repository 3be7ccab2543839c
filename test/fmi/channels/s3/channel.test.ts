import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { startS3, type S3Fixture } from '../../../support/s3rver.js';
import { deleteS3Prefix, openS3Channel, s3MessageKey, s3PresencePrefix, s3RunPrefix, type S3Channel } from '../../../../src/fmi/channels/s3/index.js';
import { FrameSealer } from '../../../../src/fmi/channels/sealed-frame.js';
import { within } from '../../../support/time-scale.js';
import { DataError, DeadlineError, ExitCode } from '../../../../src/errors.js';
import type { ChannelConfig } from '../../../../src/fmi/channel.js';

let s3: S3Fixture;
let runCounter = 0;
let lastRun = '';
const SECRET = 'correct horse battery staple';

before(async () => {
  s3 = await startS3();
});
after(async () => {
  await s3.stop();
});

async function world(n: number, extra: Partial<ChannelConfig> = {}): Promise<S3Channel[]> {
  const runId = (lastRun = `run${++runCounter}`);
  return Promise.all(
    Array.from({ length: n }, (_, rank) =>
      openS3Channel({ communicator: 's3-test', runId, rank, worldSize: n, secret: SECRET, maxFrameBytes: 1 << 20, ...extra }, { client: s3.client, bucket: s3.bucket, pollMaxMs: 20 }),
    ),
  );
}

async function objectsUnder(prefix: string): Promise<string[]> {
  const res = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!);
}

const soon = () => within(5000);
const bytes = (...v: number[]) => Uint8Array.from(v);
const closeAll = (chs: S3Channel[]) => Promise.all(chs.map((c) => c.close()));

describe('s3 channel', () => {
  test('delivers frames in order per (source, tag), waiting for frames sent later', async () => {
    const chs = await world(3);
    const [a, b, c] = chs;
    try {
      const received = (async () => {
        const got: number[][] = [];
        for (let i = 0; i < 4; i++) got.push([...(await c!.recv(0, 1, soon()))]);
        got.push([...(await c!.recv(1, 1, soon()))]);
        return got;
      })();
      await new Promise((r) => setTimeout(r, 30));
      for (let i = 0; i < 4; i++) await a!.send(2, 1, bytes(i, i * 3), soon());
      await b!.send(2, 1, bytes(99), soon());
      assert.deepEqual(await received, [[0, 0], [1, 3], [2, 6], [3, 9], [99]]);
    } finally {
      await closeAll(chs);
    }
    assert.deepEqual(await objectsUnder(s3RunPrefix('', 's3-test', lastRun)), []);
  });

  test('a peer that never sends gives DeadlineError naming that peer, and the late frame goes to the next receive', async () => {
    const chs = await world(2);
    const [a, b] = chs;
    try {
      const started = Date.now();
      await assert.rejects(b!.recv(0, 2, Date.now() + 250), (err: unknown) => {
        assert.ok(err instanceof DeadlineError);
        assert.deepEqual([...err.waitingFor], ['rank 0']);
        assert.equal(err.exitCode, ExitCode.timeout);
        return true;
      });
      assert.ok(Date.now() - started >= 240);
      await a!.send(1, 2, bytes(5), soon());
      assert.deepEqual([...(await b!.recv(0, 2, soon()))], [5]);
    } finally {
      await closeAll(chs);
    }
  });

  test('refuses a forged frame, a frame of another communicator, and an oversized object before reading it', async () => {
    const chs = await world(2, { maxFrameBytes: 64 });
    const [, b] = chs;
    const put = (seq: number, body: Uint8Array) => s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: s3MessageKey('', 's3-test', lastRun, 0, 1, 0, seq), Body: body }));
    try {
      await put(0, new FrameSealer('a wrong secret of some length', 's3', 's3-test', lastRun).seal(0, 1, 0, 0, bytes(1)));
      await assert.rejects(b!.recv(0, 0, soon()), (err: unknown) => err instanceof DataError && /authentication/.test(err.message) && err.message.includes('/1/0/0/0000000000/frame'));
      await put(1, new FrameSealer(SECRET, 's3', 'another-comm', lastRun).seal(0, 1, 0, 1, bytes(1)));
      await assert.rejects(b!.recv(0, 0, soon()), /authentication/);
      await put(2, new FrameSealer(SECRET, 's3', 's3-test', lastRun).seal(0, 1, 0, 2, new Uint8Array(65)));
      await assert.rejects(b!.recv(0, 0, soon()), /refused a frame of 117 bytes: exceeds the 64-byte limit/);
      await put(3, new FrameSealer(SECRET, 's3', 's3-test', lastRun).seal(0, 1, 0, 3, bytes(8)));
      assert.deepEqual([...(await b!.recv(0, 0, soon()))], [8]);
    } finally {
      await closeAll(chs);
    }
    assert.deepEqual(await objectsUnder(s3RunPrefix('', 's3-test', lastRun)), []);
  });

  test('close deletes frames that were never received', async () => {
    const chs = await world(3);
    const [a, b, c] = chs;
    await a!.send(1, 0, bytes(1), soon());
    await a!.send(2, 3, bytes(2), soon());
    await c!.send(1, 4, bytes(3), soon());
    const prefix = s3RunPrefix('', 's3-test', lastRun);
    const frames = async () => (await objectsUnder(prefix)).filter((k) => !k.startsWith(s3PresencePrefix('', 's3-test', lastRun)));
    assert.equal((await frames()).length, 3);
    assert.equal((await objectsUnder(s3PresencePrefix('', 's3-test', lastRun))).length, 3, 'every rank wrote its presence record');
    await b!.close();
    assert.deepEqual(await frames(), [s3MessageKey('', 's3-test', lastRun, 0, 2, 3, 0)]);
    assert.equal((await objectsUnder(s3PresencePrefix('', 's3-test', lastRun))).length, 2, 'rank 1 left');
    await closeAll(chs);
    assert.deepEqual(await objectsUnder(prefix), []);
  });

  test('prefix deletion pages through more objects than one listing returns', async () => {
    const prefix = 'paging/fmi/c/r/';
    const keys = Array.from({ length: 25 }, (_, i) => `${prefix}${i % 3}/${i}/0/${String(i).padStart(10, '0')}/frame`);
    await Promise.all(keys.map((Key) => s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: 'x' }))));
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'paging/keep-me', Body: 'x' }));
    assert.equal(await deleteS3Prefix(s3.client, s3.bucket, prefix, 4), 25);
    assert.deepEqual(await objectsUnder('paging/'), ['paging/keep-me']);
  });
});
