// The WebGPU path on this machine's Vulkan adapter (Mesa's llvmpipe where there is no GPU): predictions
// equal the CPU path's, with several sessions and GPU slots, on the small test model and on one small
// batch of the real AstroMAE graph. Correctness only: llvmpipe runs at a few samples/s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InferenceEngine, inferPartitions } from '../../src/inference/engine.js';
import { openLocalDataset } from '../../src/data/dataset.js';
import { buildAstroMAEOnnx } from '../../src/model/astromae.js';
import { fixtureExpected, fixtureModel } from './support/onnx-fixture.js';
import { makePartition, tempDir, writeDataset } from './support/datasets.js';
import { webgpuSkipReason } from './support/webgpu.js';

const skip = await webgpuSkipReason();
if (skip) console.log(`# WebGPU tests skipped: ${skip}`);
/** How close the WebGPU path must come to the CPU path. */
const TOL = 1e-3;

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('WebGPU predictions equal the CPU path and the closed form; the short last batch is padded', { skip }, async () => {
  const p = makePartition(10, 7);
  const cpu = await InferenceEngine.open(fixtureModel(), { batchSize: 4, threads: 1 });
  const want = (await cpu.predict(p)).zPred;
  await cpu.close();
  const gpu = await InferenceEngine.open(fixtureModel(), { batchSize: 4, threads: 1, device: 'webgpu' });
  try {
    assert.equal(gpu.device, 'webgpu');
    const adapter = gpu.layout.adapters[0];
    assert.ok(adapter, 'the adapter is named');
    assert.equal(adapter.backend, 'vulkan');
    assert.ok(adapter.name.length > 0);
    assert.ok(gpu.layout.firstWarmUpMs > 0, 'a warm-up batch ran at open');
    const seen: number[] = [];
    const r = await gpu.predict(p, (done) => seen.push(done));
    assert.deepEqual(seen, [4, 8, 10]);
    assert.equal(r.batches, 3);
    assert.ok(maxDiff(r.zPred, want) < TOL, `max |webgpu - cpu| = ${maxDiff(r.zPred, want)}`);
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(r.zPred[i]! - fixtureExpected(p.image, p.magnitude, i)) < TOL, `sample ${i}`);
  } finally {
    await gpu.close();
  }
});

test('--gpus 2 on one adapter: two session processes, partitions in flight on both, the same predictions', { skip }, async () => {
  const dir = tempDir();
  const { all } = await writeDataset(dir, { samples: 29, perPartition: 4 });
  const dataset = await openLocalDataset(dir);
  const cpu = await InferenceEngine.open(fixtureModel(), { batchSize: 3, threads: 1 });
  const want = (await inferPartitions({ dataset, engine: cpu })).zPred;
  await cpu.close();
  const gpu = await InferenceEngine.open(fixtureModel(), { batchSize: 3, threads: 2, device: 'webgpu', gpus: 2 });
  try {
    assert.equal(gpu.layout.gpus, 2);
    assert.equal(gpu.layout.lanes, 2);
    assert.equal(gpu.capacity, 4);
    const progress: number[] = [];
    const r = await inferPartitions({ dataset, engine: gpu, readAhead: 2, onProgress: (p) => progress.push(p.samplesDone) });
    assert.equal(r.samples, 29);
    assert.deepEqual(Array.from(r.objectId), Array.from(all.objectId));
    assert.ok(maxDiff(r.zPred, want) < TOL, `max |webgpu - cpu| = ${maxDiff(r.zPred, want)}`);
    assert.deepEqual(r.partitions.map((t) => t.path), dataset.manifest.partitions.map((e) => e.path), 'timings in manifest order');
    assert.equal(progress.at(-1), 29);
    assert.ok(progress.every((v, i) => i === 0 || v >= progress[i - 1]!), 'progress never goes back');
  } finally {
    await gpu.close();
  }
});

test('one small batch of the real AstroMAE graph: WebGPU equals CPU within 1e-3', { skip }, async () => {
  const model = buildAstroMAEOnnx({ seed: 3 });
  const p = makePartition(4, 11);
  const cpu = await InferenceEngine.open(model, { batchSize: 4, threads: 2 });
  const want = (await cpu.predict(p)).zPred;
  await cpu.close();
  // The first session on a machine compiles the graph's shaders (tens of seconds on llvmpipe); the
  // drivers' disk cache makes later runs quick.
  const gpu = await InferenceEngine.open(model, { batchSize: 4, threads: 2, device: 'webgpu' });
  try {
    const r = await gpu.predict(p);
    const d = maxDiff(r.zPred, want);
    console.log(`# AstroMAE on ${gpu.layout.adapters[0]?.name}: max |webgpu - cpu| = ${d.toExponential(2)}; open ${(gpu.layout.firstOpenMs / 1000).toFixed(1)} s, warm-up batch ${(gpu.layout.firstWarmUpMs / 1000).toFixed(1)} s, batch of 4 ${(r.inferenceMs / 1000).toFixed(1)} s`);
    assert.ok(d < TOL, `max |webgpu - cpu| = ${d}`);
  } finally {
    await gpu.close();
  }
});
