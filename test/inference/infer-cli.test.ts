// `cai infer` end to end: the real CLI process, real onnxruntime, data sets on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePartition } from '../../src/data/partition.js';
import { ExitCode } from '../../src/errors.js';
import { accuracyMetrics } from '../../src/metrics/accuracy.js';
import { readPredictionsFile } from '../../src/inference/predictions.js';
import { fixtureExpected, fixtureModel } from './support/onnx-fixture.js';
import { makePartition, partitionFile, replacePartitionFile, tempDir, writeDataset } from './support/datasets.js';

const root = new URL('../..', import.meta.url).pathname;

function cai(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function modelFile(dir: string, bytes = fixtureModel()): string {
  const f = join(dir, 'model.onnx');
  writeFileSync(f, bytes);
  return f;
}

test('cai infer writes predictions.csv and metrics.json that agree with the model and the labels', async () => {
  const work = tempDir();
  const data = join(work, 'data');
  const { all } = await writeDataset(data, { samples: 21, perPartition: 8 });
  const out = join(work, 'out');
  const r = cai('infer', '--data', join(data, 'manifest.json'), '--model', modelFile(work), '--out', out, '--batch-size', '5', '--threads', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Predicted 21 samples from 3 partitions on cpu/);
  assert.match(r.stdout, /Accuracy: MAE \d/);

  const preds = await readPredictionsFile(join(out, 'predictions.csv'));
  assert.deepEqual(Array.from(preds.objectId), Array.from(all.objectId));
  assert.deepEqual(Array.from(preds.zTrue!), Array.from(all.redshift!));
  for (let i = 0; i < 21; i++) assert.ok(Math.abs(preds.zPred[i]! - fixtureExpected(all.image, all.magnitude, i)) < 2e-5, `sample ${i}`);

  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  const expected = accuracyMetrics(preds.zTrue!, preds.zPred);
  assert.equal(metrics.accuracy.count, 21);
  for (const k of ['mae', 'mse', 'biasMean', 'sigmaNmad', 'r2', 'outlierRate'] as const) assert.ok(Math.abs(metrics.accuracy[k] - expected[k]!) < 1e-9, k);
  assert.equal(metrics.performance.samples, 21);
  assert.equal(metrics.performance.numBatches, 2 + 2 + 1); // partitions of 8, 8, 5 in batches of 5
  assert.equal(metrics.performance.batchSize, 5);
  assert.equal(metrics.performance.inputBytes, 21 * 20_500);
  assert.ok(metrics.performance.samplesPerS > 0);
  assert.equal(metrics.cai.num_batches, 5);
  assert.equal(metrics.data.partitions, 3);
  assert.equal(metrics.config.threads, 1);
  assert.equal(metrics.partitions.length, 3);
  assert.deepEqual(readdirSync(out).sort(), ['metrics.json', 'predictions.csv'], 'no temp files');
});

test('cai infer --json prints the metrics; unlabelled data has no accuracy and empty z_true', async () => {
  const work = tempDir();
  const data = join(work, 'data');
  await writeDataset(data, { samples: 4, perPartition: 4, labelled: false });
  const out = join(work, 'out');
  const r = cai('infer', '--data', data, '--model', modelFile(work), '--out', out, '--json', '--threads', '1');
  assert.equal(r.code, 0, r.stderr);
  const printed = JSON.parse(r.stdout);
  assert.equal(printed.accuracy, undefined);
  assert.equal(printed.performance.samples, 4);
  assert.deepEqual(printed, JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')));
  const lines = readFileSync(join(out, 'predictions.csv'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 5);
  assert.match(lines[1]!, /^\d+,,-?\d/);
});

/** A data set whose partition 1 is damaged by `damage`; the run must fail cleanly. */
async function failing(damage: (dataDir: string) => void, code: number, pattern: RegExp, extra: string[] = []): Promise<void> {
  const work = tempDir();
  const data = join(work, 'data');
  await writeDataset(data, { samples: 9, perPartition: 3 });
  damage(data);
  const out = join(work, 'out');
  const r = cai('infer', '--data', data, '--model', modelFile(work), '--out', out, '--threads', '1', ...extra);
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  const errLines = r.stderr.trim().split('\n');
  assert.equal(errLines.length, 1, `one line on stderr: ${r.stderr}`);
  assert.match(errLines[0]!, pattern);
  assert.ok(!existsSync(join(out, 'predictions.csv')) && !existsSync(join(out, 'metrics.json')), 'no output that looks complete');
  if (existsSync(out)) assert.deepEqual(readdirSync(out), [], 'no temp files left');
}

test('a truncated partition fails with exit code 3 naming the file', async () => {
  await failing((d) => {
    const f = partitionFile(d, 1);
    const bytes = readFileSync(f);
    replacePartitionFile(d, 1, bytes.subarray(0, bytes.length - 100));
  }, ExitCode.data, /^cai: .*part-00001\.safetensors: truncated/);
});

test('a partition shorter than its manifest entry fails as truncated', async () => {
  await failing((d) => {
    const f = partitionFile(d, 1);
    writeFileSync(f, readFileSync(f).subarray(0, 500));
  }, ExitCode.data, /part-00001\.safetensors: is 500 bytes but the manifest says \d+ \(truncated\)/);
});

test('a checksum mismatch fails with exit code 3', async () => {
  await failing((d) => {
    const f = partitionFile(d, 1);
    const bytes = readFileSync(f);
    bytes[bytes.length - 7] ^= 0xff;
    writeFileSync(f, bytes);
  }, ExitCode.data, /part-00001\.safetensors: sha256 mismatch/);
});

test('wrong tensor shapes fail with exit code 3', async () => {
  await failing((d) => {
    const bytes = Buffer.from(readFileSync(partitionFile(d, 1)));
    const headerLen = Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, 8 + headerLen).toString('utf8').replace('"shape":[3,5,32,32]', '"shape":[3,5,64,16]');
    bytes.write(header, 8, 'utf8');
    replacePartitionFile(d, 1, bytes);
  }, ExitCode.data, /part-00001\.safetensors: tensor "image" has shape \[3,5,64,16\], expected \[3,5,32,32\]/);
});

test('NaN and infinite values fail with exit code 3 naming the sample', async () => {
  await failing((d) => {
    const p = makePartition(3, 99);
    p.objectId.set(BigInt64Array.from([1237648720693755927n, 1237648720693755930n, 1237648720693755933n]));
    p.magnitude[2 * 5 + 1] = Infinity;
    replacePartitionFile(d, 1, encodePartition(p));
  }, ExitCode.data, /part-00001\.safetensors: non-finite magnitude value Infinity in sample 2/);
});

test('a missing or incompatible model fails with exit code 4', async () => {
  const work = tempDir();
  const data = join(work, 'data');
  await writeDataset(data, { samples: 3, perPartition: 3 });
  const missing = cai('infer', '--data', data, '--model', join(work, 'absent.onnx'), '--out', join(work, 'o1'));
  assert.equal(missing.code, ExitCode.model);
  assert.match(missing.stderr.trim(), /^cai: .*absent\.onnx: model file not found$/);
  const wrong = join(work, 'wrong.onnx');
  writeFileSync(wrong, fixtureModel({ imageShape: ['N', 5, 64, 64] }));
  const incompatible = cai('infer', '--data', data, '--model', wrong, '--out', join(work, 'o2'));
  assert.equal(incompatible.code, ExitCode.model);
  assert.match(incompatible.stderr.trim(), /wrong\.onnx: input "image" has shape \[N,5,64,64\]/);
  const renamed = join(work, 'renamed.onnx');
  writeFileSync(renamed, fixtureModel({ imageName: 'img', outputName: 'z' }));
  const ok = cai('infer', '--data', data, '--model', renamed, '--out', join(work, 'o3'), '--input-names', 'img,magnitude', '--output-name', 'z', '--json');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).performance.samples, 3);
  for (const o of ['o1', 'o2']) assert.ok(!existsSync(join(work, o)) || readdirSync(join(work, o)).length === 0, 'failed runs leave no output files');
});

test('bad flags are usage errors; --device cuda without CUDA is "unavailable"', async () => {
  const work = tempDir();
  const data = join(work, 'data');
  await writeDataset(data, { samples: 2, perPartition: 2 });
  const model = modelFile(work);
  const badDevice = cai('infer', '--data', data, '--model', model, '--out', join(work, 'o'), '--device', 'tpu');
  assert.equal(badDevice.code, ExitCode.usage);
  assert.match(badDevice.stderr, /--device must be cpu, cuda, webgpu or auto/);
  const badGpus = cai('infer', '--data', data, '--model', model, '--out', join(work, 'o'), '--gpus', 'two');
  assert.equal(badGpus.code, ExitCode.usage);
  assert.match(badGpus.stderr, /--gpus must be all or an integer from 1 to 64, got "two"/);
  const badBatch = cai('infer', '--data', data, '--model', model, '--out', join(work, 'o'), '--batch-size', '0');
  assert.equal(badBatch.code, ExitCode.usage);
  const outIsFile = cai('infer', '--data', data, '--model', model, '--out', model);
  assert.equal(outIsFile.code, ExitCode.usage);
  assert.equal(outIsFile.stderr.trim(), `cai: --out ${model}: exists and is not a directory`);
  const cuda = cai('infer', '--data', data, '--model', model, '--out', join(work, 'o'), '--device', 'cuda');
  if (cuda.code !== 0) {
    assert.equal(cuda.code, ExitCode.unavailable);
    assert.equal(cuda.stderr.trim().split('\n').length, 1, cuda.stderr);
    assert.match(cuda.stderr, /--device cuda: the CUDA execution provider is not available/);
  }
});
