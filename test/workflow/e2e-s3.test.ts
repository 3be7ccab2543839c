// A whole run whose data and results live in a real S3-API server on loopback; the worker processes reach
// it through the standard AWS environment variables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLocalWorkflow } from '../../src/workflow/local-engine.js';
import { S3Storage } from '../../src/storage/s3/s3-storage.js';
import { summarySchema } from '../../src/workflow/contracts.js';
import { parsePredictionsCsv } from '../../src/inference/predictions.js';
import { startS3, S3RVER_CREDENTIALS } from '../support/s3rver.js';
import { runConfig, seededModel, writeDataset } from './support.js';

test('a run reads its data from S3 and writes its results there', async () => {
  const s3 = await startS3('cai-e2e');
  const saved = { ...process.env };
  Object.assign(process.env, { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' });
  try {
    const bucket = new S3Storage({ bucket: 'cai-e2e', endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS });
    const ids = await writeDataset({ storage: bucket, prefix: 'data', partitions: 3, perPartition: 10 });
    const run = runConfig({ runId: 's3-run', data: { uri: 's3://cai-e2e/data', manifestKey: 'manifest.json' }, results: { uri: 's3://cai-e2e' }, model: { path: seededModel() }, worldSize: 2, concurrency: 2, report: true });
    const { summary } = await runLocalWorkflow({ run });
    assert.equal(summary.status, 'complete');
    assert.equal(summary.accounting.exactlyOnce, true);
    assert.equal(summary.configuration.data, 's3://cai-e2e/data/manifest.json');
    assert.equal(summary.outputs.report, 's3://cai-e2e/results/s3-run/report/report.html');
    const keys = (await bucket.list('results/s3-run/')).map((o) => o.key);
    for (const k of ['plan.json', 'rank-00000.json', 'rank-00000.predictions.csv', 'rank-00001.json', 'rank-00001.predictions.csv', 'predictions.csv', 'summary.json', 'report/report.html'])
      assert.ok(keys.includes(`results/s3-run/${k}`), `${k} in ${keys.join(', ')}`);
    const stored = summarySchema.parse(JSON.parse(Buffer.from(await bucket.get('results/s3-run/summary.json')).toString()));
    assert.equal(stored.runId, 's3-run');
    const merged = parsePredictionsCsv(await bucket.get('results/s3-run/predictions.csv'), 'predictions.csv');
    assert.deepEqual(Array.from(merged.objectId, String), ids);
    assert.match(Buffer.from(await bucket.get('results/s3-run/report/report.html')).toString(), /<html/i);

    // The same data with the ranks gathering over the S3 channel in the results bucket.
    const fmiRun = runConfig({ ...run, runId: 's3-fmi', report: false, aggregation: { mode: 'fmi', channel: 's3', hint: 'fast', timeoutS: 60 } });
    const fmi = (await runLocalWorkflow({ run: fmiRun })).summary;
    assert.equal(fmi.status, 'complete');
    assert.equal(fmi.aggregation?.status, 'aggregated');
    assert.equal(fmi.aggregation?.channel, 's3');
    assert.deepEqual(fmi.accuracy, summary.accuracy);
    assert.deepEqual(Buffer.from(await bucket.get('results/s3-fmi/predictions.csv')), Buffer.from(await bucket.get('results/s3-run/predictions.csv')));
    const left = (await bucket.list('results/s3-fmi/')).map((o) => o.key).filter((k) => k.includes('/fmi/'));
    assert.deepEqual(left, [], 'no frame is left in the bucket');
  } finally {
    process.env = saved;
    await s3.stop();
  }
});
