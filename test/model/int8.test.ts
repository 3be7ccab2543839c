// The int8 built-in model: it loads in a fresh onnxruntime session, matches the fp32 built-in model within
// the accuracy bound on held-out galaxies of a seed neither calibration used, and records in its metadata
// which layers stayed in float32 and why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { synthesize } from '../../src/data/synth/generator.js';
import { accuracyMetrics } from '../../src/metrics/accuracy.js';
import { BUILTIN_INT8_KEY, BUILTIN_METADATA_KEY, builtinInt8ModelPath, ensureBuiltinInt8Model, ensureBuiltinModel } from '../../src/model/builtin.js';
import { inspectModelFile } from '../../src/model/inspect.js';
import { decodeModel } from '../../src/model/onnx/schema.js';
import { createSession, runOverPartition } from '../../src/model/ort-run.js';

async function predict(path: string, samples: number, seed: number): Promise<{ z: Float32Array; truth: Float32Array }> {
  const data = synthesize({ samples, seed });
  const session = await createSession(new Uint8Array(await readFile(path)));
  try {
    return { z: (await runOverPartition(session, data, [{ name: 'redshift', width: 1 }]))[0]!, truth: data.redshift! };
  } finally {
    await session.release();
  }
}

test('the int8 built-in model matches the fp32 one on held-out galaxies: max |dz| <= 0.005, sigma_NMAD within 0.001', async () => {
  const fp32 = await ensureBuiltinModel();
  const int8 = await ensureBuiltinInt8Model(fp32);
  assert.equal(int8, builtinInt8ModelPath(fp32));
  const a = await predict(fp32, 512, 4243);
  const b = await predict(int8, 512, 4243);
  let worst = 0;
  for (let i = 0; i < a.z.length; i++) worst = Math.max(worst, Math.abs(a.z[i]! - b.z[i]!));
  assert.ok(worst <= 0.005, `max |z_int8 - z_fp32| ${worst}`);
  assert.ok(worst > 0, 'the int8 model is a different model');
  const nmad = [accuracyMetrics(a.truth, a.z).sigmaNmad!, accuracyMetrics(b.truth, b.z).sigmaNmad!];
  assert.ok(Math.abs(nmad[1]! - nmad[0]!) <= 0.001, `sigma_NMAD fp32 ${nmad[0]} int8 ${nmad[1]}`);
});

test('the int8 built-in model says what it is: precision, form, the float32 layers and why; its int8 weights make it a third smaller', async () => {
  const fp32 = await ensureBuiltinModel();
  const int8 = await ensureBuiltinInt8Model(fp32);
  const info = await inspectModelFile(int8);
  assert.equal(info.metadata[BUILTIN_METADATA_KEY], BUILTIN_INT8_KEY);
  assert.equal(info.metadata['cai.precision'], 'int8');
  const q = JSON.parse(info.metadata['cai.quantization']!);
  assert.equal(q.form, 'static');
  assert.match(q.weights, /7-bit/);
  assert.match(q.calibration, /seed 1000, 4096 samples/);
  // 12 blocks x (qkv, proj, fc1, fc2) + vit.head + vit_fc.0 + vit_fc.2
  assert.equal(q.quantizedLayers, 51);
  const float = q.floatLayers as Record<string, string[]>;
  const reasonOf = (node: string): string => Object.entries(float).find(([, nodes]) => nodes.includes(node))?.[0] ?? '(quantized)';
  assert.match(reasonOf('head.0'), /regression head/);
  assert.match(reasonOf('mag_mlp.4'), /magnitude MLP/);
  assert.match(reasonOf('inception.fc.2'), /Inception projection/);
  assert.match(reasonOf('vit.patch_embed'), /convolution/);
  assert.match(reasonOf('vit.blocks.3.attn.qk'), /weight is computed/);
  assert.equal(reasonOf('vit.blocks.3.mlp.fc1.matmul'), '(quantized)');
  const fp32Info = await inspectModelFile(fp32);
  assert.ok(Math.abs(info.flopsPerSample - fp32Info.flopsPerSample) < 1, 'same arithmetic');
  const m = decodeModel(new Uint8Array(await readFile(int8)));
  assert.equal(m.graph.nodes.filter((n) => n.opType === 'MatMulIntegerToFloat').length, 51);
  assert.ok(info.bytes < 0.75 * fp32Info.bytes, `${fp32Info.bytes} vs ${info.bytes} bytes`);
});
