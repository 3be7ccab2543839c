import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TIME_PARAMS, fitTimeModel, predictRun, type RunConfig } from '../../src/cost/time-model.js';
import { parseDuration, referenceObservations } from '../../src/cost/reference.js';

// The published CAI measurements shipped with the project (reference/cai/README.md says where they come from).
const REF = fileURLToPath(new URL('../../reference/cai', import.meta.url));

const base: RunConfig = {
  samples: 10_000,
  worldSize: 10,
  perSampleInferenceS: 0.004,
  coldStartS: 0.5,
  downloadBytesPerS: 50e6,
  memoryGB: 4,
};

test('rank and wall time follow the documented formula', () => {
  const p = predictRun(base, { orchestrationS: 10, launchPerItemS: 0.1 });
  assert.equal(p.samplesPerRank, 1000);
  assert.equal(p.waves, 1);
  assert.ok(Math.abs(p.rank.inferenceS - 4) < 1e-12);
  assert.ok(Math.abs(p.rank.downloadS - (1000 * 20500) / 50e6) < 1e-12);
  assert.ok(Math.abs(p.rank.uploadS - (1000 * 16) / 50e6) < 1e-12);
  assert.ok(Math.abs(p.wallS - (10 + 1 + p.rank.totalS)) < 1e-9);
  // Half the concurrency: two waves.
  const q = predictRun({ ...base, concurrency: 5 }, { orchestrationS: 10, launchPerItemS: 0.1 });
  assert.equal(q.waves, 2);
  assert.ok(Math.abs(q.wallS - (11 + 2 * q.rank.totalS)) < 1e-9);
  // Cost: 10 ranks billed rank time (cold start included) x 4 GB, 10 requests, 14 transitions.
  const compute = p.cost.items.find((i) => i.id === 'lambda.duration.ranks')!;
  assert.ok(Math.abs(compute.quantity - 10 * (Math.ceil(p.rank.totalS * 1000) / 1000) * 4) < 1e-9);
  assert.equal(p.cost.items.find((i) => i.id === 'stepfunctions.transitions')!.quantity, 14);
  const noInit = predictRun({ ...base, billColdStart: false }, { orchestrationS: 10, launchPerItemS: 0.1 });
  assert.ok(noInit.cost.totalUsd < p.cost.totalUsd);
  assert.throws(() => predictRun({ ...base, worldSize: 0 }), /worldSize must be a positive integer/);
  assert.throws(() => predictRun({ ...base, worldSize: 20_000 }), /exceeds samples/);
});

test('world size defaults to one rank per partition', () => {
  const p = predictRun({ ...base, worldSize: undefined, partitionSamples: 1279 });
  assert.equal(p.worldSize, Math.ceil(10_000 / 1279));
  assert.equal(p.cost.items.find((i) => i.id === 's3.get')!.quantity, p.worldSize);
});

test('durations parse as mm:ss.sss', () => {
  assert.equal(parseDuration('01:07.39', 'f', 2), 67.39);
  assert.equal(parseDuration('00:26.642', 'f', 2), 26.642);
  assert.throws(() => parseDuration('1h', 'f.csv', 7), /f\.csv: line 7: duration "1h" is not mm:ss\.sss/);
});

test('fit against the published AWS wall times', () => {
  const runs = referenceObservations(
    readFileSync(join(REF, 'aws_total_execution_time.csv'), 'utf8'),
    readFileSync(join(REF, 'aws_partition_stats.csv'), 'utf8'),
  );
  assert.equal(runs.length, 84);
  const fit = fitTimeModel(runs);
  const lines = [`time model fit: orchestration ${fit.params.orchestrationS.toFixed(2)} s + ${fit.params.launchPerItemS.toFixed(4)} s per rank`];
  for (const mb of [25, 50, 75, 100]) {
    const idx = runs.map((r, i) => (r.partitionMB === mb ? i : -1)).filter((i) => i >= 0);
    const mean = idx.reduce((s, i) => s + Math.abs(fit.rows[i].relError), 0) / idx.length;
    const at = runs.findIndex((r) => r.partitionMB === mb && r.dataGB === 12.6);
    lines.push(`  ${mb} MB partitions: mean |rel error| ${(mean * 100).toFixed(1)}%; 12.6 GB: measured ${fit.rows[at].wallS.toFixed(1)} s, predicted ${fit.rows[at].predictedS.toFixed(1)} s`);
    // 100 MB partitions jump from ~32 s to ~61 s between 2 and 4 GB, which a linear launch term cannot follow.
    assert.ok(mean < (mb === 100 ? 0.3 : 0.12), `${mb} MB mean relative error ${mean}`);
  }
  lines.push(`  all ${runs.length} runs: mean |rel error| ${(fit.meanAbsRelError * 100).toFixed(1)}%, max ${(fit.maxAbsRelError * 100).toFixed(1)}%`);
  console.log(lines.join('\n'));
  assert.ok(fit.meanAbsRelError < 0.15);
  assert.ok(fit.maxAbsRelError < 0.5);
  assert.ok(fit.params.orchestrationS > 0 && fit.params.launchPerItemS > 0);
  // The shipped defaults are this fit, rounded.
  assert.ok(Math.abs(fit.params.orchestrationS - DEFAULT_TIME_PARAMS.orchestrationS) < 0.1);
  assert.ok(Math.abs(fit.params.launchPerItemS - DEFAULT_TIME_PARAMS.launchPerItemS) < 0.001);
});
