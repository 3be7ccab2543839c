// FMI aggregation mode on real worker processes and real channels (TCP with the in-process rendezvous
// server, a real redis-server): the same data run in storage mode and in fmi mode must give the same
// predictions and the same accuracy figures; a rank killed mid-run must leave a clear status and every
// other rank's results.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLocalWorkflow } from '../../src/workflow/local-engine.js';
import { aggregationPlanSchema, planSchema, summarySchema, type RunConfig, type Summary } from '../../src/workflow/contracts.js';
import { parsePredictionsCsv } from '../../src/inference/predictions.js';
import { UsageError } from '../../src/errors.js';
import { startRedis, type RedisFixture } from '../support/redis.js';
import { scaled } from '../support/time-scale.js';
import { runConfig, seededModel, tempDir, writeDataset } from './support.js';

const PER_PARTITION = 40;
const t = tempDir('cai-fmi-wf-');
const data = { uri: join(t.dir, 'data'), manifestKey: 'manifest.json' };
let ids: string[] = [];
let storage: Summary;
let redis: RedisFixture | undefined;

const fmi = (channel: 'tcp' | 'redis' | 'auto', timeoutS = 60): RunConfig['aggregation'] => ({ mode: 'fmi', channel, hint: 'fast', timeoutS });
const base = (runId: string, over: Partial<RunConfig> = {}): RunConfig => runConfig({ runId, data, results: { uri: t.dir }, model: { path: seededModel() }, worldSize: 3, concurrency: 3, ...over });
const csv = (runId: string): string => readFileSync(join(t.dir, `results/${runId}/predictions.csv`), 'utf8');
const predictedIds = (runId: string): string[] => Array.from(parsePredictionsCsv(Buffer.from(csv(runId)), 'predictions.csv').objectId, String);

before(async () => {
  ids = await writeDataset({ dir: data.uri, partitions: 5, perPartition: PER_PARTITION });
  storage = (await runLocalWorkflow({ run: base('storage') })).summary;
  assert.equal(storage.status, 'complete');
  assert.equal(storage.aggregation, undefined);
  assert.deepEqual(storage.configuration.aggregation, { mode: 'storage' });
});

after(async () => {
  await redis?.stop();
  t.cleanup();
});

test('an fmi run over TCP: rank 0 gathers and writes the same predictions and accuracy as a storage run', async () => {
  const res = await runLocalWorkflow({ run: base('fmi-tcp', { aggregation: fmi('tcp') }) });
  const s = res.summary;
  assert.equal(s.status, 'complete');
  assert.equal(s.aggregation?.status, 'aggregated');
  assert.equal(s.aggregation?.summarizedBy, 'rank 0');
  assert.equal(s.aggregation?.channel, 'tcp');
  assert.equal(s.aggregation?.ranks, 3);
  assert.ok((s.aggregation?.bytesGathered ?? 0) > 2 * 2 * PER_PARTITION * 16, 'ranks 1 and 2 sent their predictions');
  assert.deepEqual(s.aggregation?.errors, []);
  assert.equal(s.configuration.aggregation?.channel, 'tcp');
  assert.equal(s.configuration.aggregation?.requestedChannel, 'tcp');
  // The same figures and the same merged file as the storage run on the same data.
  assert.deepEqual(s.accuracy, storage.accuracy);
  assert.ok(s.accuracy && s.accuracy.count === ids.length);
  assert.equal(csv('fmi-tcp'), csv('storage'));
  assert.deepEqual(predictedIds('fmi-tcp'), ids);
  assert.equal(s.accounting.statement, storage.accounting.statement);
  assert.equal(s.accounting.exactlyOnce, true);
  // Summarize picked up what rank 0 wrote and added the engine's invocation record.
  assert.equal(s.configuration.backend, 'local-processes');
  assert.equal(s.invocations.total, 3);
  assert.equal(s.invocations.coldStarts, 3);
  summarySchema.parse(JSON.parse(readFileSync(join(t.dir, 'results/fmi-tcp/summary.json'), 'utf8')));
  // The rank objects are still written (resume and fallback rely on them); the attempt names all ranks.
  for (const r of [0, 1, 2]) assert.ok(existsSync(join(t.dir, `results/fmi-tcp/rank-0000${r}.json`)));
  const ap = aggregationPlanSchema.parse(JSON.parse(readFileSync(join(t.dir, 'results/fmi-tcp/aggregation.json'), 'utf8')));
  assert.deepEqual(ap.members, [0, 1, 2]);
  assert.equal(ap.attempt, s.aggregation?.attempt);
  // The secret went to the instances' environment only: neither the run input nor any output carries it.
  assert.doesNotMatch(JSON.stringify(res.summary) + readFileSync(join(t.dir, 'results/fmi-tcp/aggregation.json'), 'utf8'), /secret|CAI_FMI/i);
});

test('an fmi run over Redis gives the same accuracy; the channel policy picks TCP for auto', async () => {
  redis = await startRedis();
  const viaRedis = (await runLocalWorkflow({ run: base('fmi-redis', { aggregation: fmi('redis') }), redisUrl: redis.url })).summary;
  assert.equal(viaRedis.status, 'complete');
  assert.equal(viaRedis.aggregation?.status, 'aggregated');
  assert.equal(viaRedis.aggregation?.channel, 'redis');
  assert.deepEqual(viaRedis.accuracy, storage.accuracy);
  assert.equal(csv('fmi-redis'), csv('storage'));
  assert.match(viaRedis.configuration.aggregation?.reason ?? '', /^requested redis; .*gather \d+ B x 3 ranks, hint fast -> tcp/);

  // With Redis offered too, `auto` asks the policy: direct TCP has the lowest latency for this gather.
  const auto = await runLocalWorkflow({ run: base('fmi-auto', { aggregation: fmi('auto') }), redisUrl: redis.url });
  assert.equal(auto.summary.configuration.aggregation?.requestedChannel, 'auto');
  assert.equal(auto.summary.configuration.aggregation?.channel, 'tcp');
  assert.match(auto.summary.configuration.aggregation?.reason ?? '', /^auto: gather \d+ B x 3 ranks, hint fast -> tcp \(tcp binomial .*; redis binomial .*; s3 \(disabled\)/);
  assert.deepEqual(auto.summary.accuracy, storage.accuracy);
});

test('fmi aggregation refuses a concurrency below the world size before anything starts', async () => {
  await assert.rejects(
    runLocalWorkflow({ run: base('too-few', { aggregation: fmi('tcp'), concurrency: 2 }) }),
    (e: unknown) => e instanceof UsageError && e.message === '--aggregation fmi needs every rank running at once: --concurrency 2 is below --world-size 3; raise --concurrency to 3 or use --aggregation storage',
  );
  assert.ok(!existsSync(join(t.dir, 'results/too-few')), 'nothing was planned or written');
});

test('a rank killed during an fmi run: the others name it at once, Summarize falls back, no result is lost; a rerun resumes', async () => {
  const pids = new Map<number, number>();
  let killed = false;
  const t0 = performance.now();
  const first = await runLocalWorkflow({
    // A generous limit: the others must not need it, they know from the rendezvous server that rank 1 left.
    run: base('fmi-kill', { aggregation: fmi('tcp', 600), toleratedFailurePercentage: 50 }),
    retry: { intervalSeconds: 1, backoffRate: 2, maxAttempts: 0 },
    onRankStart: (s) => pids.set(s.rank, s.pid),
    onRankProgress: (p) => {
      if (p.rank === 1 && !killed && p.samplesDone > 0) {
        killed = true;
        process.kill(pids.get(1)!, 'SIGKILL');
      }
    },
  });
  assert.ok(killed);
  const wallS = (performance.now() - t0) / 1000;
  assert.ok(wallS < scaled(60), `the others did not wait out the 600 s limit (took ${wallS.toFixed(1)} s)`);
  const s = first.summary;
  assert.equal(s.status, 'partial');
  assert.deepEqual(s.ranks.failed.map((f) => [f.rank, f.error]), [[1, 'Runtime.ExitError']]);
  assert.deepEqual(s.ranks.succeeded, [0, 2]);
  assert.equal(s.aggregation?.status, 'fell-back');
  assert.equal(s.aggregation?.summarizedBy, 'Summarize');
  assert.deepEqual(
    s.aggregation?.errors.map((e) => [e.rank, e.error, e.message]),
    [0, 2].map((r) => [r, 'DeadlineError', `rank ${r}: fmi aggregation over tcp: rank 1 is not in the run (never joined, or left)`]),
  );
  // Every sample of ranks 0 and 2 is there, exactly once; only rank 1's are missing.
  const plan = planSchema.parse(JSON.parse(readFileSync(join(t.dir, 'results/fmi-kill/plan.json'), 'utf8')));
  const lost = new Set(plan.ranks[1]!.partitions.flatMap((p) => {
    const i = Number(/part-(\d+)/.exec(p.path)![1]);
    return ids.slice(i * PER_PARTITION, (i + 1) * PER_PARTITION);
  }));
  assert.ok(lost.size > 0);
  assert.deepEqual(predictedIds('fmi-kill'), ids.filter((id) => !lost.has(id)));
  assert.equal(s.accounting.exactlyOnce, true);
  assert.equal(s.accounting.missingSamples, lost.size);

  // The rerun runs rank 1 alone: it is its own root, and reads the kept ranks 0 and 2 from storage.
  const second = (await runLocalWorkflow({ run: base('fmi-kill', { aggregation: fmi('tcp', 3) }) })).summary;
  assert.equal(second.status, 'complete');
  assert.deepEqual(second.ranks.reused, [0, 2]);
  assert.equal(second.aggregation?.status, 'aggregated');
  assert.equal(second.aggregation?.summarizedBy, 'rank 1');
  assert.equal(second.aggregation?.ranks, 1);
  assert.equal(second.invocations.total, 1);
  assert.deepEqual(predictedIds('fmi-kill'), ids);
  assert.deepEqual(second.accuracy, storage.accuracy);
});

test('a rank failing on a corrupt partition joins the gather with a failure: rank 0 writes the same summary as storage mode at once', async () => {
  const bad = { uri: join(t.dir, 'data-bad'), manifestKey: 'manifest.json' };
  const badIds = await writeDataset({ dir: bad.uri, partitions: 5, perPartition: PER_PARTITION, seed: 7 });
  const file = join(bad.uri, 'partitions/part-00002.safetensors');
  const bytes = readFileSync(file);
  bytes[bytes.length - 100] ^= 0xff;
  writeFileSync(file, bytes);
  const over = { data: bad, toleratedFailurePercentage: 50 };
  const viaStorage = (await runLocalWorkflow({ run: base('bad-storage', over) })).summary;

  const t0 = performance.now();
  const res = await runLocalWorkflow({ run: base('bad-fmi', { ...over, aggregation: fmi('tcp', 60) }) });
  const wallS = (performance.now() - t0) / 1000;
  assert.ok(wallS < scaled(30), `the others did not wait out the 60 s deadline (took ${wallS.toFixed(1)} s)`);
  const s = res.summary;
  const badRank = res.plan.ranks.find((r) => r.partitions.some((p) => p.path === 'partitions/part-00002.safetensors'))!;
  assert.equal(s.status, 'partial');
  assert.equal(s.aggregation?.status, 'aggregated', 'rank 0 wrote the summary; Summarize did not fall back');
  assert.equal(s.aggregation?.summarizedBy, 'rank 0');
  assert.deepEqual(s.aggregation?.errors, []);
  assert.deepEqual(s.ranks.failed.map((f) => [f.rank, f.error, f.partitions, f.samples]), [[badRank.rank, 'DataError', badRank.partitions.map((p) => p.path), badRank.samples]]);
  assert.match(s.ranks.failed[0]!.cause, /part-00002\.safetensors: sha256 mismatch/);
  // Exactly what storage mode reports for the same fault.
  assert.equal(viaStorage.status, 'partial');
  assert.deepEqual(s.ranks, viaStorage.ranks);
  assert.deepEqual(s.accuracy, viaStorage.accuracy);
  assert.deepEqual(s.accounting, viaStorage.accounting);
  assert.equal(csv('bad-fmi'), csv('bad-storage'));
  const lost = new Set(badRank.partitions.flatMap((p) => {
    const i = Number(/part-(\d+)/.exec(p.path)![1]);
    return badIds.slice(i * PER_PARTITION, (i + 1) * PER_PARTITION);
  }));
  assert.deepEqual(predictedIds('bad-fmi'), badIds.filter((id) => !lost.has(id)));
  assert.equal(s.accounting.missingSamples, badRank.samples);
  assert.equal(s.invocations.total, 3, 'the data error was not retried');
});
