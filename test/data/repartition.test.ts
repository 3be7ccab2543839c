import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLocalDataset, type Dataset } from '../../src/data/dataset.js';
import { repartition } from '../../src/data/repartition.js';
import { synthesizeDataset } from '../../src/data/synth/write-dataset.js';
import { UsageError } from '../../src/errors.js';

async function allValues(ds: Dataset): Promise<{ ids: bigint[]; z: number[]; firstPixels: number[] }> {
  const ids: bigint[] = [];
  const z: number[] = [];
  const firstPixels: number[] = [];
  for (const e of ds.manifest.partitions) {
    const p = await ds.readPartition(e);
    ids.push(...p.objectId);
    z.push(...p.redshift!);
    for (let i = 0; i < p.count; i++) firstPixels.push(p.image[i * 5120 + 528]!);
  }
  return { ids, z, firstPixels };
}

test('repartition splits and merges with order, object ids and values preserved', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cai-repart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await synthesizeDataset(join(dir, 'src'), { samples: 230, seed: 9, partitionSamples: 100 });
  const src = await openLocalDataset(join(dir, 'src'));
  const before = await allValues(src);

  const split = await repartition(src, join(dir, 'split'), { partitionSamples: 30 });
  assert.deepEqual(split.partitions.map((p) => p.samples), [30, 30, 30, 30, 30, 30, 30, 20]);
  const merged = await repartition(await openLocalDataset(join(dir, 'split')), join(dir, 'merged'), { partitionBytes: 2_000_000 });
  const per = Math.floor((2_000_000 - 1024) / 20_512);
  assert.deepEqual(merged.partitions.map((p) => p.samples), [per, per, 230 - 2 * per]);
  assert.ok(merged.partitions.every((p) => p.bytes <= 2_000_000));

  for (const out of ['split', 'merged']) {
    const ds = await openLocalDataset(join(dir, out));
    const after = await allValues(ds);
    assert.deepEqual(after.ids, before.ids, `${out}: object ids in order`);
    assert.deepEqual(after.z, before.z);
    assert.deepEqual(after.firstPixels, before.firstPixels);
    assert.equal(ds.manifest.source?.repartitionedFrom !== undefined, true);
  }
  assert.equal(new Set(before.ids.map(String)).size, 230);
});

test('repartition refuses to write into its own input', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cai-repart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await synthesizeDataset(dir, { samples: 5, seed: 1, partitionSamples: 2 });
  const src = await openLocalDataset(join(dir, 'manifest.json'));
  await assert.rejects(repartition(src, dir + '/', { partitionSamples: 3, overwrite: true }), (e: unknown) => e instanceof UsageError && /input data set's own directory/.test(e.message));
  assert.equal((await openLocalDataset(dir)).manifest.partitions.length, 3, 'input untouched');
});
