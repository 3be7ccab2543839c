// The deployed definition with its Report state, run under aws-local-stepfunctions with each task calling
// the Lambda entry point against a loopback S3 server: the page lands in the bucket next to the results,
// and a Report function that dies is caught into the execution's output rather than failing the run.
import '../../src/util/promise-with-resolvers.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { ARN_SUBSTITUTIONS, deployedDefinition, substituteDefinition } from '../../src/cloud/aws/deployed-definition.js';
import { LAMBDA_TASKS } from '../../src/compute/lambda/config.js';
import { makeExecutionRequest } from '../../src/compute/lambda/execution-input.js';
import { synthesizeDataset } from '../../src/data/synth/write-dataset.js';
import { buildAstroMAEOnnx } from '../../src/model/astromae.js';
import { S3Storage } from '../../src/storage/s3/s3-storage.js';
import { STATE } from '../../src/workflow/definition.js';
import { summarySchema } from '../../src/workflow/contracts.js';
import { startS3, S3RVER_CREDENTIALS, type S3Fixture } from '../support/s3rver.js';

const BUCKET = 'cai-deployed-report';
let s3: S3Fixture;
let bucket: S3Storage;
let cache: string;
const saved = { ...process.env };
let ep: typeof import('../../src/compute/lambda/entry-point.js');

before(async () => {
  s3 = await startS3(BUCKET);
  cache = mkdtempSync(join(tmpdir(), 'cai-models-'));
  Object.assign(process.env, { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1', CAI_STORAGE_URI: `s3://${BUCKET}`, CAI_MODEL_CACHE_DIR: cache });
  bucket = new S3Storage({ bucket: BUCKET, endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS });
  await synthesizeDataset('sdss', { storage: bucket, samples: 16, seed: 4, partitionSamples: 8 });
  await bucket.put('models/m.onnx', buildAstroMAEOnnx({ seed: 2 }));
  ep = await import('../../src/compute/lambda/entry-point.js');
});

after(async () => {
  process.env = saved;
  await s3.stop();
  rmSync(cache, { recursive: true, force: true });
});

const ctx = (id: string): import('../../src/compute/lambda/entry-point.js').LambdaContextLike => ({ awsRequestId: id, memoryLimitInMB: '1024', getRemainingTimeInMillis: () => 900_000 });

/** The deployed definition with stand-in ARNs, the entry point behind each task (`report` replaceable); one rank at a time, as one instance serves one invocation. */
function execute(runId: string, report: (e: unknown) => Promise<unknown>): Promise<unknown> {
  const values = Object.fromEntries(LAMBDA_TASKS.map((t) => [ARN_SUBSTITUTIONS[t], `arn:aws:lambda:us-east-1:123456789012:function:cai-${t}`]));
  const text = substituteDefinition(JSON.stringify(deployedDefinition({ rankTimeoutS: 900, controlTimeoutS: 900 })), values);
  const req = makeExecutionRequest('arn:aws:states:us-east-1:123456789012:stateMachine:Cai-run', { data: `s3://${BUCKET}/sdss`, model: `s3://${BUCKET}/models/m.onnx`, worldSize: 2, concurrency: 1, runId, batchSize: 8, threads: 1 });
  const sm = new StateMachine(JSON.parse(text), { validationOptions: { checkArn: true, checkPaths: true } });
  return sm.run(JSON.parse(JSON.stringify(req.input)), {
    overrides: {
      taskResourceLocalHandlers: {
        [STATE.initialize]: (e: unknown) => ep.initialize(e, ctx('i')) as never,
        [STATE.rank]: (e: unknown) => ep.rank(e, ctx('r')) as never,
        [STATE.summarize]: (e: unknown) => ep.summarize(e, ctx('s')) as never,
        [STATE.report]: (e: unknown) => report(e) as never,
      },
      retryIntervalOverrides: { [STATE.report]: 1 },
    },
  }).result;
}

test('the deployed state machine runs Report after Summarize and the page is written to the bucket', async () => {
  const output = await execute('deployed-report', (e) => ep.report(e, ctx('p')));
  const page = `s3://${BUCKET}/results/deployed-report/report/report.html`;
  assert.deepEqual(output, { runId: 'deployed-report', status: 'complete', summary: `s3://${BUCKET}/results/deployed-report/summary.json`, report: page });
  const summary = summarySchema.parse(JSON.parse(Buffer.from(await bucket.get('results/deployed-report/summary.json')).toString()));
  assert.equal(summary.outputs.report, page);
  const keys = (await bucket.list('results/deployed-report/report/')).map((o) => o.key.split('/').pop());
  assert.deepEqual(keys, ['cost.png', 'cost.svg', 'dz.png', 'dz.svg', 'report.html', 'residual.png', 'residual.svg', 'scatter.png', 'scatter.svg', 'throughput.png', 'throughput.svg', 'timeline.png', 'timeline.svg']);
  assert.match(Buffer.from(await bucket.get('results/deployed-report/report/report.html')).toString(), /<html/i);
  assert.equal(ep.invocationLog.filter((l) => l.task === 'report').length, 1);
});

test('a Report function that keeps dying is retried, then caught into the output; the run still succeeds', async () => {
  let attempts = 0;
  const output = (await execute('report-dies', async () => {
    attempts++;
    const e = new Error('the instance ran out of memory');
    e.name = 'Runtime.ExitError';
    throw e;
  })) as { runId: string; status: string; report: unknown; reportError: { error: string; cause: string } };
  assert.equal(attempts, 3, 'the first attempt and two retries');
  assert.equal(output.status, 'complete');
  assert.equal(output.report, null);
  assert.equal(output.reportError.error, 'Runtime.ExitError');
  assert.match(output.reportError.cause, /out of memory/);
  const summary = summarySchema.parse(JSON.parse(Buffer.from(await bucket.get('results/report-dies/summary.json')).toString()));
  assert.equal(summary.status, 'complete');
});
