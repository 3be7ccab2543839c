// `cai calibrate`: the profile from measurements (pure arithmetic), and the command itself: --quick on
// this machine writes a valid profile at the default location, which estimate and plan then use.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { calibrationPlan, threadSteps } from '../../src/planner/calibrate/measure.js';
import { partitionResidualS, profileOfMeasurements, type CalibrationMeasurements } from '../../src/planner/calibrate/profile-of.js';
import { instanceSlowdown, parseProfile, perSampleSeconds, profileSchema } from '../../src/planner/profile.js';
import { ExitCode } from '../../src/errors.js';
import { seededModel } from '../workflow/support.js';

const root = mkdtempSync(join(tmpdir(), 'cai-calibrate-'));
after(() => rmSync(root, { recursive: true, force: true }));
const repo = join(import.meta.dirname, '../..');

function cai(env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repo, encoding: 'utf8', timeout: 600_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const measured: CalibrationMeasurements = {
  measuredAt: '2026-12-02T10:00:00Z',
  command: 'cai calibrate',
  machine: { cpuModel: 'Test CPU', cores: 2, memoryGB: 8, loadAverage: 0.5 },
  device: { kind: 'cpu' },
  model: { name: 'm.onnx', sha256: 'a'.repeat(64) },
  throughput: [
    { threads: 1, batchSize: 256, samplesPerS: 400 },
    { threads: 2, batchSize: 256, samplesPerS: 640 },
  ],
  modelLoadS: 0.3,
  readBytesPerS: 200e6,
  runs: [
    // 1,000 samples on one thread: 2.5 s of model; 20 MB read: 0.1 s; 0.4 s of per-partition work over 2 partitions.
    { wallS: 5, initS: 0.2, rankS: 0.3 + 0.1 + 2.5 + 0.4 + 0.05, modelLoadS: 0.3, uploadS: 0.05, inferenceS: 2.4, samples: 1000, partitions: 2, bytes: 20e6, threads: 1, batchSize: 256, peakRssMB: 410.4 },
  ],
};

test('threads 1, 2, 4, ... up to the cores; --quick measures less', () => {
  assert.deepEqual(threadSteps(1), [1]);
  assert.deepEqual(threadSteps(2), [1, 2]);
  assert.deepEqual(threadSteps(6), [1, 2, 4, 6]);
  assert.deepEqual(threadSteps(16), [1, 2, 4, 8, 16]);
  const full = calibrationPlan('cpu', 2, false);
  const quick = calibrationPlan('cpu', 2, true);
  assert.deepEqual(full.batchSizes, [64, 256, 512]);
  assert.ok(quick.batchSizes.length === 2 && quick.samplesPerPoint < full.samplesPerPoint && quick.runs < full.runs && quick.rounds < full.rounds);
  // A GPU: one CPU thread, larger batches.
  assert.deepEqual(calibrationPlan('cuda', 16, false).threads, [1]);
  assert.ok(Math.min(...calibrationPlan('cuda', 16, false).batchSizes) >= 256);
});

test('the profile of measurements: the run fixed cost and per-partition time make the one-rank run add up', () => {
  const p = profileOfMeasurements(measured);
  profileSchema.parse(p);
  assert.equal(p.isDefault, false);
  assert.equal(p.workerStartS, 0.2);
  assert.equal(p.modelLoadS, 0.3);
  assert.equal(p.instanceMemoryMB, 410);
  assert.equal(p.machine.loadAverage, 0.5);
  // Outside the rank: wall - worker start - rank = 5 - 0.2 - 3.35.
  assert.ok(Math.abs(p.orchestrationS! - 1.45) < 1e-9, String(p.orchestrationS));
  // Per partition: (rank - load - read - samples at 400/s - upload) / 2 = (3.35 - 0.3 - 0.1 - 2.5 - 0.05) / 2.
  assert.ok(Math.abs(p.partitionOverheadS! - 0.2) < 1e-9, String(p.partitionOverheadS));
  assert.ok(Math.abs(partitionResidualS(p, measured.runs[0]!) - 0.2) < 1e-9);
  // Reads that overlapped with the model leave nothing negative behind.
  const overlapped = profileOfMeasurements({ ...measured, runs: [{ ...measured.runs[0]!, rankS: 2.0 }] });
  assert.equal(overlapped.partitionOverheadS, 0);
  assert.ok(Math.abs(1 / perSampleSeconds(p, 2, 256) - 640) < 1e-6);
});

test('instances on one machine: time-slicing beyond the cores, and their measured cost to each other', () => {
  const p = profileOfMeasurements({ ...measured, allCores: { instances: 2, batchSize: 256, samplesPerS: 320 } });
  assert.deepEqual(p.allCores, { instances: 2, batchSize: 256, samplesPerS: 320 });
  // One instance alone: 1. Two one-thread instances on two cores: 400/s alone against 320/s each at once.
  assert.equal(instanceSlowdown(p, 1, 2, 2), 1);
  assert.ok(Math.abs(instanceSlowdown(p, 2, 1, 2) - 1.25) < 1e-9);
  // Four on two cores: time-sliced two ways as well.
  assert.ok(Math.abs(instanceSlowdown(p, 4, 1, 2) - 2.5) < 1e-9);
  // Without the measurement, only time-slicing.
  const q = profileOfMeasurements(measured);
  assert.equal(instanceSlowdown(q, 2, 1, 2), 1);
  assert.equal(instanceSlowdown(q, 4, 1, 2), 2);
});

test('cai calibrate --quick writes a valid profile at the default location, which estimate and plan then use', () => {
  const dir = join(root, 'profiles');
  const env = { CAI_PROFILE_DIR: dir };
  const r = cai(env, 'calibrate', '--quick', '--model', seededModel(), '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { file: string };
  assert.equal(out.file, join(dir, 'cpu.json'));
  const p = parseProfile(readFileSync(out.file, 'utf8'), out.file);
  console.log(`calibrate --quick on ${availableParallelism()} cores: ${p.throughput.map((t) => `${t.threads}t/b${t.batchSize} ${t.samplesPerS.toFixed(0)}/s`).join(', ')}; model load ${p.modelLoadS} s, worker start ${p.workerStartS} s, read ${(p.readBytesPerS / 1e6).toFixed(0)} MB/s, fixed ${p.orchestrationS} s, load ${p.machine.loadAverage}`);
  assert.equal(p.isDefault, false);
  assert.equal(p.device.kind, 'cpu');
  assert.equal(p.machine.cores, availableParallelism());
  assert.ok(p.machine.loadAverage !== undefined);
  assert.match(p.model.sha256 ?? '', /^[0-9a-f]{64}$/);
  // Every thread count up to the cores at each of --quick's two batch sizes.
  const threads = threadSteps(availableParallelism());
  for (const b of [64, 256]) assert.deepEqual(p.throughput.filter((t) => t.batchSize === b).map((t) => t.threads), threads);
  assert.ok(p.modelLoadS > 0 && p.workerStartS > 0 && p.readBytesPerS > 0);
  assert.ok((p.instanceMemoryMB ?? 0) > 50 && p.orchestrationS !== undefined && p.partitionOverheadS !== undefined);
  if (availableParallelism() > 1) assert.equal(p.allCores?.instances, availableParallelism());

  // estimate and plan find it without --profile, and say so in what the prediction was based on.
  const est = cai(env, 'estimate', '--platform', 'local', '--samples', '4096', '--json');
  assert.equal(est.code, 0, est.stderr);
  const rec = JSON.parse(est.stdout).prediction.basedOn.profile;
  assert.equal(rec.isDefault, false);
  assert.equal(rec.label, p.label);
  const plan = cai(env, 'plan', '--samples', '4096', '--platforms', 'local', '--json');
  assert.equal(JSON.parse(plan.stdout).pick.prediction.basedOn.profile.label, p.label);
  // Without it, the built-in default again.
  const none = cai({ CAI_PROFILE_DIR: join(root, 'empty') }, 'estimate', '--platform', 'local', '--samples', '4096', '--json');
  assert.equal(JSON.parse(none.stdout).prediction.basedOn.profile.isDefault, true);
});

test('calibrate: bad flags and an unusable profile are one-line errors with their exit codes', () => {
  const env = { CAI_PROFILE_DIR: join(root, 'bad') };
  const dev = cai(env, 'calibrate', '--device', 'tpu');
  assert.equal(dev.code, ExitCode.usage);
  assert.match(dev.stderr, /^cai: --device must be cpu, cuda.* or auto, got "tpu"\n$/);
  const prof = cai(env, 'calibrate', '--profile', 'x.json');
  assert.equal(prof.code, ExitCode.usage);
  assert.match(prof.stderr, /--profile applies to --from-run/);
  const missing = cai(env, 'calibrate', '--from-run', join(root, 'no-such-run'));
  assert.equal(missing.code, ExitCode.data);
  assert.match(missing.stderr, /summary\.json: not found/);
  assert.ok(!existsSync(join(root, 'bad')), 'nothing written');
});
