import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { buildAstroMAEOnnx } from '../../src/model/astromae.js';
import { paramSpecs, seededWeights } from '../../src/model/params.js';
import { decodeWeights, encodeWeights, NORMALIZATION_METADATA_KEY } from '../../src/model/weights-file.js';
import { ModelError, ExitCode } from '../../src/errors.js';

const N = 3;
const image = Float32Array.from({ length: N * 5120 }, (_, i) => Math.sin(i * 0.37) * 3 + (i % 11) * 0.2);
const magnitude = Float32Array.from({ length: N * 5 }, (_, i) => 16 + (i % 5) * 0.6 + Math.floor(i / 5) * 0.3);

async function predict(bytes: Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  try {
    const out = await s.run({ image: new ort.Tensor('float32', image, [N, 5, 32, 32]), magnitude: new ort.Tensor('float32', magnitude, [N, 5]) });
    return out.redshift!.data as Float32Array;
  } finally {
    await s.release();
  }
}

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A safetensors file with a hand-made header, for hostile-input cases. */
function safetensors(header: Record<string, unknown>, dataBytes: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

test('weights round-trip: a safetensors file of seeded weights builds a model with identical outputs (CLI)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cai-weights-'));
  try {
    const weights = seededWeights(21);
    const file = join(dir, 'w.safetensors');
    await writeFile(file, encodeWeights(weights));
    const out = join(dir, 'from-weights.onnx');
    const r = cli('model', 'build', '--weights', file, '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { source: string; parameters: number };
    assert.equal(report.source, 'weights');
    assert.ok(Math.abs(report.parameters - 15.8e6) < 0.1e6);
    const fromFile = await predict(new Uint8Array(await readFile(out)));
    const seeded = await predict(buildAstroMAEOnnx({ seed: 21 }));
    assert.deepEqual(Array.from(fromFile), Array.from(seeded));
    assert.ok(fromFile.every(Number.isFinite));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('decodeWeights accepts PyTorch extras (num_batches_tracked), float64/float16 tensors and a normalization', () => {
  const weights = seededWeights(2);
  const norm = { imageTransform: 'asinh', imageScale: [1, 2, 3, 4, 5], imageMean: [0, 0, 0, 0, 0], imageStd: [1, 1, 1, 1, 1], magnitudeMean: [17, 17, 17, 17, 17], magnitudeStd: [1, 1, 1, 1, 1] };
  const bytes = encodeWeights(weights, { [NORMALIZATION_METADATA_KEY]: JSON.stringify(norm) });
  const decoded = decodeWeights(bytes, 'w.safetensors');
  assert.deepEqual(decoded.normalization, norm);
  assert.deepEqual(Array.from(decoded.weights.get('head.2.weight')!), Array.from(weights.get('head.2.weight')!));

  // Rewrite one tensor as F64 and another as F16, add a num_batches_tracked entry.
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)))).toString()) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const body: Uint8Array[] = [];
  let offset = 0;
  const next: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  for (const p of paramSpecs()) {
    const t = weights.get(p.name)!;
    let raw: Uint8Array;
    let dtype = 'F32';
    if (p.name === 'head.2.weight') {
      raw = new Uint8Array(Float64Array.from(t).buffer);
      dtype = 'F64';
    } else if (p.name === 'vit.fc_norm.weight') {
      raw = new Uint8Array(Uint16Array.from(t, () => 0x3c00).buffer); // 1.0 in float16
      dtype = 'F16';
    } else raw = new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
    next[p.name] = { dtype, shape: header[p.name]!.shape, data_offsets: [offset, offset + raw.byteLength] };
    body.push(raw);
    offset += raw.byteLength;
  }
  next['inception.blocks.0.b1.bn.num_batches_tracked'] = { dtype: 'I64', shape: [], data_offsets: [offset, offset + 8] };
  body.push(new Uint8Array(8));
  offset += 8;
  const file = safetensors(next, offset);
  let at = file.length - offset;
  for (const b of body) {
    file.set(b, at);
    at += b.length;
  }
  const d2 = decodeWeights(file, 'mixed.safetensors');
  assert.deepEqual(Array.from(d2.weights.get('head.2.weight')!), Array.from(weights.get('head.2.weight')!));
  assert.ok(d2.weights.get('vit.fc_norm.weight')!.every((v) => v === 1));
  assert.equal(d2.weights.has('inception.blocks.0.b1.bn.num_batches_tracked'), false);
});

test('bad weights files are refused with the file and tensor named', () => {
  const weights = seededWeights(1);
  const good = encodeWeights(weights);
  const expectError = (bytes: Uint8Array, pattern: RegExp): void =>
    assert.throws(() => decodeWeights(bytes, 'bad.safetensors'), (e: unknown) => e instanceof ModelError && e.exitCode === ExitCode.model && pattern.test(e.message) && e.message.startsWith('bad.safetensors: '));

  const missing = new Map(weights);
  missing.delete('vit.blocks.3.attn.qkv.bias');
  expectError(encodeWeights(missing), /missing tensor "vit\.blocks\.3\.attn\.qkv\.bias"/);

  expectError(safetensors({ 'vit.extra.weight': { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4), /unexpected tensor "vit\.extra\.weight"/);
  expectError(safetensors({ 'head.2.weight': { dtype: 'F32', shape: [1, 1000], data_offsets: [0, 4000] } }, 4000), /tensor "head\.2\.weight" has shape \[1,1000\], expected \[1,1024\]/);
  expectError(safetensors({ 'head.2.bias': { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 2), /truncated: tensor "head\.2\.bias"/);
  expectError(safetensors({ 'head.2.bias': { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, 4), /tensor "head\.2\.bias" has dtype I32/);
  expectError(good.subarray(0, good.length - 100), /truncated/);
  expectError(new TextEncoder().encode('this is not a safetensors file at all'), /safetensors header length|not a safetensors file|truncated/);
  const nan = new Map(weights);
  nan.set('head.2.bias', Float32Array.of(NaN));
  expectError(encodeWeights(nan), /tensor "head\.2\.bias" holds a non-finite value/);
});

test('CLI: a wrong weights file exits with code 4 and a one-line message naming file and tensor', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cai-weights-'));
  try {
    const file = join(dir, 'wrong.safetensors');
    const header = { 'head.0.weight': { dtype: 'F32', shape: [1024, 3215], data_offsets: [0, 1024 * 3215 * 4] } };
    await writeFile(file, safetensors(header, 1024 * 3215 * 4));
    const r = cli('model', 'build', '--weights', file, '--out', join(dir, 'x.onnx'));
    assert.equal(r.status, ExitCode.model);
    assert.match(r.stderr, /^cai: .*wrong\.safetensors: tensor "head\.0\.weight" has shape \[1024,3215\], expected \[1024,3216\]\n$/);
    const missing = cli('model', 'build', '--weights', join(dir, 'nope.safetensors'), '--out', join(dir, 'x.onnx'));
    assert.equal(missing.status, ExitCode.model);
    assert.match(missing.stderr, /nope\.safetensors: weights file not found/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
