// `cai bench infer` end to end with a small model: the figures it prints are consistent with each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureModel } from './support/onnx-fixture.js';
import { tempDir } from './support/datasets.js';
import { smallRedshiftModel } from '../model/support/small-model.js';

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
  assert.match(text.stdout, /against the limit: .+ cores used; peak fp32 \d+ GFLOP\/s/);
  assert.equal(b.precision, 'fp32');
  assert.equal(b.limit.models.length, 1);
  assert.ok(Math.abs(b.limit.models[0].samplesPerS - b.raw.samplesPerS) < 1e-9);
});

test('cai bench infer --precision int8 sets the int8 model against fp32 alone: speed-up, accuracy, fraction of peak', () => {
  const dir = tempDir();
  const model = join(dir, 'small.onnx');
  writeFileSync(model, smallRedshiftModel());
  const run = (...extra: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bench', 'infer', '--model', model, '--precision', 'int8', '--samples', '200', '--batch-size', '50', '--threads', '1', '--accuracy-samples', '120', ...extra], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const r = run('--json', '--repeats', '2');
  assert.equal(r.status, 0, r.stderr);
  const b = JSON.parse(r.stdout);
  assert.equal(b.precision, 'int8');
  assert.equal(b.int8.fp32Model, model);
  assert.notEqual(b.int8.int8Model, model, 'the given model was quantized for the comparison');
  assert.equal(b.int8.fp32Raw.seconds.length, 2);
  assert.ok(Math.abs(b.int8.speedup - b.raw.samplesPerS / b.int8.fp32Raw.samplesPerS) < 1e-9);
  assert.equal(b.int8.meetsTarget, b.int8.speedup >= 1.5);
  const a = b.int8.accuracy;
  assert.equal(a.samples, 120);
  assert.ok(a.maxAbsDiff > 0 && a.maxAbsDiff < 0.1 && a.meanAbsDiff <= a.maxAbsDiff, `max ${a.maxAbsDiff} mean ${a.meanAbsDiff}`);
  assert.ok(Math.abs(a.sigmaNmadDiff - (a.int8SigmaNmad - a.fp32SigmaNmad)) < 1e-12);
  assert.equal(a.meetsTarget, a.maxAbsDiff <= 0.005 && Math.abs(a.sigmaNmadDiff) <= 0.001);
  const [fp32, int8] = b.limit.models;
  assert.deepEqual([fp32.precision, int8.precision], ['fp32', 'int8']);
  assert.ok(Math.abs(fp32.gflopsPerSample - int8.gflopsPerSample) < 1e-12, 'same arithmetic in both');
  assert.equal(fp32.int8GopsPerSample, 0);
  assert.ok(int8.int8GopsPerSample > 0.9 * int8.gflopsPerSample, 'nearly all of it on int8');
  for (const m of b.limit.models) {
    assert.ok(Math.abs(m.achievedGops - m.gflopsPerSample * m.samplesPerS) < 1e-9);
    if (b.limit.cpu) assert.ok(Math.abs(m.fractionOfPeak - m.achievedGops / m.peakGops) < 1e-9, `${m.precision}: fraction = achieved / peak of the mix`);
  }

  const text = run('--repeats', '1');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /speed-up int8 \/ fp32: [\d.]+x \(target >= 1.5\)/);
  assert.match(text.stdout, /max \|z_int8 - z_fp32\| [\d.]+ \(target <= 0.005\)/);
  assert.match(text.stdout, /int8: [\d.]+ G ops\/s, 2 per multiply-add .* of the \d+ G\/s peak for this mix/);
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
