// `cai bench infer` end to end with a small model: the figures it prints are consistent with each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureModel } from './support/onnx-fixture.js';
import { tempDir } from './support/datasets.js';

const root = new URL('../..', import.meta.url).pathname;

test('cai bench infer measures onnxruntime alone and the pipeline on the same samples', () => {
  const dir = tempDir();
  const model = join(dir, 'm.onnx');
  writeFileSync(model, fixtureModel());
  const run = (...extra: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bench', 'infer', '--model', model, '--samples', '300', '--batch-size', '32', '--partition-samples', '64', '--threads', '1', ...extra], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const r = run('--json', '--repeats', '2');
  assert.equal(r.status, 0, r.stderr);
  const b = JSON.parse(r.stdout);
  assert.equal(b.samples, 300);
  assert.equal(b.partitions, 5); // 64 x 4 + 44
  assert.equal(b.raw.seconds.length, 2);
  assert.equal(b.endToEnd.seconds.length, 2);
  assert.equal(b.raw.bestSeconds, Math.min(...b.raw.seconds));
  assert.ok(Math.abs(b.raw.samplesPerS - 300 / b.raw.bestSeconds) < 1e-6);
  assert.ok(Math.abs(b.endToEnd.bitsPerS - (300 * 20_500 * 8) / b.endToEnd.bestSeconds) < 1e-3);
  assert.ok(Math.abs(b.ratio - b.endToEnd.samplesPerS / b.raw.samplesPerS) < 1e-9);
  assert.equal(b.meetsTarget, b.ratio >= 0.9);
  const pairs = b.raw.seconds.map((s: number, i: number) => s / b.endToEnd.seconds[i]);
  assert.ok(Math.abs(b.pairedRatio - (pairs[0] + pairs[1]) / 2) < 1e-9, 'median of two per-repeat ratios');
  assert.ok(b.endToEnd.modelBusy > 0 && b.endToEnd.modelBusy <= 1, `model busy ${b.endToEnd.modelBusy}`);

  const text = run('--repeats', '1');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /onnxruntime alone\s+[\d.]+ samples\/s/);
  assert.match(text.stdout, /end to end \(pipeline\)\s+[\d.]+ samples\/s/);
  assert.match(text.stdout, /ratio end-to-end \/ raw: [\d.]+ \(target >= 0.9\)/);
});

function cai(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
}

test('cai bench synth measures the generator against its baselines', () => {
  const r = cai('bench', 'synth', '--samples', '400', '--repeats', '1', '--json');
  assert.equal(r.status, 0, r.stderr);
  const b = JSON.parse(r.stdout);
  assert.equal(b.samples, 400);
  assert.equal(b.repeats, 1);
  for (const k of ['galaxiesPerCpuSecond', 'galaxiesPerWallSecond', 'catalogPerCpuSecond', 'noiseOnlyPerCpuSecond']) assert.ok(b[k] > 0, `${k} = ${b[k]}`);
  assert.ok(Math.abs(b.ratioToNoiseOnly - b.galaxiesPerCpuSecond / b.noiseOnlyPerCpuSecond) < 0.05 * b.ratioToNoiseOnly + 0.002);
});

test('cai bench all runs the chosen benchmarks in their own processes and collects their JSON', () => {
  const bad = cai('bench', 'all', '--only', 'synth,nonsense');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--only: unknown benchmark nonsense \(available: infer, synth, /);
  const none = cai('bench', 'all', '--only', 'synth', '--skip', 'synth');
  assert.equal(none.status, 2);

  const r = cai('bench', 'all', '--only', 'synth', '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.benchmarks.length, 1);
  const [synth] = out.benchmarks;
  assert.equal(synth.name, 'synth');
  assert.equal(synth.exitCode, 0);
  assert.equal(synth.result.samples, 20_000, 'the benchmark ran with its own defaults');
  assert.ok(synth.result.galaxiesPerCpuSecond > 0);
  assert.match(r.stderr, /== \[1\/1\] cai bench synth/);
});
