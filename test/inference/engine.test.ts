import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InferenceEngine, inferPartitions } from '../../src/inference/engine.js';
import { openLocalDataset } from '../../src/data/dataset.js';
import { CaiError, ExitCode, ModelError } from '../../src/errors.js';
import { fixtureExpected, fixtureModel, notAModel } from './support/onnx-fixture.js';
import { makePartition, tempDir, writeDataset } from './support/datasets.js';

const TOL = 2e-5;

function assertPredictions(zPred: Float32Array, image: Float32Array, magnitude: Float32Array, offset = 0, magScale = 0.01): void {
  for (let i = 0; i < zPred.length; i++) {
    const want = fixtureExpected(image, magnitude, offset + i, magScale);
    assert.ok(Math.abs(zPred[i]! - want) < TOL, `sample ${i}: predicted ${zPred[i]}, expected ${want}`);
  }
}

test('predict runs a partition in batches and every prediction matches the model', async () => {
  const engine = await InferenceEngine.open(fixtureModel(), { batchSize: 4, threads: 1 });
  try {
    assert.equal(engine.device, 'cpu');
    const p = makePartition(10, 3);
    const seen: number[] = [];
    const r = await engine.predict(p, (done) => seen.push(done));
    assert.equal(r.batches, 3);
    assert.deepEqual(seen, [4, 8, 10]);
    assert.equal(r.zPred.length, 10);
    assert.ok(r.inferenceMs > 0);
    assertPredictions(r.zPred, p.image, p.magnitude);
    const empty = await engine.predict(makePartition(0, 1));
    assert.equal(empty.batches, 0);
  } finally {
    await engine.close();
  }
});

test('a model whose output is [N] (not [N,1]) and custom tensor names work', async () => {
  const model = fixtureModel({ imageName: 'img', magnitudeName: 'mags', outputName: 'z', outputShape: ['N'], magScale: 0.5 });
  const engine = await InferenceEngine.open(model, { batchSize: 3, threads: 1, inputNames: { image: 'img', magnitude: 'mags' }, outputName: 'z' });
  const p = makePartition(5, 11);
  const r = await engine.predict(p);
  await engine.close();
  assertPredictions(r.zPred, p.image, p.magnitude, 0, 0.5);
});

test('inferPartitions keeps order, labels and object ids across partitions, with any read-ahead', async () => {
  const dir = tempDir();
  const { all, manifest } = await writeDataset(dir, { samples: 23, perPartition: 5 });
  assert.equal(manifest.partitions.length, 5);
  const dataset = await openLocalDataset(dir);
  const engine = await InferenceEngine.open(fixtureModel(), { batchSize: 4, threads: 1 });
  try {
    for (const readAhead of [0, 1, 3]) {
      const progress: number[] = [];
      const r = await inferPartitions({ dataset, engine, readAhead, onProgress: (p) => progress.push(p.samplesDone) });
      assert.equal(r.samples, 23);
      assert.equal(r.batches, 4 * 2 + 1 * 1 + 0, 'four partitions of 5 take 2 batches, the last of 3 takes 1');
      assert.deepEqual(Array.from(r.objectId), Array.from(all.objectId));
      assert.deepEqual(Array.from(r.zTrue!), Array.from(all.redshift!));
      assertPredictions(r.zPred, all.image, all.magnitude);
      assert.deepEqual(r.partitions.map((p) => p.samples), [5, 5, 5, 5, 3]);
      assert.deepEqual(r.partitions.map((p) => p.path), manifest.partitions.map((p) => p.path));
      assert.equal(progress.at(-1), 23);
      assert.ok(progress.every((v, i) => i === 0 || v >= progress[i - 1]!), 'progress never goes back');
    }
    // A subset of entries, as a rank would be given.
    const sub = await inferPartitions({ dataset, engine, entries: manifest.partitions.slice(2, 4) });
    assert.equal(sub.samples, 10);
    assert.deepEqual(Array.from(sub.objectId), Array.from(all.objectId.subarray(10, 20)));
    assertPredictions(sub.zPred, all.image, all.magnitude, 10);
  } finally {
    await engine.close();
  }
});

test('unlabelled data gives predictions without z_true', async () => {
  const dir = tempDir();
  const { all } = await writeDataset(dir, { samples: 6, perPartition: 4, labelled: false });
  const engine = await InferenceEngine.open(fixtureModel(), { batchSize: 256, threads: 1 });
  const r = await inferPartitions({ dataset: await openLocalDataset(dir), engine });
  await engine.close();
  assert.equal(r.labelled, false);
  assert.equal(r.zTrue, undefined);
  assertPredictions(r.zPred, all.image, all.magnitude);
});

test('a failing partition stops the run with its file named, even while later ones are prefetched', async () => {
  const dir = tempDir();
  const { manifest } = await writeDataset(dir, { samples: 12, perPartition: 4 });
  writeFileSync(join(dir, manifest.partitions[1]!.path), 'garbage');
  const engine = await InferenceEngine.open(fixtureModel(), { batchSize: 4, threads: 1 });
  await assert.rejects(inferPartitions({ dataset: await openLocalDataset(dir), engine, readAhead: 2 }), (e: unknown) => e instanceof CaiError && e.exitCode === ExitCode.data && e.message.includes('part-00001.safetensors'));
  await engine.close();
});

const modelCase = async (model: string | Uint8Array, opts: Parameters<typeof InferenceEngine.open>[1], pattern: RegExp): Promise<void> => {
  await assert.rejects(InferenceEngine.open(model, opts), (e: unknown) => {
    assert.ok(e instanceof ModelError, `expected ModelError, got ${String(e)}`);
    assert.equal(e.exitCode, ExitCode.model);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
};

test('missing, non-ONNX and incompatible models are refused with the model named', async () => {
  const dir = tempDir();
  const opts = { batchSize: 8, threads: 1 };
  await modelCase(join(dir, 'nope.onnx'), opts, /nope\.onnx: model file not found/);
  const junk = join(dir, 'junk.onnx');
  writeFileSync(junk, notAModel());
  await modelCase(junk, opts, /junk\.onnx: not an ONNX model/);
  await modelCase(dir, opts, /not a regular file/);
  const named = join(dir, 'named.onnx');
  writeFileSync(named, fixtureModel({ imageName: 'pixels' }));
  await modelCase(named, opts, /named\.onnx: model has no input named "image" \(its inputs: pixels, magnitude\)/);
  await modelCase(fixtureModel({ outputName: 'z' }), opts, /model has no output named "redshift"/);
  await modelCase(fixtureModel({ imageShape: ['N', 3, 32, 32] }), opts, /input "image" has shape \[N,3,32,32\], expected \[N,5,32,32\]/);
  await modelCase(fixtureModel({ magnitudeShape: [16, 5] }), opts, /input "magnitude" has shape \[16,5\].*variable batch dimension/);
  await modelCase(fixtureModel({ noMagnitude: true }), opts, /no input named "magnitude"/);
});

test('a model producing non-finite redshifts is reported, not written', async () => {
  const engine = await InferenceEngine.open(fixtureModel({ magScale: Infinity }), { batchSize: 4, threads: 1 });
  await assert.rejects(engine.predict(makePartition(3, 1)), /non-finite redshift \(Infinity\) for sample 0/);
  await engine.close();
});

test('bad batch sizes are usage errors', async () => {
  for (const batchSize of [0, -1, 1.5, 1e9]) {
    await assert.rejects(InferenceEngine.open(fixtureModel(), { batchSize }), (e: unknown) => e instanceof CaiError && e.exitCode === ExitCode.usage);
  }
});

test('device auto falls back to CPU once, cuda without CUDA is an error', async () => {
  const messages: string[] = [];
  const engine = await InferenceEngine.open(fixtureModel(), { batchSize: 4, threads: 1, device: 'auto', onFallback: (m) => messages.push(m) });
  const p = makePartition(2, 5);
  assertPredictions((await engine.predict(p)).zPred, p.image, p.magnitude);
  await engine.close();
  if (engine.device === 'cuda') return; // a machine with CUDA: nothing to fall back from
  assert.equal(messages.length, 1);
  assert.match(messages[0]!, /CUDA is not available .*running on CPU/);
  await assert.rejects(InferenceEngine.open(fixtureModel(), { batchSize: 4, device: 'cuda' }), (e: unknown) => e instanceof CaiError && e.exitCode === ExitCode.unavailable && /--device cuda: the CUDA execution provider is not available/.test(e.message));
});

test('partition memory: copied by default, moved with transfer; shared memory is copied', async () => {
  const engine = await InferenceEngine.open(fixtureModel(), { batchSize: 4, threads: 1 });
  try {
    const p = makePartition(6, 21);
    const want = Array.from({ length: 6 }, (_, i) => fixtureExpected(p.image, p.magnitude, i));
    const check = (z: Float32Array): void => z.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < TOL, `sample ${i}`));
    // Queued back to back: the model thread answers in order.
    const [a, b] = await Promise.all([engine.predict(p), engine.predict(p)]);
    check(a.zPred);
    check(b.zPred);
    assert.equal(p.image.length, 6 * 5120, 'a plain predict leaves the partition usable');

    const sab = new SharedArrayBuffer(p.image.byteLength + p.magnitude.byteLength);
    const shared = { ...p, image: new Float32Array(sab, 0, p.image.length), magnitude: new Float32Array(sab, p.image.byteLength, p.magnitude.length) };
    shared.image.set(p.image);
    shared.magnitude.set(p.magnitude);
    check((await engine.predict(shared, undefined, { transfer: true })).zPred);
    assert.equal(shared.image.length, 6 * 5120, 'shared memory cannot be moved, so it is copied and stays usable');

    check((await engine.predict(p, undefined, { transfer: true })).zPred);
    assert.equal(p.image.byteLength, 0, 'transfer moved the memory to the model thread');
  } finally {
    await engine.close();
  }
  await assert.rejects(engine.predict(makePartition(1, 1)), /the inference engine is closed/);
});
