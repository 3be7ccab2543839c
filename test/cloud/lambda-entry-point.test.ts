// The Lambda entry point in-process against a real S3-API server on loopback: a synthesized data set and a
// seeded model in the bucket, Initialize -> every rank -> Summarize through the three handlers with a
// Lambda-like context object, exactly the events the state machine would pass.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeDataset } from '../../src/data/synth/write-dataset.js';
import { openDataset } from '../../src/data/dataset.js';
import { buildAstroMAEOnnx } from '../../src/model/astromae.js';
import { S3Storage } from '../../src/storage/s3/s3-storage.js';
import { CONTRACT_VERSION, rankResultSchema, resultKeys, summarySchema, type RankOutcome, type RunConfig } from '../../src/workflow/contracts.js';
import { parsePredictionsCsv } from '../../src/inference/predictions.js';
import { startS3, S3RVER_CREDENTIALS, type S3Fixture } from '../support/s3rver.js';

const BUCKET = 'cai-lambda';
let s3: S3Fixture;
let bucket: S3Storage;
let cacheDir: string;
const savedEnv = { ...process.env };
let dataIds: string[] = [];
// Loaded after the environment is set, as the runtime loads the handler module.
let ep: typeof import('../../src/compute/lambda/entry-point.js');

function lambdaContext(requestId: string, memory = '10240'): import('../../src/compute/lambda/entry-point.js').LambdaContextLike {
  const deadline = Date.now() + 900_000;
  return { awsRequestId: requestId, functionName: 'cai-test', memoryLimitInMB: memory, logStreamName: '2026/11/26/[$LATEST]0123456789abcdef', getRemainingTimeInMillis: () => deadline - Date.now() };
}

function run(over: Partial<RunConfig> = {}): RunConfig {
  return {
    schemaVersion: CONTRACT_VERSION,
    runId: 'lambda-run',
    mode: 'inference',
    // Relative keys: resolved against $CAI_STORAGE_URI by the entry point.
    data: { uri: 'data', manifestKey: 'manifest.json' },
    results: { uri: `s3://${BUCKET}/out` },
    model: { path: 'models/seed1.onnx' },
    worldSize: 3,
    concurrency: 3,
    batchSize: 8,
    threads: 1,
    memoryMb: 10240,
    timeoutS: 900,
    readAhead: 1,
    toleratedFailurePercentage: 0,
    report: false,
    submittedAt: new Date().toISOString(),
    ...over,
  };
}

before(async () => {
  s3 = await startS3(BUCKET);
  cacheDir = mkdtempSync(join(tmpdir(), 'cai-lambda-models-'));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
    CAI_STORAGE_URI: `s3://${BUCKET}`,
    CAI_MODEL_CACHE_DIR: cacheDir,
  });
  bucket = new S3Storage({ bucket: BUCKET, endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS });
  await synthesizeDataset('data', { storage: bucket, samples: 30, seed: 5, partitionSamples: 8 });
  // The ids as the data set holds them, read back from the bucket.
  const ds = await openDataset(bucket, 'data/manifest.json');
  for (const e of ds.manifest.partitions) dataIds.push(...Array.from((await ds.readPartition(e)).objectId, String));
  await bucket.put('models/seed1.onnx', buildAstroMAEOnnx({ seed: 1 }));
  ep = await import('../../src/compute/lambda/entry-point.js');
});

after(async () => {
  process.env = savedEnv;
  await s3.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

test('initialize -> ranks -> summarize through the Lambda handlers predicts every object exactly once', async () => {
  const input = { run: run() };
  const ref = await ep.initialize(input, lambdaContext('req-init', '1024'));
  assert.equal(ref.worldSize, 3);
  assert.deepEqual(ref.pending, [{ rank: 0 }, { rank: 1 }, { rank: 2 }]);
  assert.equal(ref.planKey, resultKeys.plan('lambda-run'));

  // The Map's ItemSelector: { run, planKey, rank } per pending item.
  const outcomes: RankOutcome[] = [];
  for (const item of ref.pending) outcomes.push(await ep.rank({ run: input.run, planKey: ref.planKey, rank: item.rank }, lambdaContext(`req-rank-${item.rank}`)));
  assert.deepEqual(outcomes.map((o) => o.status), ['succeeded', 'succeeded', 'succeeded']);
  assert.equal(outcomes.reduce((s, o) => s + (o.status === 'succeeded' ? o.samples : 0), 0), 30);

  const out = await ep.summarize({ run: input.run, plan: ref, outcomes }, lambdaContext('req-sum', '1024'));
  assert.deepEqual(out, { runId: 'lambda-run', status: 'complete', summary: `s3://${BUCKET}/out/results/lambda-run/summary.json` });

  const summary = summarySchema.parse(JSON.parse(Buffer.from(await bucket.get('out/results/lambda-run/summary.json')).toString()));
  assert.equal(summary.performance.total.samples, 30);
  assert.equal(summary.dataset.samples, 30);
  assert.equal(summary.dataset.partitions, 4);
  assert.equal(summary.accounting.exactlyOnce, true);
  assert.equal(summary.configuration.backend, 'aws-lambda');
  assert.equal(summary.configuration.data, `s3://${BUCKET}/data/manifest.json`);
  assert.equal(summary.configuration.model, `s3://${BUCKET}/models/seed1.onnx`);
  assert.deepEqual(summary.ranks.succeeded, [0, 1, 2]);

  const merged = parsePredictionsCsv(await bucket.get('out/results/lambda-run/predictions.csv'), 'predictions.csv');
  const predicted = Array.from(merged.objectId, String);
  assert.equal(predicted.length, 30);
  assert.deepEqual(new Set(predicted), new Set(dataIds));
  assert.equal(new Set(predicted).size, 30);
  assert.ok(Array.from(merged.zPred).every(Number.isFinite));
});

test('the model is fetched and loaded once per instance; later ranks run warm; memory comes from the context', async () => {
  const results = await Promise.all([0, 1, 2].map(async (r) => rankResultSchema.parse(JSON.parse(Buffer.from(await bucket.get(`out/${resultKeys.rank('lambda-run', r)}`)).toString()))));
  const [first, second, third] = results;
  // Ranks ran in order on this one instance, after Initialize.
  assert.deepEqual(results.map((r) => r.instance.invocation), [2, 3, 4]);
  assert.equal(new Set(results.map((r) => r.instance.id)).size, 1);
  assert.equal(first!.timings.coldStart, true);
  assert.ok(first!.timings.modelLoadMs > 0);
  assert.ok(first!.timings.coldStartMs >= first!.timings.modelLoadMs);
  for (const warm of [second!, third!]) {
    assert.equal(warm.timings.coldStart, false);
    assert.equal(warm.timings.modelLoadMs, 0);
    assert.equal(warm.timings.coldStartMs, 0);
  }
  for (const r of results) {
    assert.equal(r.memory.limitMB, 10240);
    assert.ok(r.memory.peakRssMB > 50, `peak RSS ${r.memory.peakRssMB} MB`);
  }
  const rankLogs = ep.invocationLog.filter((l) => l.task === 'rank');
  assert.equal(rankLogs.filter((l) => l.modelFetchMs !== undefined).length, 1);
  assert.deepEqual(rankLogs.map((l) => l.coldStart), [false, false, false]);
  assert.equal(ep.invocationLog[0]!.task, 'initialize');
  assert.equal(ep.invocationLog[0]!.coldStart, true);
  assert.equal(ep.invocationLog[0]!.memoryLimitMB, 1024);
  // One cached model file in the instance's /tmp.
  assert.equal(readdirSync(cacheDir).filter((f) => f.endsWith('.onnx')).length, 1);
});

test('a rerun of the run id on warm instances keeps every verified rank and rewrites the summary', async () => {
  const input = { run: run() };
  const ref = await ep.initialize(input, lambdaContext('req-init-2', '1024'));
  assert.deepEqual(ref.pending, []);
  assert.deepEqual(ref.reused, [0, 1, 2]);
  const out = await ep.summarize({ run: input.run, plan: ref, outcomes: [] }, lambdaContext('req-sum-2', '1024'));
  assert.equal(out.status, 'complete');
});

test('a new model under the same key (same size) is fetched again and the warm engine reloads it', async () => {
  const next = buildAstroMAEOnnx({ seed: 2 });
  assert.equal(next.byteLength, (await bucket.head('models/seed1.onnx'))!.size, 'a retrained model keeps its size');
  await bucket.put('models/seed1.onnx', next);
  const r = run({ runId: 'model-swap', worldSize: 1 });
  const ref = await ep.initialize({ run: r }, lambdaContext('swap-init', '1024'));
  const outcome = await ep.rank({ run: r, planKey: ref.planKey, rank: 0 }, lambdaContext('swap-rank'));
  assert.equal(outcome.status === 'succeeded' && outcome.samples, 30);
  const result = rankResultSchema.parse(JSON.parse(Buffer.from(await bucket.get(`out/${resultKeys.rank('model-swap', 0)}`)).toString()));
  assert.equal(result.timings.coldStart, true);
  assert.ok(result.timings.modelLoadMs > 0);
  assert.equal(ep.invocationLog.filter((l) => l.task === 'rank' && l.modelFetchMs !== undefined).length, 2);
  // The other model predicts other redshifts for the same galaxies.
  const before = parsePredictionsCsv(await bucket.get('out/results/lambda-run/predictions.csv'), 'a');
  const after = parsePredictionsCsv(await bucket.get(`out/${resultKeys.rankPredictions('model-swap', 0)}`), 'b');
  const old = new Map(Array.from(before.objectId, (id, i) => [id, before.zPred[i]!]));
  assert.equal(after.objectId.length, 30);
  assert.ok(Array.from(after.objectId).filter((id, i) => old.get(id) !== after.zPred[i]).length > 25);
  // The old file was dropped: one model in /tmp at a time.
  assert.equal(readdirSync(cacheDir).filter((f) => f.endsWith('.onnx')).length, 1);
});

test('bad events fail with one line naming the problem and the error type the state machine sees', async () => {
  await assert.rejects(ep.initialize({ run: run({ runId: 'local-data', data: { uri: '/tmp/data', manifestKey: 'manifest.json' } }) }, lambdaContext('bad-1')), (e: Error) => {
    assert.equal(e.name, 'UsageError');
    assert.match(e.message, /data location "\/tmp\/data" is neither an s3:\/\/ URI nor a relative key under s3:\/\/cai-lambda/);
    return true;
  });
  await assert.rejects(ep.initialize({ run: { runId: 'x' } }, lambdaContext('bad-2')), (e: Error) => e.name === 'DataError' && /\(run configuration\): invalid at/.test(e.message));

  const missing = run({ runId: 'missing-model', model: { path: 'models/none.onnx' } });
  const ref = await ep.initialize({ run: missing }, lambdaContext('bad-3'));
  await assert.rejects(ep.rank({ run: missing, planKey: ref.planKey, rank: 0 }, lambdaContext('bad-4')), (e: Error) => {
    assert.equal(e.name, 'ModelError');
    assert.equal(e.message, `s3://${BUCKET}/models/none.onnx: model not found`);
    return true;
  });
  assert.equal(ep.invocationLog.at(-1)!.outcome, 'error');
  assert.equal(ep.invocationLog.at(-1)!.error, 'ModelError');
});

test('handler dispatches on $CAI_TASK and refuses an unknown task', async () => {
  process.env.CAI_TASK = 'initialize';
  const ref = (await ep.handler({ run: run({ runId: 'dispatch' }) }, lambdaContext('d-1'))) as { planKey: string };
  assert.equal(ref.planKey, resultKeys.plan('dispatch'));
  process.env.CAI_TASK = 'train';
  await assert.rejects(ep.handler({}, lambdaContext('d-2')), /\$CAI_TASK must be one of initialize, rank, summarize, report, got "train"/);
  delete process.env.CAI_TASK;
});
