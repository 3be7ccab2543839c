import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, truncateSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetWriter, openDataset, openLocalDataset, samplesForPartitionBytes, bytesPerSample } from '../../src/data/dataset.js';
import { encodePartition, type Partition } from '../../src/data/partition.js';
import { samples } from './helpers/samples.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { DataError, UsageError } from '../../src/errors.js';

function tmp(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'cai-ds-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('writer cuts partitions by samples across appends and the reader verifies them', async (t) => {
  const dir = tmp(t);
  const w = await DatasetWriter.create(dir, { name: 'unit', labelled: true, partitionSamples: 4, source: { generator: 'unit' } });
  await w.append(samples(3, 100n));
  await w.append(samples(6, 103n));
  await w.append(samples(1, 109n));
  const m = await w.finish();
  assert.equal(m.samples, 10);
  assert.deepEqual(m.partitions.map((p) => p.samples), [4, 4, 2]);
  assert.deepEqual(m.partitions.map((p) => p.path), ['partitions/part-00000.safetensors', 'partitions/part-00001.safetensors', 'partitions/part-00002.safetensors']);
  assert.deepEqual(m.partitions.map((p) => [p.firstObjectId, p.lastObjectId]), [['100', '103'], ['104', '107'], ['108', '109']]);
  assert.equal(m.bytes, m.partitions.reduce((s, p) => s + p.bytes, 0));

  const ds = await openLocalDataset(dir);
  assert.equal(ds.location, join(dir, 'manifest.json'));
  assert.equal(ds.baseKey, '');
  const ids: bigint[] = [];
  for (const e of ds.manifest.partitions) {
    const p = await ds.readPartition(e);
    ids.push(...p.objectId);
    assert.ok(p.redshift);
  }
  assert.deepEqual(ids, Array.from({ length: 10 }, (_, i) => 100n + BigInt(i)));
  const viaManifest = await openLocalDataset(join(dir, 'manifest.json'));
  assert.equal(viaManifest.manifest.samples, 10);
  assert.equal(ds.partitionLocation(m.partitions[1]!), join(dir, 'partitions', 'part-00001.safetensors'));
});

test('writer sizes partitions by bytes', async (t) => {
  const dir = tmp(t);
  const per = samplesForPartitionBytes(200_000, false);
  assert.equal(per, Math.floor((200_000 - 1024) / bytesPerSample(false)));
  const w = await DatasetWriter.create(dir, { labelled: false, partitionBytes: 200_000 });
  await w.append(samples(25, 1n, true));
  const m = await w.finish();
  assert.deepEqual(m.partitions.map((p) => p.samples), [per, per, 25 - 2 * per]);
  assert.ok(m.partitions.every((p) => p.bytes <= 200_000));
  assert.equal(m.labelled, false);
  assert.equal(m.tensors.redshift, undefined);
  const ds = await openLocalDataset(dir);
  assert.equal((await ds.readPartition(m.partitions[0]!)).redshift, undefined);
});

test('a data set under a key prefix opens through the same storage', async (t) => {
  const dir = tmp(t);
  const storage = new LocalStorage(dir);
  const w = await DatasetWriter.create('sets/one', { labelled: true, partitionSamples: 5, storage });
  await w.append(samples(7, 50n));
  await w.finish();
  assert.ok(existsSync(join(dir, 'sets', 'one', 'partitions', 'part-00001.safetensors')));
  const ds = await openDataset(storage, 'sets/one/manifest.json');
  assert.equal(ds.baseKey, 'sets/one/');
  assert.equal(ds.partitionKey(ds.manifest.partitions[1]!), 'sets/one/partitions/part-00001.safetensors');
  assert.equal((await ds.readPartition(ds.manifest.partitions[1]!)).objectId[1], 56n);
});

test('writer refuses an existing data set unless overwrite is set, then removes stale partitions', async (t) => {
  const dir = tmp(t);
  const w1 = await DatasetWriter.create(dir, { labelled: true, partitionSamples: 2 });
  await w1.append(samples(6, 1n));
  await w1.finish();
  writeFileSync(join(dir, 'notes.txt'), 'keep me');
  await assert.rejects(DatasetWriter.create(dir, { labelled: true }), (e: unknown) => e instanceof UsageError && /already holds a data set/.test(e.message));
  const w2 = await DatasetWriter.create(dir, { labelled: true, partitionSamples: 5, overwrite: true });
  assert.equal(existsSync(join(dir, 'manifest.json')), false, 'old manifest removed before writing');
  await w2.append(samples(6, 1000n));
  const m = await w2.finish();
  assert.equal(m.partitions.length, 2);
  assert.equal(existsSync(join(dir, 'partitions', 'part-00002.safetensors')), false, 'stale partition deleted');
  assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'keep me');
  // A directory with unrelated files only is fine.
  const other = tmp(t);
  writeFileSync(join(other, 'README'), 'x');
  await (await DatasetWriter.create(other, { labelled: false })).finish();
});

async function writeSmall(dir: string): Promise<void> {
  const w = await DatasetWriter.create(dir, { labelled: true, partitionSamples: 3 });
  await w.append(samples(6, 10n));
  await w.finish();
}

test('hostile manifest paths are refused before any file is touched', async (t) => {
  const dir = tmp(t);
  await writeSmall(dir);
  const mpath = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(mpath, 'utf8'));
  for (const bad of ['../outside.safetensors', '/etc/passwd', 'partitions/../../x', 'a\\..\\b']) {
    m.partitions[0].path = bad;
    writeFileSync(mpath, JSON.stringify(m));
    await assert.rejects(openLocalDataset(dir), (e: unknown) => e instanceof DataError && e.message.startsWith(mpath) && /must be relative/.test(e.message), bad);
  }
  // An entry built in code, bypassing parseManifest, is still checked on use.
  m.partitions[0].path = 'partitions/part-00000.safetensors';
  writeFileSync(mpath, JSON.stringify(m));
  const ds = await openLocalDataset(dir);
  const hostile = { ...ds.manifest.partitions[0]!, path: '../../etc/passwd' };
  assert.throws(() => ds.partitionKey(hostile), /unsafe partition path/);
  await assert.rejects(ds.readPartition(hostile), DataError);
});

test('truncated partition, checksum mismatch, wrong shape, NaN and count mismatch name the partition file', async (t) => {
  const dir = tmp(t);
  await writeSmall(dir);
  const ds = await openLocalDataset(dir);
  const [e0, e1] = ds.manifest.partitions as [NonNullable<(typeof ds.manifest.partitions)[0]>, NonNullable<(typeof ds.manifest.partitions)[0]>];
  const f0 = join(dir, e0.path);
  const f1 = join(dir, e1.path);
  const original = readFileSync(f0);

  truncateSync(f0, original.length - 100);
  await assert.rejects(ds.readPartition(e0), (e: unknown) => e instanceof DataError && e.file === f0 && /truncated/.test(e.message));

  const flipped = Buffer.from(original);
  flipped[flipped.length - 30]! ^= 0xff;
  writeFileSync(f0, flipped);
  await assert.rejects(ds.readPartition(e0), (e: unknown) => e instanceof DataError && e.file === f0 && /sha256 mismatch/.test(e.message));
  // Size-only verification lets the flipped byte through (it lands in a finite value), which is what 'size' means.
  await ds.readPartition(e0, { verify: 'size' });

  // A partition with the right size and checksum but a wrong shape (manifest rewritten to match).
  const bad: Partition = { ...samples(3, 13n) };
  const wrongShape = Buffer.from(encodePartition(bad));
  const headerLen = Number(wrongShape.readBigUInt64LE(0));
  const header = wrongShape.subarray(8, 8 + headerLen).toString('utf8').replace('"magnitude":{"dtype":"F32","shape":[3,5]', '"magnitude":{"dtype":"F32","shape":[5,3]');
  wrongShape.write(header, 8, 'utf8');
  writeFileSync(f1, wrongShape);
  const { sha256Hex } = await import('../../src/data/dataset.js');
  const e1b = { ...e1, bytes: wrongShape.length, sha256: sha256Hex(wrongShape) };
  await assert.rejects(ds.readPartition(e1b), (e: unknown) => e instanceof DataError && e.file === f1 && /tensor "magnitude" has shape \[5,3\], expected \[3,5\]/.test(e.message));

  const nan = samples(3, 13n);
  nan.magnitude[7] = NaN;
  const nanBytes = encodePartition(nan);
  writeFileSync(f1, nanBytes);
  const e1n = { ...e1, bytes: nanBytes.length, sha256: sha256Hex(nanBytes) };
  await assert.rejects(ds.readPartition(e1n), (e: unknown) => e instanceof DataError && e.file === f1 && /non-finite magnitude value NaN in sample 1/.test(e.message));
  assert.equal((await ds.readPartition(e1n, { checkValues: false })).count, 3);

  const wrongIds = encodePartition(samples(3, 99n));
  writeFileSync(f1, wrongIds);
  await assert.rejects(ds.readPartition({ ...e1, bytes: wrongIds.length, sha256: sha256Hex(wrongIds) }), /first object id is 99 but the manifest says 13/);
  await assert.rejects(ds.readPartition({ ...e1, samples: 4, bytes: wrongIds.length, sha256: sha256Hex(wrongIds) }), /holds 3 samples but the manifest says 4/);

  rmSync(f1);
  await assert.rejects(ds.readPartition(e1), (e: unknown) => e instanceof DataError && e.file === f1 && /missing/.test(e.message));
});

test('manifest sample and byte counts that could drive a huge allocation are refused when it is opened', async (t) => {
  const dir = tmp(t);
  await writeSmall(dir);
  const mpath = join(dir, 'manifest.json');
  const good = JSON.parse(readFileSync(mpath, 'utf8'));
  const rejects = async (edit: (m: typeof good) => void, pattern: RegExp): Promise<void> => {
    const m = structuredClone(good);
    edit(m);
    writeFileSync(mpath, JSON.stringify(m));
    await assert.rejects(openLocalDataset(dir), (e: unknown) => e instanceof DataError && e.message.startsWith(mpath) && pattern.test(e.message), String(pattern));
  };
  // Ten billion samples in a 60 kB partition: the counts agree with each other, not with the bytes.
  await rejects((m) => {
    m.partitions[0].samples = 1e10;
    m.samples = 1e10 + 3;
  }, /partition partitions\/part-00000\.safetensors is listed with 10000000000 samples, more than its \d+ bytes can hold/);
  await rejects((m) => {
    m.partitions[0].bytes = 2 ** 40;
    m.bytes = 2 ** 40 + m.partitions[1].bytes;
  }, /listed as 1099511627776 bytes, more than the 2147483647-byte limit/);
  await rejects((m) => (m.bytes += 1), /manifest says \d+ bytes but its partitions hold \d+/);
  writeFileSync(mpath, JSON.stringify(good));
  assert.equal((await openLocalDataset(dir)).manifest.samples, 6);
});
