// `cai infer --device webgpu` from the command line: the adapter in metrics.json, predictions equal to the
// CPU run's; with no Vulkan driver a one-line error and exit code 7, and `auto` says it runs on CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { readPredictionsFile } from '../../src/inference/predictions.js';
import { bundledProviders } from '../../src/runtime/onnxruntime.js';
import { fixtureModel } from './support/onnx-fixture.js';
import { tempDir, writeDataset } from './support/datasets.js';
import { webgpuSkipReason } from './support/webgpu.js';

const root = new URL('../..', import.meta.url).pathname;
const skip = await webgpuSkipReason();
const noProvider = bundledProviders().includes('webgpu') ? false : `onnxruntime-node bundles no WebGPU provider on ${process.platform}-${process.arch}`;

function cai(env: NodeJS.ProcessEnv, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function fixtureJob(): Promise<{ work: string; data: string; model: string }> {
  const work = tempDir();
  const data = join(work, 'data');
  await writeDataset(data, { samples: 9, perPartition: 4 });
  const model = join(work, 'model.onnx');
  writeFileSync(model, fixtureModel());
  return { work, data, model };
}

test('cai infer --device webgpu names the adapter in metrics.json and predicts what the CPU run predicts', { skip }, async () => {
  const { work, data, model } = await fixtureJob();
  const cpu = cai({}, 'infer', '--data', data, '--model', model, '--out', join(work, 'cpu'), '--threads', '1');
  assert.equal(cpu.code, 0, cpu.stderr);
  const gpu = cai({}, 'infer', '--data', data, '--model', model, '--out', join(work, 'gpu'), '--threads', '1', '--device', 'webgpu', '--batch-size', '4', '--json');
  assert.equal(gpu.code, 0, gpu.stderr);
  assert.equal(gpu.stderr.trim(), '', 'no provider noise on stderr');
  const report = JSON.parse(gpu.stdout);
  assert.deepEqual(report, JSON.parse(readFileSync(join(work, 'gpu', 'metrics.json'), 'utf8')));
  assert.equal(report.performance.device, 'webgpu');
  assert.equal(report.performance.adapter.backend, 'vulkan');
  assert.equal(typeof report.performance.adapter.name, 'string');
  assert.equal(typeof report.performance.adapter.limits.maxStorageBufferRange, 'number');
  assert.equal(report.performance.placement.sessions, 1);
  assert.equal(report.config.batchSize, 4);
  const a = await readPredictionsFile(join(work, 'cpu', 'predictions.csv'));
  const b = await readPredictionsFile(join(work, 'gpu', 'predictions.csv'));
  assert.deepEqual(Array.from(b.objectId), Array.from(a.objectId));
  for (let i = 0; i < a.zPred.length; i++) assert.ok(Math.abs(a.zPred[i]! - b.zPred[i]!) < 1e-3, `sample ${i}`);
});

test('no Vulkan driver: --device webgpu is one line and exit code 7; auto says why it runs on CPU', { skip: noProvider }, async () => {
  const { work, data, model } = await fixtureJob();
  // The loader then finds no driver at all: the state of a machine without a GPU and without Mesa's.
  const noDriver = { VK_DRIVER_FILES: join(work, 'no-such-driver.json'), VK_ICD_FILENAMES: join(work, 'no-such-driver.json') };
  const r = cai(noDriver, 'infer', '--data', data, '--model', model, '--out', join(work, 'o'), '--device', 'webgpu', '--batch-size', '4');
  assert.equal(r.code, ExitCode.unavailable, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^cai: --device webgpu: the WebGPU execution provider is not available here \(.*adapter.*\)$/m);
  const auto = cai(noDriver, 'infer', '--data', data, '--model', model, '--out', join(work, 'auto'), '--device', 'auto', '--threads', '1', '--json');
  assert.equal(auto.code, 0, auto.stderr);
  assert.match(auto.stderr, /--device auto: .*WebGPU: no GPU adapter found.*running on CPU/);
  const report = JSON.parse(auto.stdout);
  assert.equal(report.performance.device, 'cpu');
  assert.equal(report.performance.adapter, null);
  assert.match(report.performance.placement.deviceChoice, /running on CPU/);
});
