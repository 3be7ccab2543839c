// `cai run` and `cai demo` as a user runs them: a real process, flags, stdout JSON, exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { summarySchema } from '../../src/workflow/contracts.js';
import { ExitCode } from '../../src/errors.js';
import { scaled } from '../support/time-scale.js';
import { seededModel, tempDir, writeDataset } from './support.js';
import { fixtureModel } from '../inference/support/onnx-fixture.js';
import { webgpuSkipReason } from '../inference/support/webgpu.js';

const root = join(import.meta.dirname, '../..');
function caiWith(env: NodeJS.ProcessEnv, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: scaled(300_000), env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const cai = (...args: string[]) => caiWith(process.env, ...args);

test('cai run --help documents the flags', () => {
  const r = cai('run', '--help');
  assert.equal(r.code, 0);
  for (const flag of ['--data', '--model', '--world-size', '--concurrency', '--batch-size', '--threads', '--memory-mb', '--timeout-s', '--run-id', '--out', '--json', '--aggregation', '--fmi-channel', '--fmi-hint', '--fmi-timeout-s', '--redis-url'])
    assert.ok(r.stdout.includes(flag), flag);
  assert.equal(cai('demo', '--help').code, 0);
});

test('bad flags and a missing model are one-line errors with their exit codes', () => {
  const t = tempDir();
  try {
    const missing = cai('run', '--data', t.dir, '--model', join(t.dir, 'none.onnx'), '--out', t.dir);
    assert.equal(missing.code, ExitCode.model);
    assert.equal(missing.stderr, `cai: ${join(t.dir, 'none.onnx')}: model file not found\n`);
    const w = cai('run', '--data', t.dir, '--model', seededModel(), '--out', t.dir, '--world-size', '0');
    assert.equal(w.code, ExitCode.usage);
    assert.match(w.stderr, /^cai: --world-size must be an integer from 1 to 100000, got 0\n$/);
    const id = cai('run', '--data', t.dir, '--model', seededModel(), '--out', t.dir, '--run-id', '../x');
    assert.equal(id.code, ExitCode.usage);
    // Bounded by the machine, and refused rather than quietly changed.
    const cores = availableParallelism();
    const threads = cai('run', '--data', t.dir, '--model', seededModel(), '--out', t.dir, '--threads', '1000');
    assert.equal(threads.code, ExitCode.usage);
    assert.equal(threads.stderr, `cai: --threads must be an integer from 1 to ${2 * cores} (twice the ${cores} core${cores === 1 ? '' : 's'} of this machine), got 1000\n`);
    const retries = cai('run', '--data', t.dir, '--model', seededModel(), '--out', t.dir, '--retries', '-1');
    assert.equal(retries.code, ExitCode.usage);
    assert.equal(retries.stderr, 'cai: --retries must be an integer from 0 to 10, got -1\n');
    const interval = cai('run', '--data', t.dir, '--model', seededModel(), '--out', t.dir, '--retry-interval-s', '0');
    assert.equal(interval.code, ExitCode.usage);
    assert.equal(interval.stderr, 'cai: --retry-interval-s must be an integer from 1 to 3600, got 0\n');
    const data = cai('run', '--data', join(t.dir, 'nothing-here'), '--model', seededModel(), '--out', t.dir);
    assert.equal(data.code, ExitCode.data);
    assert.match(data.stderr, /nothing-here: not found/);
  } finally {
    t.cleanup();
  }
});

test('cai run --json: partial run exits 5 naming the corrupt file; rerunning after a repair resumes and completes', async () => {
  const t = tempDir();
  try {
    const ids = await writeDataset({ dir: join(t.dir, 'data'), partitions: 3, perPartition: 8 });
    const part = join(t.dir, 'data/partitions/part-00001.safetensors');
    const good = readFileSync(part);
    writeFileSync(part, good.subarray(0, good.length - 10));
    const args = ['run', '--data', join(t.dir, 'data/manifest.json'), '--model', seededModel(), '--out', t.dir, '--world-size', '3', '--concurrency', '2', '--batch-size', '8', '--run-id', 'cli-1', '--no-report', '--json'];
    const first = cai(...args);
    assert.equal(first.code, ExitCode.partial, first.stderr);
    const s1 = summarySchema.parse(JSON.parse(first.stdout));
    assert.equal(s1.status, 'partial');
    assert.equal(s1.ranks.failed.length, 1);
    assert.match(s1.ranks.failed[0]!.cause, /part-00001\.safetensors: is \d+ bytes but the manifest says \d+ \(truncated\)/);
    assert.equal(s1.accounting.predictedSamples, 16);

    writeFileSync(part, good);
    const second = cai(...args);
    assert.equal(second.code, 0, second.stderr);
    const s2 = summarySchema.parse(JSON.parse(second.stdout));
    assert.equal(s2.status, 'complete');
    assert.equal(s2.invocations.total, 1);
    assert.equal(s2.ranks.reused.length, 2);
    const csv = readFileSync(join(t.dir, 'results/cli-1/predictions.csv'), 'utf8').trim().split('\n').slice(1);
    assert.deepEqual(csv.map((l) => l.split(',')[0]), ids);
    assert.ok(!existsSync(join(t.dir, 'results/cli-1/report')));
  } finally {
    t.cleanup();
  }
});

test('cai demo synthesizes, runs and reports; a second demo keeps the data set', () => {
  const t = tempDir();
  try {
    const out = join(t.dir, 'demo');
    const first = cai('demo', '--out', out, '--samples', '300', '--world-size', '2', '--json');
    assert.equal(first.code, 0, first.stderr);
    const s = summarySchema.parse(JSON.parse(first.stdout));
    assert.equal(s.status, 'complete');
    assert.equal(s.accounting.predictedSamples, 300);
    assert.ok(s.accuracy && s.accuracy.count === 300);
    assert.ok(s.outputs.report && existsSync(s.outputs.report));
    const manifest = readFileSync(join(out, 'data/manifest.json'), 'utf8');
    const second = cai('demo', '--out', out, '--samples', '300', '--world-size', '2');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /kept 300 samples in 1 partition/);
    assert.match(second.stdout, /COMPLETE - 300 samples/);
    assert.equal(readFileSync(join(out, 'data/manifest.json'), 'utf8'), manifest);
  } finally {
    t.cleanup();
  }
});

test('cai bench no-data fans out ranks that do no inference', () => {
  const r = cai('bench', 'no-data', '--ranks', '2,3', '--json');
  assert.equal(r.code, 0, r.stderr);
  const { fanOuts } = JSON.parse(r.stdout) as { fanOuts: { ranks: number; coldStarts: number; stateTransitions: number; warmWallS: number }[] };
  assert.deepEqual(fanOuts.map((f) => [f.ranks, f.coldStarts, f.stateTransitions]), [
    [2, 2, 5],
    [3, 3, 6],
  ]);
  assert.ok(fanOuts.every((f) => f.warmWallS > 0));
});

test('cai run --aggregation fmi: refused below full concurrency; with CAI_DEBUG=fmi the channel choice is shown, and rank 0 writes the report', async () => {
  const t = tempDir();
  try {
    const ids = await writeDataset({ dir: join(t.dir, 'data'), partitions: 2, perPartition: 12 });
    const common = ['run', '--data', join(t.dir, 'data'), '--model', seededModel(), '--out', t.dir, '--world-size', '2', '--batch-size', '8'];
    const few = cai(...common, '--aggregation', 'fmi', '--concurrency', '1');
    assert.equal(few.code, ExitCode.usage);
    assert.equal(few.stderr, 'cai: --aggregation fmi needs every rank running at once: --concurrency 1 is below --world-size 2; raise --concurrency to 2 or use --aggregation storage\n');
    const stray = cai(...common, '--fmi-channel', 'tcp');
    assert.equal(stray.code, ExitCode.usage);
    assert.equal(stray.stderr, 'cai: --fmi-channel, --fmi-hint, --fmi-timeout-s and --redis-url apply to --aggregation fmi\n');
    const badChannel = cai(...common, '--aggregation', 'fmi', '--fmi-channel', 'carrier-pigeon');
    assert.equal(badChannel.code, ExitCode.usage);
    assert.equal(badChannel.stderr, 'cai: --fmi-channel must be tcp, redis, s3 or auto, got "carrier-pigeon"\n');
    const noRedis = caiWith({ ...process.env, CAI_REDIS_URL: '' }, ...common, '--aggregation', 'fmi', '--fmi-channel', 'redis');
    assert.equal(noRedis.code, ExitCode.usage);
    assert.match(noRedis.stderr, /^cai: --fmi-channel redis needs a Redis server: give --redis-url redis:\/\/host:port or set \$CAI_REDIS_URL\n$/);

    // The default concurrency of an fmi run is the world size; auto asks the policy.
    const r = caiWith({ ...process.env, CAI_DEBUG: 'fmi' }, ...common, '--aggregation', 'fmi', '--run-id', 'fmi-cli', '--json');
    assert.equal(r.code, 0, r.stderr);
    const s = summarySchema.parse(JSON.parse(r.stdout));
    assert.equal(s.status, 'complete');
    assert.equal(s.configuration.concurrency, 2);
    assert.equal(s.aggregation?.status, 'aggregated');
    assert.equal(s.aggregation?.summarizedBy, 'rank 0');
    assert.equal(s.configuration.aggregation?.channel, 'tcp');
    assert.match(r.stderr, /^fmi policy: gather \d+ B x 2 ranks, hint fast -> tcp /m);
    assert.match(r.stderr, /^fmi aggregation: run fmi-cli gathers over tcp \(rendezvous server on 127\.0\.0\.1:\d+\); auto: gather /m);
    assert.doesNotMatch(r.stderr + r.stdout, /[0-9a-f]{64}|CAI_FMI_SECRET/, 'the run secret is never printed');
    assert.ok(s.outputs.report && existsSync(s.outputs.report), 'rank 0 rendered the report');
    const csv = readFileSync(join(t.dir, 'results/fmi-cli/predictions.csv'), 'utf8').trim().split('\n').slice(1);
    assert.deepEqual(csv.map((l) => l.split(',')[0]), ids);
  } finally {
    t.cleanup();
  }
});

test('cai run --device cpu: recorded in summary.json, cold starts in parts; a second run finds the optimized model cached and predicts the same', async () => {
  const t = tempDir();
  try {
    await writeDataset({ dir: join(t.dir, 'data'), partitions: 2, perPartition: 8 });
    const env = { ...process.env, CAI_CACHE_DIR: join(t.dir, 'cache') };
    const args = (id: string): string[] => ['run', '--data', join(t.dir, 'data'), '--model', seededModel(), '--out', t.dir, '--world-size', '2', '--concurrency', '2', '--threads', '1', '--batch-size', '8', '--device', 'cpu', '--run-id', id, '--no-report', '--json'];
    const runs = [];
    for (const id of ['dev-1', 'dev-2']) {
      const r = caiWith(env, ...args(id));
      assert.equal(r.code, 0, r.stderr);
      runs.push(summarySchema.parse(JSON.parse(r.stdout)));
    }
    for (const s of runs) {
      assert.equal(s.configuration.device, 'cpu');
      const cold = s.performance.coldStarts;
      assert.ok(cold, 'a cold-start block');
      assert.equal(cold.instances, s.invocations.coldStarts);
      for (const r of s.performance.ranks.filter((x) => x.coldStart)) {
        assert.ok(r.coldStartParts, `rank ${r.rank} has its cold-start parts`);
        assert.ok(r.coldStartParts.sessionCreateS > 0 && r.coldStartParts.processS > 0);
      }
    }
    // The first run's instances store the entry (or find it stored by the other); the second's all hit.
    assert.equal((runs[0]!.performance.coldStarts!.cache.written ?? 0) + (runs[0]!.performance.coldStarts!.cache.hit ?? 0), runs[0]!.performance.coldStarts!.instances);
    assert.equal(runs[1]!.performance.coldStarts!.cache.hit, runs[1]!.performance.coldStarts!.instances);
    const csv = (id: string): string => readFileSync(join(t.dir, `results/${id}/predictions.csv`), 'utf8');
    assert.equal(csv('dev-2'), csv('dev-1'));
    const bad = caiWith(env, ...args('dev-3').map((a) => (a === 'cpu' ? 'tpu' : a)));
    assert.equal(bad.code, ExitCode.usage);
  } finally {
    t.cleanup();
  }
});

test('cai run --device webgpu --gpus 1: the ranks run on the adapter, and summary.json records the device', { skip: await webgpuSkipReason() }, async () => {
  const t = tempDir();
  try {
    await writeDataset({ dir: join(t.dir, 'data'), partitions: 2, perPartition: 8 });
    const model = join(t.dir, 'fixture.onnx');
    writeFileSync(model, fixtureModel());
    const r = cai('run', '--data', join(t.dir, 'data'), '--model', model, '--out', t.dir, '--world-size', '2', '--concurrency', '1', '--batch-size', '8', '--device', 'webgpu', '--gpus', '1', '--run-id', 'gpu-1', '--no-report', '--json');
    assert.equal(r.code, 0, r.stderr);
    const s = summarySchema.parse(JSON.parse(r.stdout));
    assert.equal(s.status, 'complete');
    assert.equal(s.configuration.device, 'webgpu');
    assert.equal(s.configuration.gpus, 1);
    assert.deepEqual(s.performance.ranks.map((x) => x.device), ['webgpu', 'webgpu']);
    // The cache serves CPU sessions only.
    assert.deepEqual(Object.keys(s.performance.coldStarts!.cache), ['off']);
  } finally {
    t.cleanup();
  }
});
