// The library entry point: a data set, a model and an inference job without the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as cai from '../../src/index.js';

test('the library entry exports data, model, inference, cost and report APIs that work together', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cai-lib-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['readImportFile', 'inspectImportFile', 'LocalStorage', 'buildAstroMAEOnnx', 'ensureBuiltinModel', 'inspectModelFile', 'InferenceEngine', 'accuracyMetrics', 'readPredictionsFile', 'writeRunReport', 'writeFileAtomic', 'repartition'])
    assert.equal(typeof (cai as Record<string, unknown>)[name], 'function', name);

  const manifest = await cai.synthesizeDataset(join(dir, 'data'), { samples: 40, seed: 3, partitionSamples: 16 });
  assert.deepEqual(manifest.partitions.map((p) => p.samples), [16, 16, 8]);
  const model = join(dir, 'seeded.onnx');
  await cai.writeModel(model, cai.buildAstroMAEOnnx({ seed: 2 }));
  const info = await cai.inspectModelFile(model);
  cai.checkRedshiftContract(info);

  const report = await cai.runInferJob({ data: join(dir, 'data'), model, out: join(dir, 'out'), batchSize: 16, threads: 1 });
  assert.equal(report.performance.samples, 40);
  assert.equal(report.performance.numBatches, 3);
  assert.deepEqual(readdirSync(join(dir, 'out')).sort(), [cai.METRICS_FILE, cai.PREDICTIONS_FILE]);
  const predictions = await cai.readPredictionsFile(join(dir, 'out', cai.PREDICTIONS_FILE));
  assert.equal(predictions.zPred.length, 40);
  const metrics = JSON.parse(readFileSync(join(dir, 'out', cai.METRICS_FILE), 'utf8'));
  assert.deepEqual(metrics.accuracy, cai.accuracyMetrics(predictions.zTrue!, predictions.zPred));
});
