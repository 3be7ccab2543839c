import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { runLocalWorkflow } from '../../src/workflow/local-engine.js';
import { rankResultSchema, summarySchema } from '../../src/workflow/contracts.js';
import { parsePredictionsCsv } from '../../src/inference/predictions.js';
import { runConfig, seededModel, tempDir, writeDataset } from './support.js';

test('a local run predicts every sample exactly once over parallel worker processes', async () => {
  const t = tempDir();
  try {
    const ids = await writeDataset({ dir: join(t.dir, 'data'), partitions: 5, perPartition: 12 });
    const run = runConfig({ data: { uri: join(t.dir, 'data'), manifestKey: 'manifest.json' }, results: { uri: t.dir }, model: { path: seededModel() }, worldSize: 3, concurrency: 2 });
    const phases = new Set<string>();
    const res = await runLocalWorkflow({ run, onProgress: (p) => phases.add(p.phase) });
    const s = res.summary;
    assert.equal(s.status, 'complete');
    assert.deepEqual([...phases], ['initialize', 'ranks', 'summarize', 'done']);
    assert.equal(s.accounting.exactlyOnce, true);
    assert.equal(s.accounting.predictedSamples, 60);
    assert.equal(s.invocations.total, 3);
    assert.equal(s.invocations.coldStarts, 2, 'two instances served three ranks');
    assert.equal(s.ranks.succeeded.length, 3);
    assert.ok(s.accuracy && s.accuracy.count === 60 && Number.isFinite(s.accuracy.mae));
    summarySchema.parse(JSON.parse(readFileSync(join(t.dir, 'results/test-run/summary.json'), 'utf8')));
    const merged = parsePredictionsCsv(readFileSync(join(t.dir, 'results/test-run/predictions.csv')), 'predictions.csv');
    assert.deepEqual(Array.from(merged.objectId, String), ids, 'merged predictions are in manifest order');
    // 5 partitions of equal size over 3 ranks: 2 + 2 + 1.
    const sizes = [0, 1, 2].map((r) => rankResultSchema.parse(JSON.parse(readFileSync(join(t.dir, `results/test-run/rank-0000${r}.json`), 'utf8'))).partitions.length);
    assert.deepEqual(sizes.sort(), [1, 2, 2]);
    assert.ok(existsSync(join(t.dir, 'results/test-run/rank-00002.predictions.csv')));
    assert.equal(res.stateTransitions, 1 + 1 + 3 + 1, 'Initialize, Map, 3 x RunRank, Summarize');
    assert.ok(s.cost && (s.cost as { totalUsd: number }).totalUsd > 0);
  } finally {
    t.cleanup();
  }
});
