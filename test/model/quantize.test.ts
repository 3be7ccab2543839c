// The int8 quantizer on a small foreign model (Conv, Gemm, MatMul + Add, MatMul) in every operator form,
// through the library and through `cai model quantize`, and its one-line refusals of what it cannot do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetWriter } from '../../src/data/dataset.js';
import { synthesize } from '../../src/data/synth/generator.js';
import { ExitCode } from '../../src/errors.js';
import { GraphBuilder } from '../../src/model/onnx/builder.js';
import { ProtoWriter } from '../../src/model/onnx/protobuf.js';
import { decodeModel, encodeModel } from '../../src/model/onnx/schema.js';
import { createSession, runOverPartition } from '../../src/model/ort-run.js';
import { QUANT_FORMS } from '../../src/model/quantize/forms.js';
import { quantizeOnnxBytes } from '../../src/model/quantize/quantize-file.js';
import { maxQuantizationError, quantizePerChannel } from '../../src/model/quantize/weights.js';
import { smallRedshiftModel } from './support/small-model.js';

const root = new URL('../..', import.meta.url).pathname;
function cai(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('per-channel weights: each channel has its own scale, errors stay within half a step, zero channels stay zero', () => {
  // [K=3, N=2] for a MatMul: channel = column. Column 1 is 1000x smaller than column 0.
  const w = Float32Array.of(1, 0.001, -2, 0.002, 0.5, -0.0005);
  const q = quantizePerChannel(w, 3, 2, 1);
  assert.ok(Math.abs(q.scales[0]! - 2 / 127) < 1e-7 && Math.abs(q.scales[1]! - 0.002 / 127) < 1e-9);
  assert.deepEqual(Array.from(q.values), [64, 64, -127, 127, 32, -32]);
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i]! - q.values[i]! * q.scales[i % 2]!) <= q.scales[i % 2]! / 2 + 1e-9, `element ${i}`);
  assert.ok(maxQuantizationError(w, q, 3, 2, 1) <= q.scales[0]! / 2);
  const seven = quantizePerChannel(w, 3, 2, 1, 63);
  assert.ok(Array.from(seven.values).every((v) => Math.abs(v) <= 63));
  assert.equal(Math.max(...Array.from(seven.values, Math.abs)), 63);
  // A Conv weight [M=2, rest=2]: channel = row; the all-zero row gets scale 1 and zeros.
  const conv = quantizePerChannel(Float32Array.of(0, 0, 0.3, -0.6), 2, 2, 0);
  assert.deepEqual(Array.from(conv.values), [0, 0, 64, -127]);
  assert.equal(conv.scales[0], 1);
});

async function predict(bytes: Uint8Array, samples = 128): Promise<Float32Array> {
  const s = await createSession(bytes, 1);
  try {
    return (await runOverPartition(s, synthesize({ samples, seed: 5 }), [{ name: 'redshift', width: 1 }]))[0]!;
  } finally {
    await s.release();
  }
}

test('a foreign model with Conv, Gemm (transB, alpha) and MatMul quantizes in every form, loads in onnxruntime and stays close to fp32', async () => {
  const fp32 = smallRedshiftModel();
  const z0 = await predict(fp32);
  const spread = Math.max(...z0) - Math.min(...z0);
  assert.ok(spread > 0.05, `the model's output varies (${spread})`);
  const calibration = synthesize({ samples: 256, seed: 6 });
  const expectOps: Record<string, string[]> = {
    dynamic: ['DynamicQuantizeMatMul', 'ConvInteger'],
    'dynamic-standard': ['MatMulInteger', 'ConvInteger', 'DynamicQuantizeLinear'],
    static: ['MatMulIntegerToFloat', 'QuantizeLinear', 'DequantizeLinear'],
    qdq: ['QuantizeLinear', 'DequantizeLinear'],
  };
  for (const form of QUANT_FORMS.values()) {
    const q = await quantizeOnnxBytes(fp32, 'small.onnx', { form: form.name, calibration: form.needsRanges ? calibration : undefined });
    assert.equal(q.report.quantizedLayers, 4, form.name);
    assert.equal(q.report.floatLayers, 0);
    const m = decodeModel(q.bytes);
    const ops = new Set(m.graph.nodes.map((n) => n.opType));
    for (const op of expectOps[form.name]!) assert.ok(ops.has(op), `${form.name} uses ${op}`);
    // The float weights are gone, replaced by int8 ones.
    assert.ok(!m.graph.initializers.some((t) => ['conv.w', 'fc.w', 'mag.w', 'head.w'].includes(t.name)), form.name);
    assert.equal(m.graph.initializers.filter((t) => t.dataType === 3).length, 4);
    assert.equal(m.metadata['cai.precision'], 'int8');
    assert.equal(JSON.parse(m.metadata['cai.quantization']!).form, form.name);
    const z = await predict(q.bytes);
    let worst = 0;
    for (let i = 0; i < z.length; i++) worst = Math.max(worst, Math.abs(z[i]! - z0[i]!));
    assert.ok(worst <= 0.05 * spread, `${form.name}: max |dz| ${worst} vs output spread ${spread}`);
  }
});

test('layers kept in float are left untouched and reported with the reason; so is an activation x activation MatMul', async () => {
  const g = new GraphBuilder('aa');
  const x = g.input('x', ['N', 4]);
  const y = g.input('y', [4, 'M']);
  const mm = g.node('MatMul', [x, y], {}, 'dot');
  const lin = g.node('MatMul', [x, g.initializer('w', Float32Array.from({ length: 8 }, (_, i) => i - 4), [4, 2])], {}, 'lin');
  const bytes = g.serialize({ outputs: [{ name: mm, dims: ['N', 'M'] }, { name: lin, dims: ['N', 2] }], producerName: 't', producerVersion: '1' });
  const q = await quantizeOnnxBytes(bytes, 't.onnx');
  assert.deepEqual(q.report.layers.map((l) => [l.node, l.quantized, l.reason]), [['dot', false, 'weight is computed, not an initializer'], ['lin', true, undefined]]);

  const kept = await quantizeOnnxBytes(smallRedshiftModel(), 'small.onnx', { keepFloat: ['features/*'], ops: ['MatMul', 'Gemm', 'Conv'] });
  assert.deepEqual(kept.report.layers.filter((l) => !l.quantized).map((l) => [l.node, l.reason]), [['features/conv', 'kept in float on request'], ['features/fc', 'kept in float on request']]);
  const noConv = await quantizeOnnxBytes(smallRedshiftModel(), 'small.onnx', { ops: ['MatMul', 'Gemm'] });
  assert.match(noConv.report.layers.find((l) => l.op === 'Conv')!.reason!, /Conv is not among the quantized operator types/);
  const m = decodeModel(kept.bytes);
  assert.ok(m.graph.nodes.some((n) => n.opType === 'Conv' && n.inputs[1] === 'conv.w'));
});

/** An If node whose branches are subgraphs (only decoded, never run). */
function modelWithSubgraph(): Uint8Array {
  const m = decodeModel(smallRedshiftModel());
  const branch = new ProtoWriter().string(2, 'branch').finish();
  const thenAttr = new ProtoWriter().string(1, 'then_branch').message(6, new ProtoWriter().rawField(branch)).varint(20, 5).finish();
  m.graph.nodes.push({ opType: 'If', domain: '', name: 'control', inputs: ['cond'], outputs: ['never'], attributes: { then_branch: { kind: 'other', type: 5, raw: thenAttr } } });
  return encodeModel(decodeModel(encodeModel(m)));
}

test('cai model quantize: JSON report, inspect shows the int8 metadata and the same FLOPs; --calibrate reads a data set', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cai-quantize-'));
  try {
    const input = join(dir, 'small.onnx');
    await writeFile(input, smallRedshiftModel());
    const out = join(dir, 'small-int8.onnx');
    const r = cai('model', 'quantize', input, out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.form, 'dynamic');
    assert.equal(report.quantizedLayers, 4);
    assert.equal(report.weightLevels, 63);
    const inspect = JSON.parse(cai('model', 'inspect', out, '--json').stdout);
    const before = JSON.parse(cai('model', 'inspect', input, '--json').stdout);
    assert.equal(inspect.metadata['cai.precision'], 'int8');
    assert.deepEqual(inspect.unresolved, []);
    assert.ok(Math.abs(inspect.flopsPerSample - before.flopsPerSample) < 1e-6, 'int8 operators are counted like the float ones');
    assert.ok(inspect.flopsByOp.DynamicQuantizeMatMul > 0 && inspect.flopsByOp.ConvInteger > 0);

    const data = join(dir, 'calib');
    const writer = await DatasetWriter.create(data, { labelled: true, partitionSamples: 100, name: 'calib' });
    await writer.append(synthesize({ samples: 250, seed: 9 }));
    await writer.finish();
    const s = cai('model', 'quantize', input, join(dir, 'static.onnx'), '--calibrate', data, '--calibration-samples', '150', '--weight-bits', '8');
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /int8: 4 layers quantized \(static form, 8-bit per-channel weights, static activations calibrated on 150 samples\); 0 kept in float32/);
    const meta = decodeModel(new Uint8Array(await readFile(join(dir, 'static.onnx')))).metadata;
    assert.match(JSON.parse(meta['cai.quantization']!).calibration, /first 150 samples/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('cai model quantize refuses what it cannot handle with one line and exit 4 (bad flags: exit 2)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cai-quantize-bad-'));
  try {
    const files: Record<string, Uint8Array | string> = {
      'text.onnx': 'not a model\n',
      'cut.onnx': smallRedshiftModel().subarray(0, 700),
      'subgraph.onnx': modelWithSubgraph(),
    };
    const relu = new GraphBuilder('r');
    files['relu.onnx'] = relu.serialize({ outputs: [{ name: relu.node('Relu', [relu.input('x', ['N', 3])]), dims: ['N', 3] }], producerName: 't', producerVersion: '1' });
    const act = new GraphBuilder('a');
    files['activations.onnx'] = act.serialize({ outputs: [{ name: act.node('MatMul', [act.input('x', ['N', 3]), act.input('y', [3, 2])], {}, 'dot'), dims: ['N', 2] }], producerName: 't', producerVersion: '1' });
    const ext = decodeModel(smallRedshiftModel());
    const w = ext.graph.initializers.find((t) => t.name === 'head.w')!;
    w.raw = new Uint8Array(0);
    w.external = { location: '../head.bin', offset: 0, entries: [['location', '../head.bin']] };
    files['external.onnx'] = encodeModel(ext);
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);

    for (const [name, pattern] of [
      ['text.onnx', /text\.onnx: not an ONNX model/],
      ['cut.onnx', /cut\.onnx: not an ONNX model/],
      ['missing.onnx', /missing\.onnx: model file not found/],
      ['subgraph.onnx', /subgraph\.onnx: node "control" \(If\) holds a subgraph; models with control flow are not supported/],
      ['relu.onnx', /relu\.onnx: no MatMul, Gemm or Conv layer to quantize/],
      ['activations.onnx', /activations\.onnx: no layer can be quantized \(dot: weight is computed, not an initializer\)/],
      ['external.onnx', /external\.onnx: tensor "head\.w" keeps its data in "\.\.\/head\.bin", which is not a relative path inside the model's directory/],
    ] as const) {
      const r = cai('model', 'quantize', join(dir, name), join(dir, 'out.onnx'));
      assert.equal(r.status, ExitCode.model, `${name}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const small = join(dir, 'small.onnx');
    await writeFile(small, smallRedshiftModel());
    for (const args of [['--form', 'static'], ['--form', 'nonsense'], ['--weight-bits', '4'], ['--ops', 'Relu']]) {
      const r = cai('model', 'quantize', small, join(dir, 'out.onnx'), ...args);
      assert.equal(r.status, ExitCode.usage, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
