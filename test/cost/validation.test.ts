import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PUBLISHED_COMPUTE, fitStudyFigures, referenceConfigurations, referenceObservationsOf, studyRunConfig } from '../../src/cost/reference.js';
import { fitTimeModel, predictRun, rankComputeUsd } from '../../src/cost/time-model.js';
import { formatFolds, formatValidationTable, leaveOnePartitionSizeOut, refitAll } from '../../src/cost/validation.js';

const REF = fileURLToPath(new URL('../../reference/cai', import.meta.url));
const configs = referenceConfigurations(readFileSync(join(REF, 'aws_total_execution_time.csv'), 'utf8'), readFileSync(join(REF, 'aws_partition_stats.csv'), 'utf8'));

test('leave one partition size out: fit on three, predict the fourth', () => {
  const loo = leaveOnePartitionSizeOut(configs);
  console.log(formatFolds(loo));
  console.log(formatValidationTable(loo));
  const misses = loo.rows.filter((r) => Math.abs(r.wallError) > 0.25);
  console.log(`wall: ${loo.rows.length - misses.length} of ${loo.rows.length} configurations within 25%, mean |error| ${(loo.meanAbsWallError * 100).toFixed(1)}%, worst ${(loo.worstWallError * 100).toFixed(1)}%; compute cost worst ${(loo.worstComputeError * 100).toFixed(1)}%`);
  assert.equal(loo.rows.length, 28);
  // Target met for 25, 50 and 75 MB: every configuration within 25%.
  for (const r of loo.rows.filter((x) => x.partitionMB !== 100)) assert.ok(Math.abs(r.wallError) <= 0.25, `${r.partitionMB} MB ${r.dataGB} GB: ${r.wallError}`);
  // Not met for 100 MB: its runs take about one more rank time from 41 ranks on (61-69 s against 33 s at
  // 11-21 ranks), a step the other sizes give nothing to fit. Bounded here so that a regression shows.
  for (const r of loo.rows.filter((x) => x.partitionMB === 100)) assert.ok(Math.abs(r.wallError) <= 0.33, `100 MB ${r.dataGB} GB: ${r.wallError}`);
  // Compute cost: every configuration within 25%.
  for (const r of loo.rows) assert.ok(r.computeError !== undefined && Math.abs(r.computeError) <= 0.25, `${r.partitionMB} MB ${r.dataGB} GB cost: ${r.computeError}`);
});

test("with the study's own figures the model reproduces the study", () => {
  const all = refitAll(configs);
  console.log(`refit on all 28: mean |wall error| ${(all.meanAbsWallError * 100).toFixed(1)}%, worst ${(all.worstWallError * 100).toFixed(1)}%`);
  assert.ok(all.meanAbsWallError < 0.13);
  // The published compute cost of the full 12.6 GB, per partition size, from the model's rank durations.
  const f = fitStudyFigures(configs);
  const params = fitTimeModel(referenceObservationsOf(configs, f)).params;
  const lines = ['| partition | published | modelled |', '| ---: | ---: | ---: |'];
  for (const p of PUBLISHED_COMPUTE) {
    const c = configs.find((x) => x.partitionMB === p.partitionMB && x.dataGB === 12.6)!;
    const usd = rankComputeUsd(predictRun({ ...studyRunConfig(c, f), memoryGB: p.memoryGB }, params).cost);
    lines.push(`| ${p.partitionMB} MB | ${p.usd} USD | ${usd.toFixed(3)} USD |`);
    assert.ok(Math.abs(usd - p.usd) / p.usd < 0.15, `${p.partitionMB} MB: ${usd} vs ${p.usd}`);
  }
  console.log(lines.join('\n'));
});
