import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TIME_PARAMS, LAMBDA_LIMITS, fitTimeModel, predictRun, weightedLine, type RunConfig } from '../../src/cost/time-model.js';
import { fitStudyFigures, parseDuration, referenceConfigurations, referenceObservations, referenceObservationsOf, scaleInference, scaleRuns, studyRunConfig } from '../../src/cost/reference.js';
import { consistentScaleRuns, scaleWorldSize, STUDY_100MB_PARTITION_SAMPLES } from '../../src/planner/study.js';

// The published CAI measurements shipped with the project (reference/cai/README.md and
// reference/cai-scale/README.md say where they come from).
const REF = fileURLToPath(new URL('../../reference', import.meta.url));
const read = (p: string) => readFileSync(join(REF, p), 'utf8');
const configs = referenceConfigurations(read('cai/aws_total_execution_time.csv'), read('cai/aws_partition_stats.csv'));

const base: RunConfig = { samples: 10_000, worldSize: 10, perSampleInferenceS: 0.004, coldStartS: 0.5, downloadBytesPerS: 50e6, memoryGB: 4 };
const params = { orchestrationS: 10, resultReadS: 0.1 };
const close = (a: number, b: number, eps = 1e-9) => Math.abs(a - b) <= eps * Math.max(1, Math.abs(b));

test('rank and wall time follow the documented formula', () => {
  const p = predictRun(base, params);
  assert.equal(p.samplesPerRank, 1000);
  assert.equal(p.waves, 1);
  assert.ok(close(p.rank.inferenceS, 4));
  assert.ok(close(p.rank.downloadS, (1000 * 20500) / 50e6));
  assert.ok(close(p.rank.uploadS, (1000 * 16) / 50e6));
  assert.ok(close(p.warmRankS, p.rank.totalS - 0.5));
  // wall = orchestration + cold rank + 10 result reads
  assert.ok(close(p.wallS, 10 + p.rank.totalS + 10 * 0.1));
  // Half the concurrency: a second wave of warm ranks (no cold start).
  const q = predictRun({ ...base, concurrency: 5 }, params);
  assert.equal(q.waves, 2);
  assert.ok(close(q.wallS, 10 + q.rank.totalS + q.warmRankS + 1));
  // Cost: 5 cold and 5 warm ranks billed at 4 GB, 10 + 2 requests, 14 transitions.
  const cold = q.cost.items.find((i) => i.id === 'lambda.duration.ranks')!;
  const warm = q.cost.items.find((i) => i.id === 'lambda.duration.ranks-warm')!;
  assert.ok(close(cold.quantity, 5 * (Math.ceil(q.rank.totalS * 1000) / 1000) * 4));
  assert.ok(close(warm.quantity, 5 * (Math.ceil(q.warmRankS * 1000 - 1e-6) / 1000) * 4));
  assert.equal(q.cost.items.find((i) => i.id === 'lambda.requests')!.quantity, 12);
  assert.equal(q.cost.items.find((i) => i.id === 'stepfunctions.transitions')!.quantity, 14);
  assert.ok(predictRun({ ...base, billColdStart: false }, params).cost.totalUsd < p.cost.totalUsd);
  assert.throws(() => predictRun({ ...base, worldSize: 0 }), /worldSize must be a positive integer/);
  assert.throws(() => predictRun({ ...base, worldSize: 20_000 }), /exceeds samples/);
});

test('documented limits: account quota, scaling rate, listing cap, timeout, data gravity', () => {
  const big: RunConfig = { ...base, samples: 5_000_000, worldSize: 5000 };
  // The account quota of 1,000 makes five waves.
  const q = predictRun(big, params);
  assert.equal(q.concurrency, LAMBDA_LIMITS.accountConcurrency);
  assert.equal(q.waves, 5);
  assert.equal(q.wallParts.rampS, 0);
  // A raised quota of 3,000: one burst of 1,000, then 100 more a second, so the 3,000th starts after 20 s.
  const r = predictRun({ ...big, accountConcurrency: 3000 }, params);
  assert.equal(r.concurrency, 3000);
  assert.ok(close(r.wallParts.rampS, 20));
  assert.equal(r.waves, 2);
  // The study's Summarize saw one listing page: at most 1,000 result reads.
  assert.ok(close(predictRun({ ...big, resultListCap: 1000 }, params).wallParts.resultReadsS, 100));
  assert.ok(close(q.wallParts.resultReadsS, 500));
  // A child start rate paces every wave.
  const s = predictRun({ ...big, mapStartRatePerS: 50 }, params);
  assert.ok(s.wallParts.rampS + s.wallParts.ranksS >= 4999 / 50);
  // A rank over 900 s breaks Lambda's timeout.
  const slow = predictRun({ ...base, perSampleInferenceS: 1 }, params);
  assert.equal(slow.violations.length, 1);
  assert.match(slow.violations[0], /900 s timeout/);
  // Data gravity: the upload comes first.
  assert.ok(close(predictRun({ ...base, uploadFirstS: 42 }, params).wallS, predictRun(base, params).wallS + 42));
});

test('durations parse as mm:ss.sss', () => {
  assert.equal(parseDuration('01:07.39', 'f', 2), 67.39);
  assert.equal(parseDuration('00:26.642', 'f', 2), 26.642);
  assert.throws(() => parseDuration('1h', 'f.csv', 7), /f\.csv: line 7: duration "1h" is not mm:ss\.sss/);
});

test('the study figures come from its per-invocation measurements', () => {
  assert.equal(configs.length, 28);
  assert.equal(configs.find((c) => c.partitionMB === 100 && c.dataGB === 12.6)!.worldSize, 130);
  const f = fitStudyFigures(configs);
  console.log(`study figures: ${(f.perSampleS * 1000).toFixed(3)} ms/sample + ${f.partitionOverheadS.toFixed(2)} s per invocation at 10,240 MB, S3 ${(f.downloadBytesPerS / 1e6).toFixed(1)} MB/s, init ${f.coldStartS} s`);
  // 5,113 samples of a 100 MB partition in about 21 s; about 50 MB/s from S3.
  assert.ok(f.perSampleS > 0.0038 && f.perSampleS < 0.0046, `${f.perSampleS}`);
  assert.ok(f.downloadBytesPerS > 30e6 && f.downloadBytesPerS < 80e6, `${f.downloadBytesPerS}`);
  assert.equal(weightedLine([1, 2, 3], [3, 5, 7], [1, 1, 1], 'x').slope, 2);
});

test('fit against the published AWS wall times', () => {
  const f = fitStudyFigures(configs);
  const fit = fitTimeModel(referenceObservationsOf(configs, f));
  const lines = [`time model fit: orchestration ${fit.params.orchestrationS.toFixed(2)} s + ${(fit.params.resultReadS * 1000).toFixed(1)} ms per result read`];
  for (const mb of [25, 50, 75, 100]) {
    const idx = configs.map((c, i) => (c.partitionMB === mb ? i : -1)).filter((i) => i >= 0);
    const mean = idx.reduce((s, i) => s + Math.abs(fit.rows[i].relError), 0) / idx.length;
    lines.push(`  ${mb} MB partitions: mean |rel error| ${(mean * 100).toFixed(1)}%`);
    // The 100 MB runs jump by about one rank time between 21 and 41 ranks, which no term follows.
    assert.ok(mean < (mb === 100 ? 0.3 : 0.1), `${mb} MB mean relative error ${mean}`);
  }
  lines.push(`  all 28 configurations: mean |rel error| ${(fit.meanAbsRelError * 100).toFixed(1)}%, max ${(fit.maxAbsRelError * 100).toFixed(1)}%`);
  console.log(lines.join('\n'));
  assert.ok(fit.meanAbsRelError < 0.13);
  assert.ok(fit.params.orchestrationS > 0 && fit.params.resultReadS > 0);
  // The shipped defaults are this fit, rounded.
  assert.ok(Math.abs(fit.params.orchestrationS - DEFAULT_TIME_PARAMS.orchestrationS) < 0.1, `${fit.params.orchestrationS}`);
  assert.ok(Math.abs(fit.params.resultReadS - DEFAULT_TIME_PARAMS.resultReadS) < 0.001, `${fit.params.resultReadS}`);
  // Per run (84 runs) the same model is as close.
  assert.equal(referenceObservations(read('cai/aws_total_execution_time.csv'), read('cai/aws_partition_stats.csv')).length, 84);
});

test('it extrapolates to the published runs of 100 GB to 1 TB, which a per-rank launch term does not', () => {
  const f = fitStudyFigures(configs);
  const fit = fitTimeModel(referenceObservationsOf(configs, f)).params;
  // The old form: wall = a + b x W + waves x rank, fitted on the same 28 configurations.
  const rankS = (c: { samplesPerRank: number }) => f.coldStartS + (c.samplesPerRank * 20500) / f.downloadBytesPerS + f.partitionOverheadS + c.samplesPerRank * f.perSampleS;
  const old = weightedLine(
    configs.map((c) => c.worldSize),
    configs.map((c) => c.wallS - rankS(c)),
    configs.map((c) => 1 / c.wallS ** 2),
    'x',
  );
  const perRank = f.partitionOverheadS + STUDY_100MB_PARTITION_SAMPLES * f.perSampleS;
  const all = scaleRuns(read('cai-scale/state_machine_logs.csv'));
  const runs = consistentScaleRuns(all, perRank);
  assert.deepEqual([...new Set(all.map((r) => r.label))].filter((l) => !runs.some((r) => r.label === l)), ['983GB']);
  const inference = scaleInference(read('cai-scale/scale_partition_stats.csv'));
  assert.ok([...inference.values()].every((s) => Math.abs(s - perRank) / perRank < 0.15), 'the scale runs ran ranks as long as the model says');
  const lines = ['| data | ranks | measured | this model | ratio | per-rank launch model | ratio |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const label of [...new Set(runs.map((r) => r.label))]) {
    const rs = runs.filter((r) => r.label === label);
    const measured = rs.reduce((s, r) => s + r.wallS, 0) / rs.length;
    const W = scaleWorldSize(rs[0].dataGB);
    const c = { samples: W * STUDY_100MB_PARTITION_SAMPLES, worldSize: W };
    const p = predictRun({ ...studyRunConfig(c, f), accountConcurrency: 1000 }, fit);
    const oldS = old.intercept + old.slope * W + p.waves * rankS({ samplesPerRank: STUDY_100MB_PARTITION_SAMPLES });
    lines.push(`| ${label} | ${W} | ${measured.toFixed(0)} s | ${p.wallS.toFixed(0)} s | ${(p.wallS / measured).toFixed(2)} | ${oldS.toFixed(0)} s | ${(oldS / measured).toFixed(2)} |`);
    assert.ok(p.wallS / measured < oldS / measured, `${label}: the physical model is closer`);
    if (rs[0].dataGB >= 256) assert.ok(p.wallS / measured < 1.6 && p.wallS / measured > 0.75, `${label}: ${p.wallS} vs ${measured}`);
  }
  console.log(lines.join('\n'));
});
