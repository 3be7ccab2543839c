// Faults injected for real: worker processes killed with SIGKILL, a corrupted partition file, a rank that
// outlives its timeout, and a rerun of a partial run. Assertions are on the exact predicted object ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runLocalWorkflow } from '../../src/workflow/local-engine.js';
import { planSchema } from '../../src/workflow/contracts.js';
import { parsePredictionsCsv } from '../../src/inference/predictions.js';
import { UsageError } from '../../src/errors.js';
import { scaled } from '../support/time-scale.js';
import { runConfig, seededModel, tempDir, writeDataset } from './support.js';

const FAST_RETRY = { intervalSeconds: 1, backoffRate: 2, maxAttempts: 2 };

function predictedIds(root: string, runId: string): string[] {
  return Array.from(parsePredictionsCsv(readFileSync(join(root, `results/${runId}/predictions.csv`)), 'predictions.csv').objectId, String);
}

function rankIds(root: string, runId: string, rank: number, allIds: string[], perPartition: number): string[] {
  const plan = planSchema.parse(JSON.parse(readFileSync(join(root, `results/${runId}/plan.json`), 'utf8')));
  return plan.ranks[rank]!.partitions.flatMap((p) => {
    const index = Number(/part-(\d+)/.exec(p.path)![1]);
    return allIds.slice(index * perPartition, (index + 1) * perPartition);
  });
}

test('a worker killed mid-partition is retried on a fresh instance and the run completes', async () => {
  const t = tempDir();
  try {
    // 64 samples per partition in batches of 16: plenty of work left after the first progress report.
    const ids = await writeDataset({ dir: join(t.dir, 'data'), partitions: 3, perPartition: 64 });
    const run = runConfig({ runId: 'kill-once', data: { uri: join(t.dir, 'data'), manifestKey: 'manifest.json' }, results: { uri: t.dir }, model: { path: seededModel() }, worldSize: 3, concurrency: 2 });
    const pids = new Map<number, number>();
    const instances = new Set<number>();
    let killedAt: number | undefined;
    const res = await runLocalWorkflow({
      run,
      retry: FAST_RETRY,
      retryDelayMs: 50,
      onRankStart: (s) => (pids.set(s.rank, s.pid), instances.add(s.pid)),
      onRankProgress: (p) => {
        if (p.rank === 1 && killedAt === undefined && p.samplesDone > 0 && p.samplesDone < p.samples) {
          killedAt = p.samplesDone;
          process.kill(pids.get(1)!, 'SIGKILL');
        }
      },
    });
    assert.ok(killedAt !== undefined && killedAt < 64, 'the worker was killed inside its first partition');
    const s = res.summary;
    assert.equal(s.status, 'complete');
    assert.deepEqual(predictedIds(t.dir, 'kill-once'), ids);
    assert.equal(s.accounting.exactlyOnce, true);
    assert.equal(s.invocations.total, 4);
    assert.equal(s.invocations.retries, 1);
    assert.equal(s.invocations.crashed, 1);
    // The retry lands on a warm idle instance or a fresh one, depending on timing; either way every
    // instance that ran something started cold exactly once, the killed one included.
    assert.equal(s.invocations.coldStarts, instances.size, 'one cold start per instance used');
    assert.ok(instances.size >= 2);
  } finally {
    t.cleanup();
  }
});

test('a rank that keeps failing is reported with its partitions; a rerun of the run id resumes', async () => {
  const t = tempDir();
  try {
    const per = 8;
    const ids = await writeDataset({ dir: join(t.dir, 'data'), partitions: 6, perPartition: per });
    const base = { runId: 'resume', data: { uri: join(t.dir, 'data'), manifestKey: 'manifest.json' }, results: { uri: t.dir }, model: { path: seededModel() }, worldSize: 3, concurrency: 2, toleratedFailurePercentage: 50 };
    let kills = 0;
    const first = await runLocalWorkflow({
      run: runConfig(base),
      retry: FAST_RETRY,
      retryDelayMs: 50,
      onRankStart: (s) => {
        if (s.rank === 1) {
          kills++;
          process.kill(s.pid, 'SIGKILL');
        }
      },
    });
    const s1 = first.summary;
    assert.equal(kills, 3, 'first attempt plus two retries');
    assert.equal(s1.status, 'partial');
    assert.equal(s1.ranks.failed.length, 1);
    const f = s1.ranks.failed[0]!;
    assert.equal(f.rank, 1);
    assert.equal(f.error, 'Runtime.ExitError');
    assert.match(f.cause, /rank 1: instance .* exited unexpectedly \(signal SIGKILL\)/);
    assert.deepEqual(f.partitions, first.plan.ranks[1]!.partitions.map((p) => p.path));
    const lost = new Set(rankIds(t.dir, 'resume', 1, ids, per));
    assert.equal(lost.size, 2 * per);
    assert.deepEqual(predictedIds(t.dir, 'resume'), ids.filter((id) => !lost.has(id)), 'the other ranks\u2019 results are intact');
    assert.equal(s1.accounting.missingSamples, 2 * per);
    assert.equal(s1.accounting.exactlyOnce, true);
    assert.match(s1.accounting.statement, /16 samples in 2 partitions of failed rank\(s\) 1 are missing/);

    // Damage rank 0's predictions: the rerun must not trust it. Rank 2 verifies and is kept.
    const csv0 = join(t.dir, 'results/resume/rank-00000.predictions.csv');
    writeFileSync(csv0, readFileSync(csv0, 'utf8').split('\n').slice(0, -2).join('\n') + '\n');
    const kept = statSync(join(t.dir, 'results/resume/rank-00002.json')).mtimeMs;
    await assert.rejects(runLocalWorkflow({ run: runConfig({ ...base, worldSize: 2 }) }), (e: unknown) => e instanceof UsageError && /planned with world size 3/.test(e.message));

    const second = await runLocalWorkflow({ run: runConfig(base) });
    const s2 = second.summary;
    assert.equal(s2.status, 'complete');
    assert.deepEqual(s2.ranks.reused, [2]);
    assert.equal(s2.invocations.total, 2, 'only ranks 0 and 1 ran again');
    assert.equal(statSync(join(t.dir, 'results/resume/rank-00002.json')).mtimeMs, kept);
    assert.deepEqual(predictedIds(t.dir, 'resume'), ids);
    assert.equal(s2.accounting.exactlyOnce, true);
  } finally {
    t.cleanup();
  }
});

test('a corrupt partition fails its rank with the file named; the other ranks complete', async () => {
  const t = tempDir();
  try {
    const per = 8;
    const ids = await writeDataset({ dir: join(t.dir, 'data'), partitions: 4, perPartition: per });
    const bad = join(t.dir, 'data/partitions/part-00002.safetensors');
    const bytes = readFileSync(bad);
    bytes[bytes.length - 100] ^= 0xff;
    writeFileSync(bad, bytes);
    const run = runConfig({ runId: 'corrupt', data: { uri: join(t.dir, 'data'), manifestKey: 'manifest.json' }, results: { uri: t.dir }, model: { path: seededModel() }, worldSize: 4, concurrency: 2, toleratedFailurePercentage: 25 });
    const { summary: s, plan } = await runLocalWorkflow({ run, retry: FAST_RETRY, retryDelayMs: 50 });
    assert.equal(s.status, 'partial');
    const badRank = plan.ranks.find((r) => r.partitions.some((p) => p.path === 'partitions/part-00002.safetensors'))!.rank;
    assert.deepEqual(
      s.ranks.failed.map((x) => [x.rank, x.error, x.partitions]),
      [[badRank, 'DataError', ['partitions/part-00002.safetensors']]],
    );
    assert.equal(s.ranks.failed[0]!.cause, `${bad}: sha256 mismatch: file has ${s.ranks.failed[0]!.cause.match(/file has ([0-9a-f]{64})/)![1]}, manifest says ${JSON.parse(readFileSync(join(t.dir, 'data/manifest.json'), 'utf8')).partitions[2].sha256}`);
    assert.equal(s.invocations.total, 4, 'a data error is not retried');
    assert.deepEqual(predictedIds(t.dir, 'corrupt'), [...ids.slice(0, 2 * per), ...ids.slice(3 * per)]);
  } finally {
    t.cleanup();
  }
});

test('a rank past its timeout is stopped and reported; beyond the tolerance the run is failed', async () => {
  const t = tempDir();
  try {
    // Far more than a second of model time on any machine, so the 1 s limit always cuts it short.
    await writeDataset({ dir: join(t.dir, 'data'), partitions: 2, perPartition: 250 });
    const run = runConfig({ runId: 'slow', data: { uri: join(t.dir, 'data'), manifestKey: 'manifest.json' }, results: { uri: t.dir }, model: { path: seededModel() }, worldSize: 1, concurrency: 1, timeoutS: 1, toleratedFailurePercentage: 0 });
    const t0 = Date.now();
    const { summary: s } = await runLocalWorkflow({ run, retry: FAST_RETRY, retryDelayMs: 50 });
    assert.ok(Date.now() - t0 < scaled(30_000));
    assert.equal(s.status, 'failed');
    assert.deepEqual(s.ranks.failed.map((x) => [x.rank, x.error]), [[0, 'States.Timeout']]);
    assert.match(s.ranks.failed[0]!.cause, /rank 0: timed out after 1 s/);
    assert.equal(s.invocations.total, 1, 'a timeout is not retried');
    assert.equal(s.accounting.predictedSamples, 0);
    assert.equal(readFileSync(join(t.dir, 'results/slow/predictions.csv'), 'utf8'), 'object_id,z_true,z_pred\n');
  } finally {
    t.cleanup();
  }
});
