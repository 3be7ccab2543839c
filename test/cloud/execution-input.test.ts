// What `cai aws run` sends to Step Functions, and how a Lambda instance reads the locations in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executionName, makeAwsRunConfig, makeExecutionRequest, parseStateMachineArn } from '../../src/compute/lambda/execution-input.js';
import { startExecutionInput } from '../../src/compute/lambda/engine.js';
import { IMAGE_MODEL_PATH, lambdaConfig, lambdaVcpus } from '../../src/compute/lambda/config.js';
import { resolveRunLocations, resolveS3Location, defaultStorageRoot } from '../../src/compute/lambda/locations.js';
import { runConfigSchema } from '../../src/workflow/contracts.js';
import { UsageError } from '../../src/errors.js';

const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Cai-run';

test('defaults: results in the data bucket, the image model, vCPU threads, every rank at once up to the account limit', () => {
  const run = makeAwsRunConfig({ data: 's3://sdss-data/dr16/part-a', worldSize: 64 });
  assert.deepEqual(run.data, { uri: 's3://sdss-data/dr16/part-a', manifestKey: 'manifest.json' });
  assert.deepEqual(run.results, { uri: 's3://sdss-data' });
  assert.equal(run.model.path, IMAGE_MODEL_PATH);
  assert.equal(run.worldSize, 64);
  assert.equal(run.concurrency, 64);
  assert.equal(run.memoryMb, 10240);
  assert.equal(run.threads, 6);
  assert.equal(run.timeoutS, 900);
  assert.equal(run.batchSize, 256);
  assert.equal(run.mode, 'inference');
  assert.equal(run.report, true);
  assert.match(run.runId, /^run-\d{8}-\d{6}-[0-9a-f]{4}$/);
  assert.equal(makeAwsRunConfig({ data: 's3://b-1/x', worldSize: 5000 }).concurrency, 1000);
  assert.deepEqual(runConfigSchema.parse(run), run);
});

test('explicit flags land in the run object as given', () => {
  const run = makeAwsRunConfig({ data: 's3://bkt/sets/s1/custom.json', out: 's3://out-bkt/runs/', model: 's3://bkt/models/a.onnx', worldSize: 8, concurrency: 2, memoryMb: 3008, batchSize: 64, runId: 'sdss.1', toleratedFailurePercentage: 0, report: false, timeoutS: 300, readAhead: 2 });
  assert.deepEqual(run.data, { uri: 's3://bkt/sets/s1', manifestKey: 'custom.json' });
  assert.deepEqual(run.results, { uri: 's3://out-bkt/runs' });
  assert.equal(run.model.path, 's3://bkt/models/a.onnx');
  assert.equal(run.threads, 2);
  assert.deepEqual([run.concurrency, run.memoryMb, run.batchSize, run.runId, run.toleratedFailurePercentage, run.report, run.timeoutS, run.readAhead], [2, 3008, 64, 'sdss.1', 0, false, 300, 2]);
});

test('bad requests fail before anything is sent, naming the flag', () => {
  const bad: [Parameters<typeof makeAwsRunConfig>[0], RegExp][] = [
    [{ data: './local/manifest.json', worldSize: 2 }, /--data "\.\/local\/manifest\.json" must be an s3:\/\/bucket\/prefix URI/],
    [{ data: 's3://b-1/x', out: '/tmp/out', worldSize: 2 }, /--out "\/tmp\/out" must be an s3:\/\/bucket\/prefix URI/],
    [{ data: 's3://b-1/x', model: 'model.onnx', worldSize: 2 }, /--model "model\.onnx" must be s3:\/\/bucket\/key\.onnx \(upload a local model with: aws s3 cp model\.onnx s3:\/\/BUCKET\/models\/\)/],
    [{ data: 's3://b-1/x', model: 's3://b-1', worldSize: 2 }, /--model "s3:\/\/b-1" must name an object/],
    [{ data: 's3://b-1/x', worldSize: 0 }, /--world-size must be an integer from 1 to 100000, got 0/],
    [{ data: 's3://b-1/x', worldSize: 2, timeoutS: 901 }, /--timeout-s must be an integer from 1 to 900, got 901/],
    [{ data: 's3://b-1/x', worldSize: 2, memoryMb: 64 }, /--memory-mb must be an integer from 128 to 10240, got 64/],
    [{ data: 's3://b-1/x', worldSize: 2, runId: '../etc' }, /--run-id "\.\.\/etc": run id must be/],
    [{ data: 's3://b-1/x', worldSize: 2, threads: 13 }, /^--threads must be an integer from 1 to 12 \(twice the 6 vCPUs of a 10240 MB function\), got 13$/],
    [{ data: 's3://b-1/x', worldSize: 2, memoryMb: 1024, threads: 3 }, /^--threads must be an integer from 1 to 2 \(twice the 1 vCPU of a 1024 MB function\), got 3$/],
  ];
  for (const [req, re] of bad) assert.throws(() => makeAwsRunConfig(req), (e: Error) => e instanceof UsageError && re.test(e.message) && !e.message.includes('\n'), String(re));
  assert.throws(() => parseStateMachineArn('arn:aws:lambda:eu-west-1:123456789012:function:x'), /is not a state machine ARN/);
  assert.deepEqual(parseStateMachineArn(ARN), { partition: 'aws', region: 'eu-west-1', account: '123456789012', name: 'Cai-run' });
});

test('the StartExecution request: the run object as JSON input and a unique, valid execution name', () => {
  const req = makeExecutionRequest(ARN, { data: 's3://sdss-data/dr16', worldSize: 4, runId: 'sdss.v2_run-1' });
  const sent = startExecutionInput(req);
  assert.equal(sent.stateMachineArn, ARN);
  assert.deepEqual(JSON.parse(sent.input), req.input);
  assert.deepEqual(Object.keys(req.input), ['run']);
  assert.match(sent.name, /^sdss_v2_run-1-[0-9a-f]{6}$/);
  assert.notEqual(makeExecutionRequest(ARN, { data: 's3://sdss-data/dr16', worldSize: 4, runId: 'sdss.v2_run-1' }).name, sent.name);
  assert.equal(executionName('r'.repeat(64), 'abcdef').length, 71);
  assert.ok(Buffer.byteLength(sent.input) < 4096, 'input stays tiny for any world size');
});

test('sizes follow Lambda: vCPUs by memory, limits on every figure', () => {
  assert.deepEqual([128, 1024, 1769, 3008, 5308, 10240].map(lambdaVcpus), [1, 1, 1, 2, 3, 6]);
  assert.deepEqual(lambdaConfig({ rankMemoryMb: 2048 }), { rankMemoryMb: 2048, rankTimeoutS: 900, ephemeralStorageMb: 1024, controlMemoryMb: 1024, controlTimeoutS: 900 });
  assert.throws(() => lambdaConfig({ ephemeralStorageMb: 256 }), /ephemeral storage \(MB\) must be an integer from 512 to 10240, got 256/);
  assert.throws(() => lambdaConfig({ rankTimeoutS: 1000 }), /rank timeout \(seconds\) must be an integer from 1 to 900, got 1000/);
});

test('an instance resolves relative keys against $CAI_STORAGE_URI and refuses local data', () => {
  const root = defaultStorageRoot({ CAI_STORAGE_URI: 's3://cai-bucket/' }, 'CAI_STORAGE_URI');
  assert.equal(root, 's3://cai-bucket');
  assert.equal(defaultStorageRoot({}, 'CAI_STORAGE_URI'), undefined);
  assert.throws(() => defaultStorageRoot({ CAI_STORAGE_URI: '/tmp' }, 'CAI_STORAGE_URI'), /\$CAI_STORAGE_URI must be an s3:\/\/bucket\[\/prefix\] URI/);
  assert.equal(resolveS3Location('sdss/dr16', 'data location', root), 's3://cai-bucket/sdss/dr16');
  assert.equal(resolveS3Location('.', 'results location', root), 's3://cai-bucket');
  assert.equal(resolveS3Location('s3://other/x/', 'data location', root), 's3://other/x');
  assert.throws(() => resolveS3Location('../up', 'data location', root), /data location "\.\.\/up" is neither an s3:\/\/ URI nor a relative key under s3:\/\/cai-bucket/);
  assert.throws(() => resolveS3Location('sdss', 'data location', undefined), /must be an s3:\/\/ URI on Lambda/);
  const run = makeAwsRunConfig({ data: 's3://b-1/x', worldSize: 1, model: '/opt/models/m.onnx' });
  const r = resolveRunLocations({ ...run, data: { uri: 'sets/a', manifestKey: 'manifest.json' }, results: { uri: '.' } }, root);
  assert.deepEqual([r.data.uri, r.results.uri, r.model.path], ['s3://cai-bucket/sets/a', 's3://cai-bucket', '/opt/models/m.onnx']);
  assert.equal(resolveRunLocations({ ...run, model: { path: 'models/m.onnx' } }, root).model.path, 's3://cai-bucket/models/m.onnx');
});
