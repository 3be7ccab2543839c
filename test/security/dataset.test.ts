// Data sets as an attacker would make them: manifests whose specs, ids and free-form fields lie, values
// outside physical bounds, duplicate object ids, symlinks out of the data set and FIFOs in place of files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openLocalDataset } from '../../src/data/dataset.js';
import { inspectDataset, inspectPartitionBytes } from '../../src/data/inspect.js';
import { parseManifest, tensorSpecs } from '../../src/data/manifest.js';
import { VALUE_BOUNDS, checkValues, encodePartition } from '../../src/data/partition.js';
import { loadCatalog } from '../../src/cost/catalog.js';
import { ExitCode } from '../../src/errors.js';
import { cai, dataError, partition, rawSafetensors, samples, tempDir, writeDataset } from './helpers.js';

const M = 'm.json';
const manifestText = (over: Record<string, unknown>, labelled = true): string =>
  JSON.stringify({ schemaVersion: 1, bands: ['u', 'g', 'r', 'i', 'z'], labelled, format: 'safetensors', tensors: tensorSpecs(labelled), samples: 0, bytes: 0, partitions: [], ...over });

test("the manifest's tensor spec must be what the partitions hold", () => {
  const specs = tensorSpecs(true);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ tensors: { ...specs, image: { dtype: 'float32', shape: [3, 64, 64] } } }, /tensor spec of "image" is float32 \[3,64,64\] but partitions hold float32 \[5,32,32\] per sample/],
    [{ tensors: { ...specs, object_id: { dtype: 'float32', shape: [] } } }, /tensor spec of "object_id" is float32 \[\] but partitions hold int64 \[\]/],
    [{ tensors: { image: specs.image, magnitude: specs.magnitude, object_id: specs.object_id } }, /tensor spec lacks "redshift"/],
    [{ tensors: { ...specs, weights: { dtype: 'float32', shape: [1] } } }, /tensor spec names "weights"/],
    [{ bands: ['z', 'i', 'r', 'g', 'u'] }, /bands must be u,g,r,i,z in that order/],
    [{ createdAt: 'x'.repeat(100) }, /createdAt/],
  ];
  for (const [over, problem] of cases) assert.throws(() => parseManifest(manifestText(over), M), dataError(M, problem), String(problem));
  // An unlabelled set may not claim redshifts either.
  assert.throws(() => parseManifest(manifestText({ tensors: specs }, false), M), dataError(M, /tensor spec names "redshift", which an unlabelled data set's partitions do not hold/));
});

test('object ids, free-form provenance and counts in a manifest are bounded', () => {
  const entry = { path: 'p/a', samples: 0, bytes: 0, sha256: '0'.repeat(64) };
  assert.throws(() => parseManifest(manifestText({ partitions: [{ ...entry, firstObjectId: '9223372036854775808' }] }), M), dataError(M, /does not fit a signed 64-bit integer/));
  assert.throws(() => parseManifest(manifestText({ partitions: [{ ...entry, lastObjectId: '1'.repeat(1000) }] }), M), dataError(M, /lastObjectId/));
  assert.doesNotThrow(() => parseManifest(manifestText({ partitions: [{ ...entry, firstObjectId: '-9223372036854775808' }] }), M));
  // Deep provenance would overflow every recursive printer (JSON.stringify, --json output).
  const deep = manifestText({ source: { deep: 0 } }).replace('"deep":0', `"deep":${'['.repeat(100_000)}1${']'.repeat(100_000)}`);
  assert.throws(() => parseManifest(deep, M), dataError(M, /invalid manifest at source: nests deeper than 32 levels/));
  assert.doesNotThrow(() => parseManifest(manifestText({ source: { a: { b: [1, 2, { c: 'd' }] } } }), M));
});

test('values outside the physical bounds are refused by the reader and by verify, with exit 3', async (t) => {
  const dir = tempDir(t);
  const cases: [string, (p: ReturnType<typeof samples>) => void, RegExp][] = [
    ['z', (p) => (p.redshift![1] = -1), /redshift value -1 in sample 1 is outside the physical bound -1 < z <= 20/],
    ['zlow', (p) => (p.redshift![0] = -3), /redshift value -3 in sample 0 is outside/],
    ['pixel', (p) => (p.image[5120 + 7] = 3.4e38), /image value 3\.\d+e\+38 in sample 1 is outside the physical bound \|pixel\| <= 1000000 nanomaggies/],
    ['mag', (p) => (p.magnitude[3] = -9999), /magnitude value -9999 in sample 0 is outside the physical bound -30 <= magnitude <= 50/],
    ['inf', (p) => (p.magnitude[6] = Infinity), /non-finite magnitude value Infinity in sample 1/],
  ];
  for (const [name, spoil, problem] of cases) {
    const p = samples(2, 10n);
    spoil(p);
    assert.throws(() => checkValues(p, name), dataError(name, problem));
    const d = join(dir, name);
    writeDataset(d, [partition(p)]);
    const ds = await openLocalDataset(d);
    const file = ds.partitionLocation(ds.manifest.partitions[0]!);
    await assert.rejects(ds.readPartition(ds.manifest.partitions[0]!), dataError(file, problem));
    const v = await inspectDataset(ds, { verify: true });
    assert.equal(v.verified?.ok, false);
    assert.match(v.verified!.problems[0]!, problem);
  }
  // The bounds themselves are accepted.
  const edge = samples(1, 1n);
  edge.image[0] = VALUE_BOUNDS.maxAbsPixel;
  edge.magnitude[0] = VALUE_BOUNDS.minMagnitude;
  edge.redshift![0] = VALUE_BOUNDS.maxRedshift;
  assert.doesNotThrow(() => checkValues(edge, 'edge'));
});

test('duplicate object ids within and across partitions fail verification, naming every place', async (t) => {
  const dir = tempDir(t);
  const a = samples(3, 100n);
  a.objectId[2] = 100n; // within: samples 0 and 2
  const b = samples(2, 500n);
  b.objectId[1] = 101n; // across: a sample 1 and b sample 1
  writeDataset(dir, [partition(a), partition(b)]);
  const ds = await openLocalDataset(dir);
  const [fa, fb] = ds.manifest.partitions.map((e) => ds.partitionLocation(e));
  const v = await inspectDataset(ds, { verify: true });
  assert.equal(v.verified?.ok, false);
  assert.deepEqual(v.verified!.problems, [
    `${fa}: object id 100 appears 2 times (${fa} sample 0, ${fa} sample 2)`,
    `${fa}: object id 101 appears 2 times (${fa} sample 1, ${fb} sample 1)`,
  ]);
  const one = inspectPartitionBytes(encodePartition(a), 'a.safetensors', { verify: true });
  assert.deepEqual(one.verified?.problems, ['a.safetensors: object id 100 appears 2 times (a.safetensors sample 0, a.safetensors sample 2)']);
  // Without duplicates verification passes.
  const clean = join(dir, 'clean');
  writeDataset(clean, [partition(samples(3, 1n)), partition(samples(3, 4n))]);
  assert.equal((await inspectDataset(await openLocalDataset(clean), { verify: true })).verified?.ok, true);
});

test('a partition that disagrees with the manifest about labels is refused', async (t) => {
  const dir = tempDir(t);
  writeDataset(dir, [partition(samples(2, 1n, true))], false);
  const ds = await openLocalDataset(dir);
  await assert.rejects(ds.readPartition(ds.manifest.partitions[0]!), dataError(ds.partitionLocation(ds.manifest.partitions[0]!), /has a redshift tensor but the manifest's tensor spec \(an unlabelled data set\) has none/));
});

test('symlinks that leave the data set are refused; the data set root is the boundary', async (t) => {
  const dir = tempDir(t);
  const outside = join(dir, 'outside');
  const inside = join(dir, 'set');
  writeDataset(outside, [partition(samples(2, 1n))]);
  const real = readFileSync(join(outside, 'manifest.json'), 'utf8');
  // A partition that is a symlink to a file outside the set.
  mkdirSync(join(inside, 'partitions'), { recursive: true });
  writeFileSync(join(inside, 'manifest.json'), real);
  symlinkSync(join(outside, 'partitions', 'part-00000.safetensors'), join(inside, 'partitions', 'part-00000.safetensors'));
  const ds = await openLocalDataset(inside);
  await assert.rejects(ds.readPartition(ds.manifest.partitions[0]!), dataError(/part-00000\.safetensors: /, /resolves outside the storage root/));
  // The partitions folder itself as a symlink out.
  const viaDir = join(dir, 'set2');
  mkdirSync(viaDir);
  writeFileSync(join(viaDir, 'manifest.json'), real);
  symlinkSync(join(outside, 'partitions'), join(viaDir, 'partitions'));
  const ds2 = await openLocalDataset(viaDir);
  await assert.rejects(ds2.readPartition(ds2.manifest.partitions[0]!), dataError(/part-00000\.safetensors: /, /resolves outside the storage root/));
  // The manifest as a symlink out.
  const viaManifest = join(dir, 'set3');
  mkdirSync(viaManifest);
  symlinkSync(join(outside, 'manifest.json'), join(viaManifest, 'manifest.json'));
  await assert.rejects(openLocalDataset(viaManifest), dataError(/manifest\.json: /, /resolves outside the storage root/));
  // A symlink that stays inside is fine.
  const ok = join(dir, 'set4');
  writeDataset(ok, [partition(samples(2, 1n))]);
  const m = readFileSync(join(ok, 'manifest.json'), 'utf8').replace('partitions/part-00000.safetensors', 'partitions/alias.safetensors');
  symlinkSync('part-00000.safetensors', join(ok, 'partitions', 'alias.safetensors'));
  writeFileSync(join(ok, 'manifest.json'), m);
  const ds4 = await openLocalDataset(ok);
  assert.equal((await ds4.readPartition(ds4.manifest.partitions[0]!)).count, 2);
});

test('a FIFO in place of a manifest, partition, partition file or catalog is refused at once', async (t) => {
  const dir = tempDir(t);
  const mk = (p: string): void => {
    const r = spawnSync('mkfifo', [p]);
    assert.equal(r.status, 0, `mkfifo ${p}`);
  };
  const set = join(dir, 'set');
  mkdirSync(set);
  mk(join(set, 'manifest.json'));
  // Nothing ever writes to these FIFOs: a reader that opens one blocking would hang the test.
  await assert.rejects(openLocalDataset(set), dataError(join(set, 'manifest.json'), /not a regular file/));
  await assert.rejects(openLocalDataset(join(set, 'manifest.json')), dataError(join(set, 'manifest.json'), /not a regular file/));
  const set2 = join(dir, 'set2');
  writeDataset(set2, [partition(samples(1, 1n))]);
  const part = join(set2, 'partitions', 'part-00000.safetensors');
  const { rmSync } = await import('node:fs');
  rmSync(part);
  mk(part);
  const ds = await openLocalDataset(set2);
  await assert.rejects(ds.readPartition(ds.manifest.partitions[0]!), dataError(part, /missing|not a regular file/));
  const catalog = join(dir, 'catalog.json');
  mk(catalog);
  await assert.rejects(loadCatalog(catalog), dataError(catalog, /price catalog is not a regular file/));
  // The CLI, end to end: `inspect` on the FIFO manifest and on a FIFO partition file exit 3 at once.
  const r = await cai(['data', 'inspect', set, '--verify']);
  assert.equal(r.code, ExitCode.data, r.stderr);
  assert.match(r.stderr, /manifest\.json: not a regular file\n$/);
  const fifoPart = join(dir, 'lone.safetensors');
  mk(fifoPart);
  const r2 = await cai(['data', 'inspect', fifoPart]);
  assert.equal(r2.code, ExitCode.data, r2.stderr);
  assert.match(r2.stderr, /lone\.safetensors: not a regular file\n$/);
});

test('CLI: inspect --verify names overlapping offsets, unphysical values and duplicate ids, and exits 3', async (t) => {
  const dir = tempDir(t);
  // Partition 0: magnitudes whose offsets point into the image bytes (same size, valid sha256).
  const p = samples(2, 1n);
  const img = new Uint8Array(p.image.buffer);
  const ids = new Uint8Array(p.objectId.buffer);
  const z = new Uint8Array(p.redshift!.buffer);
  const header = {
    object_id: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
    image: { dtype: 'F32', shape: [2, 5, 32, 32], data_offsets: [16, 16 + img.length] },
    magnitude: { dtype: 'F32', shape: [2, 5], data_offsets: [56, 96] },
    redshift: { dtype: 'F32', shape: [2], data_offsets: [16 + img.length, 24 + img.length] },
  };
  const overlapping = rawSafetensors(header, new Uint8Array(Buffer.concat([ids, img, z])));
  const far = samples(2, 3n);
  far.redshift![0] = -1;
  const bright = samples(2, 5n);
  bright.image[9] = 3.4e38;
  const dup = samples(2, 7n);
  dup.objectId[1] = 7n;
  writeDataset(dir, [{ bytes: overlapping, samples: 2, firstObjectId: '1', lastObjectId: '2' }, partition(far), partition(bright), { ...partition(dup), lastObjectId: '7' }]);
  const r = await cai(['data', 'inspect', dir, '--verify']);
  assert.equal(r.code, ExitCode.data, r.stderr);
  const out = r.stdout;
  assert.match(out, /verify\s+FAILED: 4 problems in 4 partitions/);
  assert.match(out, /part-00000\.safetensors: tensor "magnitude" \(bytes 56\.\.96\) overlaps tensor "image", which ends at byte 40976\n/);
  assert.match(out, /part-00001\.safetensors: redshift value -1 in sample 0 is outside the physical bound -1 < z <= 20/);
  assert.match(out, /part-00002\.safetensors: image value 3\.\d+e\+38 in sample 0 is outside the physical bound/);
  assert.match(out, /part-00003\.safetensors: object id 7 appears 2 times \(.*part-00003\.safetensors sample 0, .*part-00003\.safetensors sample 1\)/);
});
