// One rank of a run: read this rank's partitions, predict them with the model, write the rank's predictions
// and result object. The same function runs in a local worker process and in a Lambda function; it only
// sees the event and the invocation context. The model is loaded once per instance and kept warm.
// In an FMI run the rank then takes part in the aggregation (aggregation/aggregate-rank.ts).
import { DataError, ModelError, oneLine } from '../errors.js';
import { describeKey, type Dataset } from '../data/dataset.js';
import { formatPredictionsCsv, type Predictions } from '../inference/predictions.js';
import type { PartitionEntry } from '../data/manifest.js';
import { InferenceEngine, inferPartitions, type EngineOptions } from '../inference/engine.js';
import { caiFields, performanceMetrics } from '../inference/metrics.js';
import { openStorage } from '../storage/index.js';
import type { InvocationContext } from '../compute/context.js';
import { CONTRACT_VERSION, aggregationOf, parseContract, rankEventSchema, resultKeys, runConfigSchema, type ColdStartParts, type RankEvent, type RankOutcome, type Plan, type RankResult, type RunConfig } from './contracts.js';
import { openPlannedDataset, readPlan } from './plan-file.js';
import { MAX_FAILURE_MESSAGE_CHARS } from './aggregation/rank-payload.js';
import { guardResults } from './run-lock.js';

/** Live progress a rank reports while it runs. */
export interface RankProgress {
  rank: number;
  samplesDone: number;
  partitionsDone: number;
  samples: number;
}

const PROGRESS_INTERVAL_MS = 150;

/**
 * The instance's model, kept between invocations (the warm path). Opening starts as soon as a rank knows
 * it needs the model, or earlier when the instance was started ahead of its first invocation
 * (prepareRank), so the sessions open while the first partition is fetched and verified.
 */
interface WarmEngine {
  key: string;
  opening: Promise<InferenceEngine>;
  /** Wall time of the open, once done. */
  openMs?: number;
  /** Set once an invocation has used it: later ones found the model warm. */
  used: boolean;
}
let warm: WarmEngine | undefined;

/** The engine's options for a run on this instance: its device, and for a GPU the one this worker slot keeps. */
export function engineOptions(run: RunConfig, slot: number | undefined): EngineOptions {
  const device = run.device ?? 'cpu';
  const gpus = run.gpus ?? 1;
  // A worker slot keeps one GPU for its life: slot modulo the GPUs in use (all: modulo the adapters listed).
  const adapter = device === 'cpu' || slot === undefined ? undefined : gpus === 'all' ? slot : slot % gpus;
  return {
    batchSize: run.batchSize,
    threads: run.threads,
    device,
    ...(adapter !== undefined ? { adapter } : { gpus }),
    ...(run.sessionsPerGpu !== undefined ? { sessionsPerGpu: run.sessionsPerGpu } : {}),
  };
}

function startEngine(run: RunConfig, slot: number | undefined): WarmEngine {
  const options = engineOptions(run, slot);
  const key = JSON.stringify([run.model.path, options]);
  if (warm?.key === key) return warm;
  const previous = warm;
  const entry: WarmEngine = { key, used: false, opening: Promise.resolve(undefined as never) };
  entry.opening = (async () => {
    await (await previous?.opening.catch(() => undefined))?.close();
    const t0 = performance.now();
    const engine = await InferenceEngine.open(run.model.path, options);
    entry.openMs = performance.now() - t0;
    return engine;
  })();
  // A model that fails to open is opened again by the next invocation, which reports the error.
  entry.opening.catch(() => {
    if (warm === entry) warm = undefined;
  });
  warm = entry;
  return entry;
}

/**
 * Start opening the model of a run before any rank of it arrives: an instance started ahead of the run's
 * first invocation calls this with the run, so its cold start is paid while Initialize plans. Failures are
 * left to the invocation that then opens the model again and reports them.
 */
export function prepareRank(event: unknown, ctx: { slot?: number }): void {
  const run = runConfigSchema.safeParse((event as { run?: unknown } | null)?.run);
  if (run.success && run.data.mode === 'inference') startEngine(run.data, ctx.slot);
}

export async function handleRank(event: unknown, ctx: InvocationContext): Promise<RankOutcome> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const ev: RankEvent = parseContract(rankEventSchema, JSON.stringify(event), '(rank event)');
  const { run, rank } = ev;
  const results = openStorage(run.results.uri);
  const plan = await readPlan(results, run.runId, ev.planKey);
  const assignment = plan.ranks[rank];
  if (!assignment || assignment.rank !== rank) throw new DataError(describeKey(results, ev.planKey), `has no rank ${rank}`);

  // The "no data" experiment: an invocation that does no work, to time orchestration alone.
  if (run.mode === 'no-data') return { rank, status: 'succeeded', resultKey: null, samples: 0, totalMs: performance.now() - t0 };
  if (aggregationOf(run).mode !== 'fmi') return (await runRank(run, plan, assignment, ctx, t0, startedAt)).outcome;

  // Loaded only here, so storage runs never load the channels' client libraries.
  const { aggregateRank, joinAggregation } = await import('./aggregation/aggregate-rank.js');
  // Joined before the work, so that if this rank dies the others know it at once rather than at their deadline.
  const join = await joinAggregation({ run, rank, ctx });
  let done: RankWork;
  try {
    done = await runRank(run, plan, assignment, ctx, t0, startedAt);
  } catch (err) {
    // Data and model errors are not retried: this invocation is the rank's last, so it tells the others at
    // once rather than leaving them to wait out the aggregation's deadline, then fails as it would anyway.
    if (err instanceof DataError || err instanceof ModelError) {
      const message = oneLine(err).slice(0, MAX_FAILURE_MESSAGE_CHARS);
      const partitions = assignment.partitions.map((p) => p.path);
      await aggregateRank({ run, plan, rank, own: { kind: 'failed', failure: { kind: 'cai-rank-failure', runId: run.runId, rank, error: err.name, message, partitions, samples: assignment.samples } }, ctx, join });
    } else await join.leave();
    throw err;
  }
  const { outcome, dataset, result, predictions } = done;
  outcome.aggregation = await aggregateRank({ run, plan, rank, dataset, own: { kind: 'result', result, predictions }, ctx, join });
  outcome.totalMs = performance.now() - t0;
  return outcome;
}

interface RankWork {
  outcome: Extract<RankOutcome, { status: 'succeeded' }>;
  dataset: Dataset;
  result: RankResult;
  predictions: Predictions;
}

/** The rank's own work: predict its partitions, then store its predictions and result object. */
async function runRank(run: RunConfig, plan: Plan, assignment: Plan['ranks'][number], ctx: InvocationContext, t0: number, startedAt: string): Promise<RankWork> {
  const rank = assignment.rank;
  // Written only while this run's coordinator still holds the run.
  const results = guardResults(openStorage(run.results.uri), run);
  // The model opens while the data set's manifest and the first partition are read.
  const model = assignment.partitions.length > 0 ? startEngine(run, ctx.slot) : undefined;
  const dataset = await openPlannedDataset(run, plan);
  const byPath = new Map(dataset.manifest.partitions.map((e) => [e.path, e]));
  const entries: PartitionEntry[] = assignment.partitions.map((p) => {
    const e = byPath.get(p.path);
    if (!e) throw new DataError(dataset.location, `no longer lists partition ${p.path}`);
    return e;
  });

  let modelLoadMs = 0;
  let inferred: Awaited<ReturnType<typeof inferPartitions>> | undefined;
  if (model && entries.length > 0) {
    const firstUse = !model.used;
    model.used = true;
    let last = 0;
    inferred = await inferPartitions({
      dataset,
      entries,
      engine: model.opening,
      readAhead: run.readAhead,
      onProgress: ({ samplesDone, partitionsDone }) => {
        const now = performance.now();
        if (now - last < PROGRESS_INTERVAL_MS && partitionsDone < entries.length) return;
        last = now;
        ctx.progress({ rank, samplesDone, partitionsDone, samples: assignment.samples } satisfies RankProgress);
      },
    });
    if (firstUse) modelLoadMs = model.openMs ?? 0;
  }
  const samples = inferred?.samples ?? 0;
  const objectId = inferred?.objectId ?? new BigInt64Array(0);
  const zPred = inferred?.zPred ?? new Float32Array(0);
  if (zPred.length !== assignment.samples) throw new ModelError(run.model.path, `predicted ${zPred.length} samples for rank ${rank}, expected ${assignment.samples}`);

  const u0 = performance.now();
  const csv = formatPredictionsCsv({ objectId, zTrue: inferred?.zTrue, zPred });
  const predictionsKey = resultKeys.rankPredictions(run.runId, rank);
  await results.put(predictionsKey, csv);
  const uploadPredictionsMs = performance.now() - u0;

  const wallMs = performance.now() - t0;
  const perf = performanceMetrics({
    samples,
    batches: inferred?.batches ?? 0,
    batchSize: run.batchSize,
    device: inferred?.device ?? 'cpu',
    inferenceMs: inferred?.inferenceMs ?? 0,
    wallMs,
    ioMs: inferred?.downloadMs ?? 0,
    peakMemoryBytes: ctx.peakRssBytes(),
    ...(inferred ? { layout: inferred.layout } : {}),
  });
  const coldStart = ctx.coldStart || modelLoadMs > 0;
  const offsets: number[] = [];
  let at = 0;
  for (const p of inferred?.partitions ?? []) {
    offsets.push(at);
    at += p.samples;
  }
  const resultKey = resultKeys.rank(run.runId, rank);
  const result: RankResult = {
    schemaVersion: CONTRACT_VERSION,
    kind: 'cai-rank-result',
    runId: run.runId,
    rank,
    status: 'succeeded',
    partitions: (inferred?.partitions ?? []).map((p, i) => ({
      path: p.path,
      samples: p.samples,
      ...(p.samples > 0 ? { firstObjectId: objectId[offsets[i]!]!.toString(), lastObjectId: objectId[offsets[i]! + p.samples - 1]!.toString() } : {}),
      downloadMs: p.downloadMs,
      waitMs: p.waitMs,
      inferenceMs: p.inferenceMs,
    })),
    samples,
    predictions: { key: predictionsKey, rows: samples, bytes: Buffer.byteLength(csv) },
    performance: perf,
    cai: caiFields(perf),
    timings: {
      startedAt,
      finishedAt: '',
      coldStart,
      coldStartMs: ctx.initMs + modelLoadMs,
      initMs: ctx.initMs,
      modelLoadMs,
      ...(coldStart ? { coldStartParts: coldStartParts(ctx, modelLoadMs, inferred) } : {}),
      downloadMs: inferred?.downloadMs ?? 0,
      waitMs: inferred?.waitMs ?? 0,
      inferenceMs: inferred?.inferenceMs ?? 0,
      uploadMs: uploadPredictionsMs,
      totalMs: 0,
    },
    memory: { peakRssMB: ctx.peakRssBytes() / 1e6, limitMB: ctx.memoryLimitMb },
    instance: { id: ctx.instanceId, invocation: ctx.invocation, ...(ctx.slot !== undefined ? { slot: ctx.slot } : {}) },
  };
  // The result object goes last: its presence means the predictions it points to are complete.
  result.timings.finishedAt = new Date().toISOString();
  result.timings.totalMs = performance.now() - t0;
  await results.put(resultKey, JSON.stringify(result, null, 2) + '\n');
  const outcome: RankWork['outcome'] = { rank, status: 'succeeded', resultKey, samples, totalMs: performance.now() - t0 };
  return { outcome, dataset, result, predictions: { objectId, zTrue: inferred?.zTrue, zPred } };
}

/**
 * Where a cold start went: the instance's start-up (process, code), the model's open (session host,
 * reading, session creation, the cache's part), and how much of it this invocation waited for: an
 * instance started ahead waits for none of its start-up, and a model that opened while the first
 * partition was fetched costs only what the partition then still waited.
 */
function coldStartParts(ctx: InvocationContext, modelLoadMs: number, inferred: { engineWaitMs: number; layout: { firstOpen: { hostMs: number; readMs: number; createMs: number; cache: ColdStartParts['cache'] } } } | undefined): ColdStartParts {
  const startup = ctx.startup ?? { processMs: ctx.initMs, codeMs: 0, waitedMs: ctx.coldStart ? ctx.initMs : 0, prestarted: false };
  const open = modelLoadMs > 0 ? inferred?.layout.firstOpen : undefined;
  const startWaitMs = ctx.coldStart ? startup.waitedMs : 0;
  const modelWaitMs = modelLoadMs > 0 ? (inferred?.engineWaitMs ?? 0) : 0;
  return {
    processMs: ctx.coldStart ? startup.processMs : 0,
    codeMs: ctx.coldStart ? startup.codeMs : 0,
    sessionHostMs: open?.hostMs ?? 0,
    modelReadMs: open?.readMs ?? 0,
    sessionCreateMs: open?.createMs ?? 0,
    cache: open?.cache ?? 'off',
    prestarted: ctx.coldStart && startup.prestarted,
    startWaitMs,
    modelWaitMs,
    waitedMs: startWaitMs + modelWaitMs,
  };
}
