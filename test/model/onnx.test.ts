import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, attr } from '../../src/model/onnx/builder.js';
import { ProtoReader, ProtoWriter, readVarints, toInt64 } from '../../src/model/onnx/protobuf.js';
import { decodeModel } from '../../src/model/onnx/schema.js';
import { analyseGraph } from '../../src/model/onnx/analysis.js';
import { buildAstroMAEOnnx, writeModel } from '../../src/model/astromae.js';
import { checkRedshiftContract, inspectModelBytes } from '../../src/model/inspect.js';
import { ExitCode, ModelError } from '../../src/errors.js';

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('protobuf writer and reader agree on varints (negative int64 included), packed and unpacked repeats, floats', () => {
  const w = new ProtoWriter().varint(1, 300).varint(2, -1).varint(2, -5n).packedVarints(3, [0, 1, 127, 128, 2 ** 40, -2]).float(4, 1.5).string(5, 'héllo');
  const fields = [...new ProtoReader(w.finish()).fields()];
  assert.equal(fields[0]!.int, 300n);
  assert.equal(toInt64(fields[1]!.int!), -1n);
  assert.equal(toInt64(fields[2]!.int!), -5n);
  assert.deepEqual(readVarints(fields[3]!), [0n, 1n, 127n, 128n, 2n ** 40n, -2n]);
  assert.equal(new DataView(fields[4]!.data!.buffer, fields[4]!.data!.byteOffset).getFloat32(0, true), 1.5);
  assert.equal(new TextDecoder().decode(fields[5]!.data!), 'héllo');
  // A length that runs past the end is refused, not read out of bounds.
  const bad = Uint8Array.of(0x0a, 0x05, 0x01);
  assert.throws(() => [...new ProtoReader(bad).fields()], /runs past the end/);
});

test('the builder serializes only what the requested outputs need, and onnxruntime runs the result', async () => {
  const g = new GraphBuilder('t');
  const x = g.input('x', ['N', 3]);
  const unused = g.input('unused', ['N', 2]);
  const a = g.node('Mul', [x, g.constFloat('two', [2], [])]);
  const b = g.node('Add', [a, g.constFloat('ten', [10, 20, 30], [3])]);
  g.node('Relu', [unused]);
  const sm = g.nodeN('Softmax', [b], { axis: attr.i(-1) }, ['probs'])[0]!;
  const onlyA = decodeModel(g.serialize({ outputs: [{ name: a, dims: ['N', 3] }], producerName: 'p', producerVersion: '1' }));
  assert.deepEqual(onlyA.graph.nodes.map((n) => n.opType), ['Mul']);
  assert.deepEqual(onlyA.graph.inputs.map((i) => i.name), ['x']);
  assert.deepEqual(onlyA.graph.initializers.map((t) => t.name), ['two']);
  const bytes = g.serialize({ outputs: [{ name: sm, dims: ['N', 3] }, { name: b, dims: ['N', 3] }], producerName: 'p', producerVersion: '1', metadata: { k: 'v' } });
  const m = decodeModel(bytes);
  assert.equal(m.metadata.k, 'v');
  assert.equal(m.graph.nodes.find((n) => n.opType === 'Softmax')!.attributes.axis!.kind, 'int');
  assert.deepEqual(m.graph.inputs[0]!.dims, ['N', 3]);
  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3), [1, 3]) });
  assert.deepEqual(Array.from(out[b]!.data as Float32Array), [12, 24, 36]);
  const p = out.probs!.data as Float32Array;
  assert.ok(Math.abs(p[0]! + p[1]! + p[2]! - 1) < 1e-6 && p[2]! > 0.99);
  await s.release();
});

test('graph analysis sizes Reshape/Expand/Slice from shape arithmetic and counts Conv and MatMul FLOPs', () => {
  const g = new GraphBuilder('a');
  const x = g.input('x', ['N', 4, 8, 8]);
  const c = g.node('Conv', [x, g.initializer('w', new Float32Array(6 * 4 * 9), [6, 4, 3, 3])], { pads: attr.ints([1, 1, 1, 1]) });
  const n = g.node('Shape', [c], { start: attr.i(0), end: attr.i(1) });
  const shape = g.node('Concat', [n, g.constInt64('rest', [6, 64])], { axis: attr.i(0) });
  const r = g.node('Reshape', [c, shape]);
  const t = g.node('Transpose', [r], { perm: attr.ints([0, 2, 1]) });
  const mm = g.node('MatMul', [t, g.initializer('m', new Float32Array(6 * 10), [6, 10])]);
  const sl = g.node('Slice', [mm, g.constInt64('s', [1]), g.constInt64('e', [-1]), g.constInt64('ax', [1])]);
  const model = decodeModel(g.serialize({ outputs: [{ name: sl, dims: ['N', 62, 10] }], producerName: 'p', producerVersion: '1' }));
  const a = analyseGraph(model.graph);
  assert.deepEqual(a.unresolved, []);
  assert.equal(a.flopsByOp.Conv, 2 * 6 * 64 * 4 * 9);
  assert.equal(a.flopsByOp.MatMul, 2 * 64 * 6 * 10);
  assert.equal(a.parameters, 6 * 4 * 9 + 60);
});

test('inspect reports the model contract and metadata; checkRedshiftContract accepts ours and names a mismatch', () => {
  const info = inspectModelBytes(buildAstroMAEOnnx({ seed: 2, metadata: { note: 'x' } }), 'a.onnx');
  assert.deepEqual(info.inputs, [
    { name: 'image', dtype: 'float32', shape: ['N', 5, 32, 32] },
    { name: 'magnitude', dtype: 'float32', shape: ['N', 5] },
  ]);
  assert.deepEqual(info.outputs, [{ name: 'redshift', dtype: 'float32', shape: ['N', 1] }]);
  assert.equal(info.metadata.note, 'x');
  assert.equal(info.metadata.seed, '2');
  assert.ok(info.metadata.normalization!.includes('imageTransform'));
  checkRedshiftContract(info);
  const wrong = { ...info, inputs: [info.inputs[0]!, { name: 'magnitude', dtype: 'float32', shape: ['N', 4] }] };
  assert.throws(() => checkRedshiftContract(wrong), (e: unknown) => e instanceof ModelError && /a\.onnx: input "magnitude" has shape \[N,4\], expected \[N,5\]/.test(e.message));
  const noOut = { ...info, outputs: [{ name: 'z', dtype: 'float32', shape: ['N', 1] }] };
  assert.throws(() => checkRedshiftContract(noOut), /model has no output "redshift" \(it has z\)/);
});

test('CLI: model inspect --json on a built model; missing, non-ONNX and truncated files exit 4 with one line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cai-inspect-'));
  try {
    const path = join(dir, 'm.onnx');
    const bytes = buildAstroMAEOnnx({ seed: 4 });
    await writeModel(path, bytes);
    const r = cli('model', 'inspect', path, '--json');
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { parameters: number; flopsPerSample: number; opsets: { version: number }[]; inputs: { name: string }[] };
    assert.ok(Math.abs(info.parameters - 15.8e6) < 0.1e6);
    assert.ok(Math.abs(info.flopsPerSample - 0.219e9) < 0.003e9);
    assert.equal(info.opsets[0]!.version, 17);
    assert.deepEqual(info.inputs.map((i) => i.name), ['image', 'magnitude']);

    const human = cli('model', 'inspect', path);
    assert.equal(human.status, 0);
    assert.match(human.stdout, /parameters\s+15,800,357/);
    assert.match(human.stdout, /image\s+float32\s+\[N, 5, 32, 32\]/);

    const text = join(dir, 'notes.onnx');
    await writeFile(text, 'hello, I am not a model\n');
    const truncated = join(dir, 'cut.onnx');
    await writeFile(truncated, bytes.subarray(0, 1000));
    for (const [file, pattern] of [
      [join(dir, 'missing.onnx'), /missing\.onnx: model file not found/],
      [text, /notes\.onnx: not an ONNX model/],
      [truncated, /cut\.onnx: not an ONNX model/],
    ] as const) {
      const e = cli('model', 'inspect', file);
      assert.equal(e.status, ExitCode.model, file);
      assert.match(e.stderr, pattern);
      assert.equal(e.stderr.trim().split('\n').length, 1);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('writeModel replaces files atomically and leaves no temporary file behind', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cai-write-'));
  try {
    const path = join(dir, 'sub', 'm.onnx');
    await writeModel(path, Uint8Array.of(1, 2, 3));
    await writeModel(path, Uint8Array.of(4, 5));
    const { readdir, readFile } = await import('node:fs/promises');
    assert.deepEqual(Array.from(await readFile(path)), [4, 5]);
    assert.deepEqual(await readdir(join(dir, 'sub')), ['m.onnx']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

