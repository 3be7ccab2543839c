import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { DataError } from '../../../src/errors.js';
import { inspectImportFile, openImportSource, readImportFile } from '../../../src/data/importers/index.js';

const dir = mkdtempSync(join(tmpdir(), 'cai-h5-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const N = 6;
const pixel = (i: number, j: number): number => ((i * 13 + j) % 50) / 2;
const mag = (i: number, b: number): number => 16 + i / 2 + b;

function images(n: number, channelsLast: boolean): Float64Array {
  const out = new Float64Array(n * 5120);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 5; c++)
      for (let p = 0; p < 1024; p++) out[i * 5120 + (channelsLast ? p * 5 + c : c * 1024 + p)] = pixel(i, c * 1024 + p);
  return out;
}

const mags = Float32Array.from({ length: N * 5 }, (_, k) => mag(Math.floor(k / 5), k % 5));
const ids = BigInt64Array.from({ length: N }, (_, i) => 1237648720693755918n + BigInt(i) * 1000n);

before(async () => {
  await h5wasm.ready;
  // Chunked, gzip-compressed, in groups, float64 images, [N,1] redshift, int64 ids.
  const f = new h5wasm.File(join(dir, 'survey.h5'), 'w');
  const g = f.create_group('cutouts');
  g.create_dataset({ name: 'images', data: images(N, false), shape: [N, 5, 32, 32], dtype: '<d', chunks: [2, 5, 32, 32], compression: 'gzip' });
  const p = f.create_group('photo');
  p.create_dataset({ name: 'dered_petro_mag', data: mags, shape: [N, 5] });
  f.create_dataset({ name: 'specz', data: Float32Array.from({ length: N }, (_, i) => i / 10), shape: [N, 1] });
  f.create_dataset({ name: 'objid', data: ids, shape: [N] });
  f.create_dataset({ name: 'notes', data: ['a', 'b'] });
  f.close();
  // Channel-last images and an external link that points outside the file.
  const h = new h5wasm.File(join(dir, 'cl.h5'), 'w');
  h.create_dataset({ name: 'X', data: new Float32Array(images(2, true)), shape: [2, 32, 32, 5] });
  h.create_dataset({ name: 'mags', data: mags.subarray(0, 10), shape: [2, 5] });
  h.create_external_link(join(dir, 'survey.h5'), 'objid', 'ids');
  h.close();
});

test('HDF5 datasets in groups are found by name, decompressed and converted', async () => {
  const file = join(dir, 'survey.h5');
  const p = await readImportFile(file);
  assert.equal(p.count, N);
  assert.deepEqual(Array.from(p.image), Array.from(images(N, false), Math.fround));
  assert.deepEqual(Array.from(p.magnitude), Array.from(mags));
  assert.deepEqual(Array.from(p.redshift!), Array.from({ length: N }, (_, i) => Math.fround(i / 10)));
  assert.deepEqual(Array.from(p.objectId), Array.from(ids));
  const info = (await inspectImportFile(file)) as unknown as { format: string; details: { skipped: string[] }; mapping: Record<string, { array: string }> };
  assert.equal(info.format, 'hdf5');
  assert.deepEqual(info.details.skipped, ['notes (dtype S)']);
  assert.deepEqual([info.mapping.image!.array, info.mapping.magnitude!.array, info.mapping.redshift!.array, info.mapping.objectId!.array], ['cutouts/images', 'photo/dered_petro_mag', 'specz', 'objid']);
  // Row ranges across chunk boundaries.
  const src = await openImportSource(file);
  try {
    const rows = await src.read('cutouts/images', 1, 4);
    assert.deepEqual(rows.shape, [3, 5, 32, 32]);
    assert.deepEqual(Array.from(rows.data as Float64Array), Array.from(images(N, false).subarray(5120, 4 * 5120)));
  } finally {
    await src.close();
  }
});

test('channel-last HDF5 images are transposed; external links are not followed', async () => {
  const file = join(dir, 'cl.h5');
  const p = await readImportFile(file, { channelsLast: true });
  assert.deepEqual(Array.from(p.image), Array.from(images(2, false), Math.fround));
  assert.deepEqual(Array.from(p.objectId), [0n, 1n], 'ids come from the sequence, not from the linked file');
  const info = (await inspectImportFile(file)) as unknown as { details: { skipped: string[] }; arrays: { name: string }[] };
  assert.deepEqual(info.details.skipped, ['ids (external link)']);
  assert.deepEqual(info.arrays.map((a) => a.name).sort(), ['X', 'mags']);
  await assert.rejects(readImportFile(file, { keys: { object_id: 'ids' } }), (e: unknown) => e instanceof DataError && /has no array "ids" for object_id/.test(e.message));
});

test('a corrupt HDF5 file is a one-line data error', async () => {
  const bad = join(dir, 'bad.h5');
  writeFileSync(bad, Buffer.concat([Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 7)]));
  await assert.rejects(readImportFile(bad), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.match(e.message, /bad\.h5: not a readable HDF5 file \(/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
});
