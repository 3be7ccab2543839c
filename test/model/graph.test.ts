import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { buildAstroMAEGraph, buildAstroMAEOnnx, serializeAstroMAE, type Normalization } from '../../src/model/astromae.js';
import { ARCH, INCEPTION_BLOCKS, blockConvs, parameterCount, seededWeights } from '../../src/model/params.js';
import { inspectModelBytes } from '../../src/model/inspect.js';
import { Rng } from '../../src/model/prng.js';
import { referenceForward } from './reference.js';

const PIX = ARCH.bands * ARCH.imageSize * ARCH.imageSize;

/** Galaxy-like inputs: positive blobs over noise, magnitudes around 17. */
function inputs(n: number, seed: number): { image: Float32Array; magnitude: Float32Array } {
  const rng = new Rng(seed);
  const image = new Float32Array(n * PIX);
  for (let i = 0; i < n; i++) {
    const cx = 14 + 4 * rng.uniform();
    const cy = 14 + 4 * rng.uniform();
    for (let b = 0; b < ARCH.bands; b++)
      for (let y = 0; y < 32; y++)
        for (let x = 0; x < 32; x++) image[i * PIX + (b * 32 + y) * 32 + x] = 20 * (b + 1) * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 8) + 0.1 * rng.normal();
  }
  const magnitude = Float32Array.from({ length: n * ARCH.bands }, () => 15 + 4 * rng.uniform());
  return { image, magnitude };
}

async function run(bytes: Uint8Array, image: Float32Array, magnitude: Float32Array, outputs?: string[]): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  const n = magnitude.length / ARCH.bands;
  try {
    const feeds = { image: new ort.Tensor('float32', image, [n, 5, 32, 32]), magnitude: new ort.Tensor('float32', magnitude, [n, 5]) };
    return await (outputs ? s.run(feeds, outputs) : s.run(feeds));
  } finally {
    await s.release();
  }
}

test('the built model loads in onnxruntime and gives finite [N,1] redshifts for any batch size', async () => {
  const bytes = buildAstroMAEOnnx({ seed: 3 });
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  assert.deepEqual(s.inputNames, ['image', 'magnitude']);
  assert.deepEqual(s.outputNames, ['redshift']);
  const { image, magnitude } = inputs(4, 1);
  const all = await s.run({ image: new ort.Tensor('float32', image, [4, 5, 32, 32]), magnitude: new ort.Tensor('float32', magnitude, [4, 5]) });
  assert.deepEqual(all.redshift!.dims, [4, 1]);
  const z = all.redshift!.data as Float32Array;
  assert.ok(z.every(Number.isFinite));
  assert.ok(new Set(z).size === 4, 'different galaxies give different outputs');
  // Batch independence: sample 2 alone equals sample 2 in the batch.
  const one = await s.run({ image: new ort.Tensor('float32', image.slice(2 * PIX, 3 * PIX), [1, 5, 32, 32]), magnitude: new ort.Tensor('float32', magnitude.slice(10, 15), [1, 5]) });
  assert.deepEqual(one.redshift!.dims, [1, 1]);
  assert.ok(Math.abs((one.redshift!.data as Float32Array)[0]! - z[2]!) < 1e-5);
  await s.release();
});

test('the same seed builds byte-identical models; another seed does not', () => {
  const a = buildAstroMAEOnnx({ seed: 5 });
  const b = buildAstroMAEOnnx({ seed: 5 });
  const c = buildAstroMAEOnnx({ seed: 6 });
  assert.equal(Buffer.compare(Buffer.from(a), Buffer.from(b)), 0);
  assert.notEqual(Buffer.compare(Buffer.from(a), Buffer.from(c)), 0);
});

test('parameters (15.8M +- 0.1M) and FLOPs per sample (0.219 GFLOP +- 1%) from the graph agree with the architecture', () => {
  const info = inspectModelBytes(buildAstroMAEOnnx({ seed: 1 }), 'm.onnx');
  assert.ok(Math.abs(info.parameters - 15.8e6) <= 0.1e6, `parameters ${info.parameters}`);
  // Folding BatchNorm keeps one bias per channel of the four BatchNorm tensors.
  const bnChannels = INCEPTION_BLOCKS.reduce((s, b) => s + blockConvs(b).reduce((t, c) => t + c.cout, 0), 0);
  // With identity normalization the only other float initializers are 4 scalars (attention scale, GELU constants).
  assert.equal(info.parameters, parameterCount() - 3 * bnChannels + 4);

  // Independent count of multiply-accumulates, layer by layer.
  const d = ARCH.dim;
  const t = ARCH.tokens;
  const vitBlock = t * (d * 3 * d + d * d + 2 * d * ARCH.mlpHidden) + 2 * ARCH.heads * t * t * (d / ARCH.heads);
  const vit = 16 * d * ARCH.bands * 64 + ARCH.depth * vitBlock + d * d + d * 1096 + 1096 * 1096;
  const spatial = [16, 16, 8, 8, 4];
  let inception = 32 * 32 * ARCH.stem * ARCH.bands;
  INCEPTION_BLOCKS.forEach((b, j) => {
    for (const c of blockConvs(b)) inception += spatial[j]! ** 2 * c.cout * c.cin * c.kernel * c.kernel;
  });
  inception += 192 * 1096 + 1096 * 1096;
  const mag = 5 * 1024 + 4 * 1024 * 1024;
  const head = 3216 * 1024 + 1024;
  const flops = 2 * (vit + inception + mag + head);
  assert.equal(info.flopsPerSample, flops);
  assert.ok(Math.abs(info.flopsPerSample - 0.22e9) / 0.22e9 < 0.01, `FLOPs ${info.flopsPerSample}`);
  assert.deepEqual(info.unresolved, []);
  assert.equal(info.opsets[0]!.version, 17);
  assert.equal(info.irVersion, 8);
});

test('the ONNX graph computes what the PyTorch module definition computes (reference forward pass)', async () => {
  const w = seededWeights(9);
  // Non-trivial BatchNorm statistics and normalization, so folding and scaling are exercised.
  const rng = new Rng(77);
  for (const [name, t] of w) {
    if (name.endsWith('.bn.running_mean') || name.endsWith('.bn.bias')) for (let i = 0; i < t.length; i++) t[i] = 0.3 * rng.normal();
    if (name.endsWith('.bn.running_var') || name.endsWith('.bn.weight')) for (let i = 0; i < t.length; i++) t[i] = 0.5 + rng.uniform();
  }
  const norm: Normalization = {
    imageTransform: 'asinh',
    imageScale: [10, 8, 6, 4, 2],
    imageMean: [0.1, 0.2, 0.3, 0.2, 0.1],
    imageStd: [0.8, 0.9, 1.0, 1.1, 1.2],
    magnitudeMean: [19, 18, 17, 16.7, 16.5],
    magnitudeStd: [0.9, 0.8, 0.7, 0.7, 0.7],
  };
  const { graph, tensors } = buildAstroMAEGraph(w, norm);
  const bytes = graph.serialize({ outputs: [{ name: tensors.redshift, dims: ['N', 1] }, { name: tensors.features, dims: ['N', 3216] }], producerName: 't', producerVersion: '1' });
  const { image, magnitude } = inputs(2, 4);
  const out = await run(bytes, image, magnitude);
  const feats = out[tensors.features]!.data as Float32Array;
  const z = out.redshift!.data as Float32Array;
  for (let i = 0; i < 2; i++) {
    const ref = referenceForward(w, norm, image.subarray(i * PIX, (i + 1) * PIX), magnitude.subarray(i * 5, i * 5 + 5));
    let maxErr = 0;
    let maxRef = 0;
    for (let j = 0; j < ARCH.features; j++) {
      maxErr = Math.max(maxErr, Math.abs(feats[i * ARCH.features + j]! - ref.features[j]!));
      maxRef = Math.max(maxRef, Math.abs(ref.features[j]!));
    }
    assert.ok(maxRef > 0.01, 'features are not trivially zero');
    assert.ok(maxErr / maxRef < 1e-4, `sample ${i}: feature error ${maxErr} vs scale ${maxRef}`);
    assert.ok(Math.abs(z[i]! - ref.redshift) < 1e-4, `sample ${i}: redshift ${z[i]} vs reference ${ref.redshift}`);
  }
  // The graph serialized as the full model gives the same redshifts.
  const full = await run(serializeAstroMAE(graph, norm), image, magnitude);
  assert.deepEqual(Array.from(full.redshift!.data as Float32Array), Array.from(z));
});
