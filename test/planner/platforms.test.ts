import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalog, LAMBDA_LIMITS } from '../../src/cost/index.js';
import { planEnv } from '../../src/planner/env.js';
import { PLATFORMS } from '../../src/planner/platforms/index.js';
import { inlineItemsBytes, lambdaVcpus } from '../../src/planner/platforms/lambda.js';
import { STUDY_A100_SAMPLES_PER_S } from '../../src/planner/platforms/gpu.js';
import { workloadOfSize } from '../../src/planner/sweep.js';
import type { Estimate } from '../../src/planner/types.js';

const catalog = await loadCatalog();
const env = planEnv({ catalog });
const sumParts = (e: Estimate) => Object.values(e.wallParts).reduce((s, x) => s + x, 0);

test('every platform model: parts add up to the wall time, costs add up to the bill', () => {
  const w = workloadOfSize(12.6, 's3', 20_500);
  for (const model of Object.values(PLATFORMS)) {
    const cands = model.candidates(w, env);
    assert.ok(cands.length > 0, model.name);
    for (const s of cands) {
      const e = model.estimate(w, s, env);
      assert.equal(e.platform, model.name);
      assert.ok(Math.abs(sumParts(e) - e.wall_s) < 1e-6 * e.wall_s, `${e.label}: parts ${sumParts(e)} vs ${e.wall_s}`);
      assert.ok(Math.abs(e.cost.items.reduce((s, i) => s + i.usd, 0) - e.cost_usd) < 1e-12);
      assert.ok(e.wall_s > 0 && e.cost_usd >= 0 && Number.isFinite(e.wall_s));
    }
  }
});

test('lambda: vCPUs grow with memory, limits rule configurations out', () => {
  assert.equal(lambdaVcpus(1769), 1);
  assert.equal(lambdaVcpus(10_240), 10_240 / 1769);
  assert.equal(lambdaVcpus(20_000), LAMBDA_LIMITS.maxVcpus);
  const w = workloadOfSize(12.6, 's3', 20_500);
  const fast = PLATFORMS.lambda.estimate(w, { memoryMB: 10_240, partitionMB: 50, worldSize: 253, concurrency: 253, batchSize: 256 }, env);
  const slow = PLATFORMS.lambda.estimate(w, { memoryMB: 1769, partitionMB: 50, worldSize: 253, concurrency: 253, batchSize: 256 }, env);
  assert.ok(fast.feasible && slow.feasible);
  assert.ok(fast.wall_s < slow.wall_s, 'more memory, more vCPUs, faster ranks');
  // A 1 GB partition at 128 MB: too little memory, and over the 900 s timeout.
  const tiny = PLATFORMS.lambda.estimate(w, { memoryMB: 128, partitionMB: 1000, worldSize: 13, concurrency: 13, batchSize: 256 }, env);
  assert.equal(tiny.feasible, false);
  assert.ok(tiny.infeasible.some((r) => /900 s timeout/.test(r)) && tiny.infeasible.some((r) => /needs about/.test(r)), tiny.infeasible.join('; '));
  // The Map's inline items: 256 KiB hold about 18,000 ranks.
  assert.ok(inlineItemsBytes(18_000) < LAMBDA_LIMITS.statePayloadBytes && inlineItemsBytes(20_000) > LAMBDA_LIMITS.statePayloadBytes);
  const wide = PLATFORMS.lambda.estimate(workloadOfSize(1000, 's3', 20_500), { memoryMB: 10_240, partitionMB: 25, worldSize: 40_000, concurrency: 1000, batchSize: 256 }, env);
  assert.ok(wide.infeasible.some((r) => /256 KiB/.test(r)));
});

test('data gravity: a local data set pays its upload before a cloud run, one in S3 its download locally', () => {
  const inS3 = workloadOfSize(10, 's3', 20_500);
  const onDisk = workloadOfSize(10, 'local', 20_500);
  const s = { memoryMB: 10_240, partitionMB: 100, worldSize: 98, concurrency: 98, batchSize: 256 };
  const a = PLATFORMS.lambda.estimate(inS3, s, env);
  const b = PLATFORMS.lambda.estimate(onDisk, s, env);
  // 10 GB at the default 100 Mbit/s: 800 s.
  const uploadS = (onDisk.samples * 20_500 * 8) / 100e6;
  assert.ok(Math.abs(uploadS - 800) < 0.01);
  assert.ok(Math.abs(b.wall_s - a.wall_s - uploadS) < 1e-6, `${b.wall_s - a.wall_s}`);
  assert.equal(a.wallParts.upload, 0);
  const g = { instance: 'g5.xlarge', instances: 2, batchSize: 512 };
  assert.ok(Math.abs(PLATFORMS.gpu.estimate(onDisk, g, env).wall_s - PLATFORMS.gpu.estimate(inS3, g, env).wall_s - uploadS) < 1e-6);
  const l = { worldSize: 2, concurrency: 2, threads: 1, batchSize: 256 };
  const local = PLATFORMS.local.estimate(onDisk, l, env);
  const remote = PLATFORMS.local.estimate(inS3, l, env);
  assert.ok(remote.wall_s > local.wall_s);
  assert.ok(remote.cost.items.some((i) => i.id === 's3.transfer_out'));
  assert.ok(!local.cost.items.some((i) => i.id === 's3.transfer_out'));
});

test('gpu: modelled from the study A100 rate scaled by FP32 peak, per-second billing with its minimum', () => {
  const w = workloadOfSize(1, 's3', 20_500);
  const e = PLATFORMS.gpu.estimate(w, { instance: 'p4d.24xlarge', instances: 1, batchSize: 512 }, env);
  assert.ok(e.notes.some((n) => /modelled/.test(n)));
  // 8 A100s at the study's rate.
  assert.ok(Math.abs(e.wallParts.inference - w.samples / (8 * STUDY_A100_SAMPLES_PER_S)) < 1e-9);
  const t4 = PLATFORMS.gpu.estimate(w, { instance: 'g4dn.xlarge', instances: 1, batchSize: 512 }, env);
  assert.ok(Math.abs(t4.wallParts.inference - (w.samples / STUDY_A100_SAMPLES_PER_S) * (19.5 / 8.1)) < 1e-9);
  // Billed at least 60 s per instance.
  const item = e.cost.items.find((i) => i.id === 'ec2.p4d.24xlarge')!;
  assert.ok(item.quantity >= 60);
  // A measured per-sample time overrides the model.
  const given = PLATFORMS.gpu.estimate(w, { instance: 'g5.xlarge', instances: 1, batchSize: 512 }, { ...env, perSampleOverrideS: 0.001 });
  assert.ok(Math.abs(given.wallParts.inference - w.samples * 0.001) < 1e-9);
});

test('ec2 and the vCPU quota; RunInstances rate limit for very large fleets', () => {
  const w = workloadOfSize(1000, 's3', 20_500);
  const ok = PLATFORMS.ec2.estimate(w, { instance: 'c7i.48xlarge', instances: 30, batchSize: 256 }, env);
  assert.ok(ok.feasible);
  const over = PLATFORMS.ec2.estimate(w, { instance: 'c7i.48xlarge', instances: 31, batchSize: 256 }, env);
  assert.equal(over.feasible, false);
  const many = PLATFORMS.gpu.estimate(w, { instance: 'g5.xlarge', instances: 1400, batchSize: 512 }, env);
  assert.equal(many.feasible, true);
  assert.ok(Math.abs(many.wallParts.launch - 200) < 1e-9, 'the 400 instances beyond the burst of 1,000 launch at 2 a second');
});
