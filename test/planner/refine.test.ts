// `cai calibrate --from-run`: a real run on this machine refines the local figures so that the local model
// gives that run's wall time; an AWS run's figures go to the profile's lambda section; the orchestration
// refit recovers known figures; the results are read through openStorage, from a directory or s3://.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DEFAULT_TIME_PARAMS, loadCatalog, predictRun } from '../../src/cost/index.js';
import { ExitCode } from '../../src/errors.js';
import { readFinishedRun, type FinishedRun } from '../../src/planner/calibrate/finished-run.js';
import { fitOrchestration, lambdaRunModel, refineFromRun } from '../../src/planner/calibrate/refine.js';
import { planEnv } from '../../src/planner/env.js';
import { estimateLambda } from '../../src/planner/platforms/lambda.js';
import { estimateLocal } from '../../src/planner/platforms/local.js';
import { DEFAULT_PROFILE, parseProfile, type LambdaRun, type Profile } from '../../src/planner/profile.js';
import { runLocalWorkflow } from '../../src/workflow/local-engine.js';
import { startS3, S3RVER_CREDENTIALS, type S3Fixture } from '../support/s3rver.js';
import { runConfig, seededModel, tempDir, writeDataset } from '../workflow/support.js';

const t = tempDir('cai-refine-');
const repo = join(import.meta.dirname, '../..');
const catalog = await loadCatalog();
const base: Profile = { ...DEFAULT_PROFILE, isDefault: false, label: 'test machine', machine: { ...DEFAULT_PROFILE.machine, cores: 2 } };
let run: FinishedRun;
let s3: S3Fixture;

/** `cai` in a child process, waited on without blocking this one (which serves the S3 API the child reads). */
function cai(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  await writeDataset({ dir: join(t.dir, 'data'), partitions: 4, perPartition: 24 });
  const cfg = runConfig({ runId: 'refine-1', data: { uri: join(t.dir, 'data'), manifestKey: 'manifest.json' }, results: { uri: t.dir }, model: { path: seededModel() }, worldSize: 2, concurrency: 2, threads: 1, batchSize: 16 });
  const { summary } = await runLocalWorkflow({ run: cfg });
  assert.equal(summary.status, 'complete');
  run = await readFinishedRun(join(t.dir, 'results', 'refine-1'));
  s3 = await startS3('cai-refine');
});
after(async () => {
  await s3?.stop();
  t.cleanup();
});

test('a local run: the refined profile reproduces its wall time and lists it', () => {
  const r = refineFromRun(base, run, { catalog });
  assert.equal(r.kind, 'local');
  const p = r.profile;
  assert.deepEqual(p.refinedFrom, ['refine-1']);
  assert.equal(p.isDefault, false);
  assert.match(p.label, /refined from 1 run$/);
  assert.match(p.source, /cai calibrate --from-run .*refine-1/);
  // The point at the run's threads and batch size is the ranks' own rate (2 instances x 1 thread on 2 cores: not slowed).
  const samples = run.ranks.reduce((s, x) => s + x.samples, 0);
  const modelS = run.ranks.reduce((s, x) => s + x.timings.inferenceMs, 0) / 1000;
  const point = p.throughput.find((x) => x.threads === 1 && x.batchSize === 16);
  assert.ok(point && Math.abs(point.samplesPerS - samples / modelS) / point.samplesPerS < 1e-4);
  assert.equal(p.instanceMemoryMB, Math.round(Math.max(...run.ranks.map((x) => x.memory.peakRssMB))));
  // The local model with the refined profile gives the run's wall time (its fixed cost is what is left over).
  const w = { samples: 96, bytesPerSample: run.summary.dataset.bytes / 96, partitionSamples: 24, location: 'local' as const, description: 'x' };
  const predicted = estimateLocal(w, { worldSize: 2, concurrency: 2, threads: 1, batchSize: 16 }, planEnv({ cpuProfile: p, catalog, localCores: 2 })).wall_s;
  if (p.orchestrationS! > 0) assert.ok(Math.abs(predicted - run.summary.wallTimeS) < 0.01, `${predicted} vs ${run.summary.wallTimeS}`);
  else assert.ok(predicted >= run.summary.wallTimeS);
  // Refining again from the same run lists it once.
  assert.deepEqual(refineFromRun(p, run, { catalog }).profile.refinedFrom, ['refine-1']);
});

test('an AWS run: the lambda figures, used by the lambda platform at that memory', () => {
  const aws: FinishedRun = { ...run, summary: { ...run.summary, configuration: { ...run.summary.configuration, backend: 'aws-lambda', memoryMb: 3538 } } };
  const r = refineFromRun(base, aws, { catalog });
  assert.equal(r.kind, 'lambda');
  const l = r.profile.lambda!;
  const samples = run.ranks.reduce((s, x) => s + x.samples, 0);
  const modelS = run.ranks.reduce((s, x) => s + x.timings.inferenceMs, 0) / 1000;
  assert.ok(Math.abs(l.samplesPerS - samples / modelS) / l.samplesPerS < 1e-4);
  assert.equal(l.memoryMB, 3538);
  assert.equal(l.runs.length, 1);
  // One world size: the per-result read stays; the fixed orchestration is what the run leaves over.
  assert.equal(l.timeParams!.resultReadS, DEFAULT_TIME_PARAMS.resultReadS);
  const left = run.summary.wallTimeS - predictRun(lambdaRunModel(l.runs[0]!), { orchestrationS: 0, resultReadS: DEFAULT_TIME_PARAMS.resultReadS }).wallS;
  assert.ok(Math.abs(l.timeParams!.orchestrationS - Math.max(0, left)) < 1e-3 * Math.max(1, left));
  assert.ok(r.notes.some((n) => /one world size/.test(n)));
  // The machine's own figures are untouched.
  assert.deepEqual(r.profile.throughput, base.throughput);
  assert.equal(r.profile.readBytesPerS, base.readBytesPerS);
  // The lambda platform now runs on them: at the runs' memory, the measured rate itself.
  const env = planEnv({ cpuProfile: r.profile, catalog });
  assert.deepEqual(env.timeParams, l.timeParams);
  const w = { samples: 96, bytesPerSample: 20_504, partitionSamples: 24, location: 's3' as const, description: 'x' };
  const { run: predicted, estimate } = estimateLambda(w, { memoryMB: 3538, partitionMB: 0.5, worldSize: 4, concurrency: 4, batchSize: 16 }, env);
  assert.ok(Math.abs(predicted.rank.inferenceS - (24 / l.samplesPerS + l.partitionOverheadS)) < 1e-9);
  assert.equal(predicted.rank.coldStartS, l.coldStartS);
  assert.match(estimate.notes[0]!, /from 1 AWS run at 3538 MB/);
});

test('the orchestration refit recovers the figures that made the runs', () => {
  const truth = { orchestrationS: 12, resultReadS: 0.05 };
  const mk = (worldSize: number): LambdaRun => {
    const r: LambdaRun = { runId: `r${worldSize}`, wallS: 1, samples: worldSize * 1000, worldSize, concurrency: worldSize, partitionSamples: 1000, memoryMB: 10_240, perSampleS: 0.004, partitionOverheadS: 0.2, coldStartS: 1.5, s3BytesPerS: 5e7, bytesPerSample: 20_500 };
    return { ...r, wallS: predictRun(lambdaRunModel(r), truth).wallS };
  };
  const fit = fitOrchestration([mk(10), mk(100), mk(400)]);
  assert.ok(Math.abs(fit.orchestrationS - 12) < 1e-3 && Math.abs(fit.resultReadS - 0.05) < 1e-5, JSON.stringify(fit));
  // One world size pins down only the fixed part.
  const one = fitOrchestration([mk(100)], { orchestrationS: 0, resultReadS: 0.05 });
  assert.ok(Math.abs(one.orchestrationS - 12) < 1e-3 && one.resultReadS === 0.05);
});

test('cai calibrate --from-run: a results directory, and the same run in S3', async () => {
  const profileFile = join(t.dir, 'base.json');
  writeFileSync(profileFile, JSON.stringify(base));
  const dir = join(t.dir, 'results', 'refine-1');
  const env = { CAI_PROFILE_DIR: join(t.dir, 'no-profiles') };
  const local = await cai(env, 'calibrate', '--from-run', dir, '--profile', profileFile, '--out', join(t.dir, 'refined.json'), '--json');
  assert.equal(local.code, 0, local.stderr);
  const out = JSON.parse(local.stdout) as { refinedFrom: string; kind: string; changes: unknown[] };
  assert.equal(out.refinedFrom, 'refine-1');
  assert.equal(out.kind, 'local');
  const refined = parseProfile(readFileSync(join(t.dir, 'refined.json'), 'utf8'), 'refined.json');
  assert.deepEqual(refined.refinedFrom, ['refine-1']);

  for (const name of readdirSync(dir)) await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `runs/results/refine-1/${name}`, Body: readFileSync(join(dir, name)) }));
  const s3env = { ...env, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
  const remote = await cai(s3env, 'calibrate', '--from-run', `s3://${s3.bucket}/runs/results/refine-1`, '--s3-endpoint', s3.endpoint, '--profile', profileFile, '--out', join(t.dir, 'refined-s3.json'), '--json');
  assert.equal(remote.code, 0, remote.stderr);
  const fromS3 = parseProfile(readFileSync(join(t.dir, 'refined-s3.json'), 'utf8'), 'refined-s3.json');
  assert.deepEqual(fromS3.throughput, refined.throughput);
  assert.equal(fromS3.orchestrationS, refined.orchestrationS);
  assert.equal(fromS3.partitionOverheadS, refined.partitionOverheadS);

  const notRun = await cai(env, 'calibrate', '--from-run', join(t.dir, 'data'), '--profile', profileFile, '--out', join(t.dir, 'x.json'));
  assert.equal(notRun.code, ExitCode.data);
  assert.match(notRun.stderr, /summary\.json: not found/);
});
