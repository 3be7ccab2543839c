import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { S3Storage } from '../../src/storage/s3/s3-storage.js';
import { openStorage, splitManifestUri } from '../../src/storage/index.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { DataError, UnavailableError } from '../../src/errors.js';
import { startS3, S3RVER_CREDENTIALS, type S3Fixture } from '../support/s3rver.js';
import { scaled } from '../support/time-scale.js';

let s3: S3Fixture;
before(async () => {
  s3 = await startS3();
});
after(async () => {
  await s3.stop();
});

const storage = (prefix: string, pageSize?: number): S3Storage =>
  new S3Storage({ bucket: s3.bucket, prefix, endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS, ...(pageSize ? { pageSize } : {}) });

test('put, get, head and delete round-trip under a prefix', async () => {
  const st = storage('runs/one');
  assert.equal(st.location, `s3://${s3.bucket}/runs/one`);
  const bytes = new Uint8Array(70_000).map((_, i) => i % 251);
  await st.put('results/x/rank-00001.json', bytes);
  await st.put('note.txt', 'hello');
  assert.deepEqual(await st.get('results/x/rank-00001.json'), bytes);
  assert.equal(Buffer.from(await st.get('note.txt')).toString(), 'hello');
  assert.deepEqual(await st.head('note.txt'), { key: 'note.txt', size: 5 });
  assert.equal(await st.head('absent.txt'), undefined);
  await st.delete('note.txt');
  assert.equal(await st.head('note.txt'), undefined);
  await st.delete('note.txt'); // deleting a missing object succeeds
  // The object really lives under the prefix in the bucket.
  assert.deepEqual(await storage('').head('runs/one/results/x/rank-00001.json'), { key: 'runs/one/results/x/rank-00001.json', size: 70_000 });
});

test('get names the object when it is missing or larger than allowed', async () => {
  const st = storage('g');
  await assert.rejects(st.get('nope.bin'), (e: unknown) => e instanceof DataError && e.message === `s3://${s3.bucket}/g/nope.bin: not found`);
  await st.put('big.bin', new Uint8Array(5000));
  await assert.rejects(st.get('big.bin', { maxBytes: 4999 }), (e: unknown) => e instanceof DataError && /big\.bin: is 5000 bytes, more than the 4999-byte limit/.test(e.message));
  assert.equal((await st.get('big.bin', { maxBytes: 5000 })).byteLength, 5000);
});

/** A client that records the name of every command it sends. */
function recordingClient(endpoint: string, names: string[]): S3Client {
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  client.middlewareStack.add((next, context) => async (args) => {
    names.push(String(context.commandName));
    return next(args);
  }, { step: 'initialize' });
  return client;
}

async function fillListing(st: S3Storage): Promise<string[]> {
  const keys = Array.from({ length: 23 }, (_, i) => `data/partitions/part-${String(22 - i).padStart(5, '0')}.safetensors`);
  for (const k of keys) await st.put(k, k);
  await st.put('data/partitionsX', 'x');
  await st.put('other/file', 'y');
  return keys;
}

test('list pages by continuation token (s3rver with the legacy cipher its tokens need)', async () => {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'cai-s3rver-tokens-'));
  const bin = join(import.meta.dirname, '../../node_modules/s3rver/bin/s3rver.js');
  const proc = spawn(process.execPath, ['--openssl-legacy-provider', bin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '-s', '--configure-bucket', 'cai-tokens'], { stdio: 'ignore' });
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    const names: string[] = [];
    const client = recordingClient(`http://127.0.0.1:${port}`, names);
    const st = new S3Storage({ bucket: 'cai-tokens', prefix: 'l', client, pageSize: 7 });
    // The server is up once it answers; wait for that, within a deadline the suite can stretch.
    const deadline = Date.now() + scaled(10_000);
    for (;;) {
      try {
        await st.head('probe');
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const keys = await fillListing(st);
    names.length = 0;
    const listed = await st.list('data/partitions/');
    assert.deepEqual(listed.map((o) => o.key), [...keys].sort());
    assert.deepEqual(names, ['ListObjectsV2Command', 'ListObjectsV2Command', 'ListObjectsV2Command', 'ListObjectsV2Command'], '23 keys in pages of 7 take 4 token-paged requests');
    client.destroy();
  } finally {
    proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('list falls back to marker paging where the server cannot make tokens; sorted, prefix-exact, relative keys', async () => {
  const names: string[] = [];
  const st = new S3Storage({ bucket: s3.bucket, prefix: 'l', client: recordingClient(s3.endpoint, names), pageSize: 7 });
  const keys = await fillListing(st);
  names.length = 0;
  const listed = await st.list('data/partitions/');
  assert.deepEqual(
    listed.map((o) => o.key),
    [...keys].sort(),
  );
  assert.deepEqual(names, ['ListObjectsV2Command', 'ListObjectsCommand', 'ListObjectsCommand', 'ListObjectsCommand', 'ListObjectsCommand']);
  assert.ok(listed.every((o) => o.size === o.key.length));
  assert.equal((await st.list('data/partitions')).length, 24, 'a prefix without slash also matches partitionsX');
  assert.equal((await st.list('')).length, 25);
  assert.deepEqual(await st.list('missing/'), []);
});

test('unsafe keys are refused before any request', async () => {
  const st = storage('u');
  await assert.rejects(st.get('../escape'), DataError);
  await assert.rejects(st.put('/abs', 'x'), DataError);
  assert.throws(() => new S3Storage({ bucket: 'Bad_Bucket' }), DataError);
});

test('an unreachable endpoint is UnavailableError', async () => {
  const st = new S3Storage({ bucket: 'cai-test', endpoint: 'http://127.0.0.1:9', credentials: S3RVER_CREDENTIALS });
  await assert.rejects(st.head('x'), (e: unknown) => e instanceof UnavailableError && /s3:\/\/cai-test\/x: head failed/.test(e.message));
});

test('openStorage picks the backend from the URI; the S3 endpoint comes from the environment', async () => {
  const saved = { ...process.env };
  process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  try {
    const st = openStorage(`s3://${s3.bucket}/via-env/`);
    assert.ok(st instanceof S3Storage);
    assert.equal(st.location, `s3://${s3.bucket}/via-env`);
    await st.put('k.txt', 'v');
    assert.equal(Buffer.from(await storage('via-env').get('k.txt')).toString(), 'v');
    assert.ok(openStorage('/tmp/somewhere') instanceof LocalStorage);
    assert.ok(openStorage('file:///tmp/somewhere') instanceof LocalStorage);
    assert.throws(() => openStorage('http://example.com/x'), /unsupported storage URI/);
  } finally {
    process.env = saved;
  }
});

test('splitManifestUri finds the storage root and manifest key', () => {
  assert.deepEqual(splitManifestUri('s3://b/p/q/manifest.json', () => false), { root: 's3://b/p/q', manifestKey: 'manifest.json' });
  assert.deepEqual(splitManifestUri('s3://b/p/', () => false), { root: 's3://b/p', manifestKey: 'manifest.json' });
  assert.deepEqual(splitManifestUri('/d/data', () => true), { root: '/d/data', manifestKey: 'manifest.json' });
  assert.deepEqual(splitManifestUri('/d/data/m.json', () => false), { root: '/d/data', manifestKey: 'm.json' });
});
