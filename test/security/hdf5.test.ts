// HDF5 files as an attacker would make them: data declared but never written, deep and cyclic group
// structures, and datasets whose raw data lives in another file.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { importFiles } from '../../src/data/importers/import-job.js';
import { inspectImportFile, openImportSource, readImportFile, verifyImportFile } from '../../src/data/importers/index.js';
import { MAX_HDF5_DEPTH } from '../../src/data/importers/hdf5.js';
import { dataError, tempDir } from './helpers.js';

before(async () => {
  await h5wasm.ready;
});

test('a small file declaring a million samples in unwritten chunks is refused, compressed or not', async (t) => {
  const dir = tempDir(t);
  for (const compression of [undefined, 'gzip'] as const) {
    const f = join(dir, `sparse-${compression ?? 'plain'}.h5`);
    const h = new h5wasm.File(f, 'w');
    const img = h.create_dataset({ name: 'images', data: new Float32Array(5120), shape: [1, 5, 32, 32], maxshape: [null, 5, 32, 32], chunks: [1, 5, 32, 32], ...(compression ? { compression } : {}) });
    img.resize([1_000_000, 5, 32, 32]);
    const m = h.create_dataset({ name: 'magnitudes', data: new Float32Array(5).fill(18), shape: [1, 5], maxshape: [null, 5], chunks: [1, 5] });
    m.resize([1_000_000, 5]);
    h.close();
    const problem = compression
      ? /dataset images declares 20480000000 bytes, more than 1032 times the \d+-byte file could hold compressed/
      : /dataset images declares 20480000000 bytes of uncompressed data but the whole file is \d+ bytes; data that was never written/;
    await assert.rejects(inspectImportFile(f), dataError(f, problem));
    // The import refuses while planning: nothing is written.
    await assert.rejects(importFiles([f], { out: join(dir, `out-${compression ?? 'plain'}`) }), dataError(f, problem));
  }
});

test('deep groups are refused quickly; cycles and soft links are not followed', async (t) => {
  const dir = tempDir(t);
  const deep = join(dir, 'deep.h5');
  const h = new h5wasm.File(deep, 'w');
  let g: { create_group(n: string): unknown } = h;
  // 40 levels: past the bound (writing deeper files with h5wasm is slow; reading is bounded at any depth).
  for (let i = 0; i < MAX_HDF5_DEPTH + 8; i++) g = g.create_group(`g${i}`) as typeof g;
  h.close();
  await assert.rejects(openImportSource(deep), dataError(deep, new RegExp(`groups nest more than ${MAX_HDF5_DEPTH} levels deep \\(at g0/g1/`)));

  // A group holding a hard link to its own parent: an endless tree, cut by the depth bound.
  const cyclic = join(dir, 'cyclic.h5');
  const c = new h5wasm.File(cyclic, 'w');
  c.create_group('loop');
  c.create_hard_link('/', 'loop/back');
  c.close();
  await assert.rejects(openImportSource(cyclic), dataError(cyclic, /groups nest more than 32 levels deep \(at loop\/back\/loop\/back/));

  // Soft links: to a group (not followed) and to a dataset (an alias, read like the dataset).
  const soft = join(dir, 'soft.h5');
  const s = new h5wasm.File(soft, 'w');
  const grp = s.create_group('data');
  grp.create_dataset({ name: 'images', data: new Float32Array(2 * 5120).fill(1), shape: [2, 5, 32, 32] });
  grp.create_dataset({ name: 'mags', data: new Float32Array(10).fill(18), shape: [2, 5] });
  s.create_soft_link('/', 'data/up');
  s.create_soft_link('/data/mags', 'magnitudes');
  s.close();
  const info = (await inspectImportFile(soft, { keys: { magnitude: 'magnitudes' } })) as unknown as { details: { skipped: string[] }; samples: number };
  assert.deepEqual(info.details.skipped, ['data/up (soft link to a group, not followed)']);
  assert.equal(info.samples, 2);
  assert.equal((await readImportFile(soft, { keys: { magnitude: 'magnitudes' } })).magnitude[9], 18);
});

test('a dataset whose raw data lives in another file never reads that file', async (t) => {
  const dir = tempDir(t);
  // The fixture's `magnitudes` names `secret.bin` (see test/fixtures/hdf5/make_fixtures.py).
  const f = join(dir, 'external-raw.h5');
  copyFileSync('test/fixtures/hdf5/external-raw.h5', f);
  const secret = join(dir, 'secret.bin');
  writeFileSync(secret, Buffer.from(new Float32Array(10).fill(20).buffer));
  const cwd = process.cwd();
  process.chdir(dir); // where libhdf5 would look for a relative external file
  try {
    const problem = /cannot read dataset magnitudes rows 0\.\.2 \(its data is in another file \(.*secret\.bin\); only the file itself is read\)/;
    await assert.rejects(readImportFile(f), dataError(f, problem));
    const v = await verifyImportFile(f);
    assert.equal(v.ok, false);
    assert.match(v.problems[0]!, problem);
    // The file itself stays readable: its own datasets still work.
    const src = await openImportSource(f);
    try {
      assert.equal((await src.read('images', 0, 1)).data.length, 5120);
    } finally {
      await src.close();
    }
  } finally {
    process.chdir(cwd);
  }
});
