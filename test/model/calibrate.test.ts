import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { synthesize } from '../../src/data/synth/generator.js';
import { accuracyMetrics } from '../../src/metrics/accuracy.js';
import { buildAstroMAEGraph, buildAstroMAEOnnx, writeModel } from '../../src/model/astromae.js';
import { ensureBuiltinModel } from '../../src/model/builtin.js';
import { decodeWeights, encodeWeights, NORMALIZATION_METADATA_KEY } from '../../src/model/weights-file.js';
import { BUILTIN_KEY, BUILTIN_METADATA_KEY } from '../../src/model/builtin.js';
import { calibrateAstroMAE, fitNormalization } from '../../src/model/calibrate.js';
import { inspectModelBytes } from '../../src/model/inspect.js';
import { runOverPartition, createSession } from '../../src/model/ort-run.js';

// One calibration shared by the tests below (it is the slow part: ~3.5k forward passes).
const calibrated = calibrateAstroMAE({ trainSamples: 3072, heldOutSamples: 512, dataSeed: 500, metadata: { [BUILTIN_METADATA_KEY]: BUILTIN_KEY } });
calibrated.catch(() => {}); // a failure is reported by each test that awaits it

test('the calibrated model meets the accuracy targets on held-out synthetic galaxies of another seed', async () => {
  const model = await calibrated;
  // Independent check: a fresh session on the serialized bytes, a data seed neither fit nor report used.
  const data = synthesize({ samples: 1024, seed: 4242 });
  const session = await ort.InferenceSession.create(model.bytes);
  const z = new Float32Array(data.count);
  for (let s = 0; s < data.count; s += 256) {
    const n = Math.min(256, data.count - s);
    const out = await session.run({
      image: new ort.Tensor('float32', data.image.subarray(s * 5120, (s + n) * 5120), [n, 5, 32, 32]),
      magnitude: new ort.Tensor('float32', data.magnitude.subarray(s * 5, (s + n) * 5), [n, 5]),
    });
    z.set(out.redshift!.data as Float32Array, s);
  }
  await session.release();
  const m = accuracyMetrics(data.redshift!, z);
  assert.ok(m.sigmaNmad! <= 0.03, `sigma_NMAD ${m.sigmaNmad}`);
  assert.ok(m.outlierRate! <= 0.02, `outlier fraction ${m.outlierRate}`);
  assert.ok(Math.abs(m.biasMean!) <= 0.005, `bias ${m.biasMean}`);
  // Meaningful, not a constant: predictions follow the truth.
  assert.ok(m.r2! > 0.5, `R^2 ${m.r2}`);

  // The report's own held-out figures meet the targets too and are recorded in the model metadata.
  const h = model.report.heldOut;
  assert.equal(h.count, 512);
  assert.ok(h.sigmaNmad! <= 0.03 && h.outlierRate! <= 0.02 && Math.abs(h.biasMean!) <= 0.005);
  const meta = inspectModelBytes(model.bytes, 'cal.onnx').metadata;
  const cal = JSON.parse(meta.calibration!) as { sigmaNmad: number; trainSeed: number; heldOutSeed: number };
  assert.equal(cal.sigmaNmad, h.sigmaNmad);
  assert.equal(cal.trainSeed, 500);
  assert.equal(cal.heldOutSeed, 501);
  assert.deepEqual(JSON.parse(meta.normalization!), model.normalization);
});

test('calibration sets BatchNorm statistics: Inception conv outputs are standardized on training data', async () => {
  const model = await calibrated;
  const train = synthesize({ samples: 256, seed: 500 });
  const { graph, tensors } = buildAstroMAEGraph(model.weights, model.normalization);
  const probes = ['inception.blocks.0.b1', 'inception.blocks.4.b2'].map((p) => tensors.convOutputs.get(p)!);
  const session = await createSession(graph.serialize({ outputs: probes.map((name) => ({ name, dims: ['N', '?', '?', '?'] })), producerName: 't', producerVersion: '1' }));
  const widths = [16 * 16 * 16, 4 * 4 * 4];
  const outs = await runOverPartition(session, train, probes.map((name, k) => ({ name, width: widths[k]! })));
  await session.release();
  outs.forEach((o, k) => {
    let s = 0;
    let s2 = 0;
    for (const v of o) {
      s += v;
      s2 += v * v;
    }
    const mean = s / o.length;
    const std = Math.sqrt(s2 / o.length - mean * mean);
    assert.ok(Math.abs(mean) < 0.1, `${probes[k]}: mean ${mean}`);
    assert.ok(Math.abs(std - 1) < 0.15, `${probes[k]}: std ${std}`);
  });
  // The fitted normalization scales pixels by the inverse sky noise (SDSS-like: tens per nanomaggy).
  const n = fitNormalization(train);
  assert.equal(n.imageTransform, 'asinh');
  assert.ok(n.imageScale.every((v) => v > 1 && v < 100), JSON.stringify(n.imageScale));
  assert.ok(n.magnitudeMean.every((v) => v > 12 && v < 24));
});

test('ensureBuiltinModel reuses a current cached model without rebuilding it', async () => {
  const model = await calibrated;
  const dir = await mkdtemp(join(tmpdir(), 'cai-builtin-'));
  try {
    const path = join(dir, 'models', 'astromae-calibrated.onnx');
    await writeModel(path, model.bytes);
    const before = await stat(path);
    const started = performance.now();
    assert.equal(await ensureBuiltinModel(path), path);
    assert.ok(performance.now() - started < 10_000, 'no calibration happened');
    const after = await stat(path);
    assert.equal(after.mtimeMs, before.mtimeMs);
    assert.equal(after.size, model.bytes.byteLength);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('calibrated weights saved as safetensors (with their normalization) rebuild the same model', async () => {
  const model = await calibrated;
  const file = decodeWeights(encodeWeights(model.weights, { [NORMALIZATION_METADATA_KEY]: JSON.stringify(model.normalization) }), 'cal.safetensors');
  const rebuilt = buildAstroMAEOnnx({ weights: file.weights, normalization: file.normalization });
  const data = synthesize({ samples: 16, seed: 77 });
  const predict = async (bytes: Uint8Array): Promise<number[]> => {
    const s = await createSession(bytes, 1);
    const [z] = await runOverPartition(s, data, [{ name: 'redshift', width: 1 }]);
    await s.release();
    return Array.from(z!);
  };
  const a = await predict(model.bytes);
  assert.deepEqual(await predict(rebuilt), a);
  assert.ok(a.every((z) => z > 0 && z < 0.6), JSON.stringify(a));
});
