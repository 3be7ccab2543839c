// The wall time and cost of a serverless run (Step Functions Distributed Map over Lambda functions), built
// from physical terms so that it extrapolates from the measured 11-517 ranks to 10,000 ranks and 1 TB:
//
//   rank time (cold) = init (runtime start + model load) + partition bytes / S3 bandwidth
//                      + per-partition overhead + samples x per-sample time + result bytes / S3 bandwidth
//   rank time (warm) = the same without init: a later wave reuses the execution environment
//   Map phase        = ramp + cold rank + (waves - 1) x warm rank          waves = ceil(W / C)
//   ramp             = when the C-th environment can start: Lambda's scaling rate and the Map's child
//                      start rate, whichever is slower
//   result reads     = min(W, list cap) x per-result read time    (Summarize reads rank results one by one)
//   wall time        = upload (data not yet in S3) + orchestration + Map phase + result reads
//
// Documented limits (LAMBDA_LIMITS) bound the terms; the figures no documentation gives — the fixed
// orchestration time and the per-result read time — are fitted (fitTimeModel) on the study's published
// runs. The old form of this model fitted a per-rank launch term instead, which grows linearly to 10,000
// ranks and predicts runs of 100 GB to 1 TB 2-8 times too long: the study's own Summarize reads one
// result per rank, sequentially, after a single S3 listing of at most 1,000 keys, which is where that
// per-rank time went.
import { UsageError } from '../errors.js';
import { lambdaRunCost, STUDY_PRICES, type CostBreakdown, type InvocationGroup, type LambdaPrices } from './lambda-cost.js';

/** Bytes of model input per sample: image float32 [5,32,32] + magnitudes float32 [5]. */
export const BYTES_PER_SAMPLE = 20_500;
/** Bytes of output per sample written back (object id int64 + predicted z float32 + true z float32). */
export const OUTPUT_BYTES_PER_SAMPLE = 16;

/** Limits and rates AWS documents; each is the page's figure. */
export const LAMBDA_LIMITS = Object.freeze({
  /** https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: concurrent executions, default quota. */
  accountConcurrency: 1000,
  /**
   * https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html: "for each function, your concurrency
   * scaling rate is 1,000 execution environment instances every 10 seconds", refilled continuously.
   */
  scalingBurst: 1000,
  scalingRefillPerS: 100,
  /** https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html: at most 900 s per invocation. */
  timeoutS: 900,
  /** https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html: 128-10,240 MB, one vCPU's worth at 1,769 MB. */
  memoryMinMB: 128,
  memoryMaxMB: 10_240,
  mbPerVcpu: 1769,
  /** https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: "up to 6 vCPUs" at 10,240 MB. */
  maxVcpus: 6,
  /** https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html: up to 10,000 parallel child workflow executions. */
  mapMaxConcurrency: 10_000,
  /** https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html: 256 KiB for a state's input or output. */
  statePayloadBytes: 262_144,
  /** https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html: at most 1,000 keys per listing call. */
  s3ListMaxKeys: 1000,
});

/** The figures of the run model no documentation gives, fitted on measured runs. */
export interface TimeModelParams {
  /** Fixed wall time outside the ranks: Initialize, starting the Map Run, Summarize's start and write (s). */
  orchestrationS: number;
  /** Summarize's time per rank result it reads (one S3 GET and parse, in sequence) (s). */
  resultReadS: number;
}

/**
 * Weighted least-squares fit on the study's 28 published configurations (aws_total_execution_time.csv with
 * aws_partition_stats.csv, STUDY_RANK); test/cost/time-model.test.ts refits it and fails if it drifts.
 */
export const DEFAULT_TIME_PARAMS: Readonly<TimeModelParams> = Object.freeze({ orchestrationS: 16.2, resultReadS: 0.0707 });

export interface RunConfig {
  /** Samples in the whole data set. */
  samples: number;
  /** Ranks (function instances). Default: one per partition, ceil(samples / partitionSamples). */
  worldSize?: number;
  /** Samples per stored partition; sets the default world size and the S3 GET count. */
  partitionSamples?: number;
  /** Most ranks running at once (Map MaxConcurrency). Default: all of them, within the account quota. */
  concurrency?: number;
  /** The account's Lambda concurrency quota. Default LAMBDA_LIMITS.accountConcurrency. */
  accountConcurrency?: number;
  /** Inference seconds per sample on one instance of the chosen memory size. */
  perSampleInferenceS: number;
  /** Seconds each rank spends per partition besides its samples (decode, first batch). Default 0. */
  partitionOverheadS?: number;
  /** Start-up seconds of a fresh instance (runtime init + model load). */
  coldStartS: number;
  /** Per-instance download bandwidth from object storage, bytes/s. */
  downloadBytesPerS: number;
  /** Per-instance upload bandwidth, bytes/s. Default: downloadBytesPerS. */
  uploadBytesPerS?: number;
  /** Configured function memory, GB (MB / 1024). */
  memoryGB: number;
  /** Default BYTES_PER_SAMPLE. */
  bytesPerSample?: number;
  /** Whether the cold start is billed (Lambda bills the init phase of these functions). Default true. */
  billColdStart?: boolean;
  /** Rank results Summarize can see: the study's reads one listing page (1,000); this project's reads every rank. Default Infinity. */
  resultListCap?: number;
  /** Map child executions started per second; not documented, so unlimited unless given. */
  mapStartRatePerS?: number;
  /** Seconds spent before the run putting the data set into S3 (data gravity). Default 0. */
  uploadFirstS?: number;
}

export interface RankTime {
  coldStartS: number;
  downloadS: number;
  inferenceS: number;
  uploadS: number;
  totalS: number;
}

export interface RunPrediction {
  worldSize: number;
  samplesPerRank: number;
  /** Ranks running at once. */
  concurrency: number;
  waves: number;
  /** The first wave's rank (cold); later waves take `warmRankS`. */
  rank: RankTime;
  warmRankS: number;
  wallS: number;
  wallParts: { uploadS: number; orchestrationS: number; rampS: number; ranksS: number; resultReadsS: number };
  /** Rank invocations (no retries). */
  invocations: number;
  /** Documented limits this configuration breaks (empty when it can run). */
  violations: string[];
  cost: CostBreakdown;
}

/** Memory assumed for the Initialize and Summarize functions when pricing a run (as the workflow does). */
const CONTROL_MEMORY_GB = 1;
/** Initialize's billed time besides Summarize's reads: it lists the data set and writes one plan (modelled). */
const CONTROL_BASE_S = 1;

/** Predict a configuration's wall time and cost. */
export function predictRun(config: RunConfig, params: TimeModelParams = DEFAULT_TIME_PARAMS, prices: LambdaPrices = STUDY_PRICES): RunPrediction {
  const samples = positiveInt(config.samples, 'samples');
  const partitionSamples = config.partitionSamples === undefined ? undefined : positiveInt(config.partitionSamples, 'partitionSamples');
  const worldSize = positiveInt(config.worldSize ?? (partitionSamples ? Math.ceil(samples / partitionSamples) : 1), 'worldSize');
  if (worldSize > samples) throw new UsageError(`worldSize ${worldSize} exceeds samples ${samples}`);
  const quota = positiveInt(config.accountConcurrency ?? LAMBDA_LIMITS.accountConcurrency, 'accountConcurrency');
  const asked = positiveInt(config.concurrency ?? worldSize, 'concurrency');
  const concurrency = Math.min(worldSize, asked, quota, LAMBDA_LIMITS.mapMaxConcurrency);
  const bytesPerSample = positive(config.bytesPerSample ?? BYTES_PER_SAMPLE, 'bytesPerSample');
  const down = positive(config.downloadBytesPerS, 'downloadBytesPerS');
  const up = positive(config.uploadBytesPerS ?? down, 'uploadBytesPerS');
  const perSample = nonNegative(config.perSampleInferenceS, 'perSampleInferenceS');
  const overhead = nonNegative(config.partitionOverheadS ?? 0, 'partitionOverheadS');
  const cold = nonNegative(config.coldStartS, 'coldStartS');
  const memoryGB = positive(config.memoryGB, 'memoryGB');
  const listCap = config.resultListCap ?? Infinity;
  const startRate = config.mapStartRatePerS ?? Infinity;
  if (!(listCap >= 1)) throw new UsageError(`resultListCap must be at least 1, got ${listCap}`);
  if (!(startRate > 0)) throw new UsageError(`mapStartRatePerS must be positive, got ${startRate}`);
  const uploadFirstS = nonNegative(config.uploadFirstS ?? 0, 'uploadFirstS');

  // The largest rank sets a wave's length.
  const samplesPerRank = Math.ceil(samples / worldSize);
  const partitionsPerRank = partitionSamples ? Math.ceil(samplesPerRank / partitionSamples) : 1;
  const warmRankS =
    (samplesPerRank * bytesPerSample) / down + partitionsPerRank * overhead + samplesPerRank * perSample + (samplesPerRank * OUTPUT_BYTES_PER_SAMPLE) / up;
  const rank: RankTime = {
    coldStartS: cold,
    downloadS: (samplesPerRank * bytesPerSample) / down,
    inferenceS: partitionsPerRank * overhead + samplesPerRank * perSample,
    uploadS: (samplesPerRank * OUTPUT_BYTES_PER_SAMPLE) / up,
    totalS: cold + warmRankS,
  };
  const waves = Math.ceil(worldSize / concurrency);
  // The C-th environment starts once the scaling rate allows it (a burst of 1,000, then 100 per second)
  // and the Map has started C children.
  const scalingS = Math.max(0, concurrency - LAMBDA_LIMITS.scalingBurst) / LAMBDA_LIMITS.scalingRefillPerS;
  const startS = Number.isFinite(startRate) ? (concurrency - 1) / startRate : 0;
  const rampS = Math.max(scalingS, startS);
  // A finite child start rate also paces the later waves: the last child cannot start before (W - 1) / rate.
  const ranksS = Math.max(rank.totalS + (waves - 1) * warmRankS, Number.isFinite(startRate) ? (worldSize - 1) / startRate - rampS + rank.totalS : 0);
  const reads = Math.min(worldSize, listCap);
  const resultReadsS = reads * params.resultReadS;
  const wallParts = { uploadS: uploadFirstS, orchestrationS: params.orchestrationS, rampS, ranksS, resultReadsS };
  const wallS = uploadFirstS + params.orchestrationS + rampS + ranksS + resultReadsS;

  const violations: string[] = [];
  if (rank.totalS > LAMBDA_LIMITS.timeoutS) violations.push(`a rank takes ${rank.totalS.toFixed(0)} s, over Lambda's ${LAMBDA_LIMITS.timeoutS} s timeout`);
  const memoryMB = memoryGB * 1024;
  if (memoryMB < LAMBDA_LIMITS.memoryMinMB - 1e-9 || memoryMB > LAMBDA_LIMITS.memoryMaxMB + 1e-9) violations.push(`memory ${memoryMB.toFixed(0)} MB is outside Lambda's ${LAMBDA_LIMITS.memoryMinMB}-${LAMBDA_LIMITS.memoryMaxMB} MB`);

  const bill = config.billColdStart === false ? 0 : cold;
  const coldCount = concurrency;
  const groups: InvocationGroup[] = [{ label: 'ranks', count: coldCount, durationMs: (warmRankS + bill) * 1000, memoryGB }];
  if (worldSize > coldCount) groups.push({ label: 'ranks-warm', count: worldSize - coldCount, durationMs: warmRankS * 1000, memoryGB });
  groups.push({ label: 'control', count: 2, durationMs: ((CONTROL_BASE_S * 2 + resultReadsS) / 2) * 1000, memoryGB: CONTROL_MEMORY_GB });
  const partitions = partitionSamples ? Math.ceil(samples / partitionSamples) : worldSize;
  const cost = lambdaRunCost({ lambda: groups, stateMachine: { mapItems: worldSize }, s3: { get: partitions + reads, put: worldSize } }, prices);
  return { worldSize, samplesPerRank, concurrency, waves, rank, warmRankS, wallS, wallParts, invocations: worldSize, violations, cost };
}

/** The Lambda compute (GB-s) part of a predicted bill: the ranks' duration items. */
export function rankComputeUsd(cost: CostBreakdown): number {
  return cost.items.filter((i) => i.id === 'lambda.duration.ranks' || i.id === 'lambda.duration.ranks-warm').reduce((s, i) => s + i.usd, 0);
}

export interface Observation {
  config: RunConfig;
  wallS: number;
}

export interface FitResult {
  params: TimeModelParams;
  /** mean of |predicted - measured| / measured */
  meanAbsRelError: number;
  maxAbsRelError: number;
  /** per observation: measured, predicted, relative error */
  rows: { wallS: number; predictedS: number; relError: number }[];
}

/**
 * Fit orchestrationS and resultReadS by least squares on (wall - upload - ramp - ranks) = a + b x reads,
 * weighting each run by 1 / measured wall time squared so that the relative error is what gets minimised.
 */
export function fitTimeModel(observations: readonly Observation[]): FitResult {
  if (observations.length < 2) throw new UsageError('fitTimeModel needs at least 2 observations');
  const zero = { orchestrationS: 0, resultReadS: 0 };
  const xs: number[] = [];
  const ys: number[] = [];
  const ws: number[] = [];
  for (const o of observations) {
    const p = predictRun(o.config, zero);
    xs.push(Math.min(p.worldSize, o.config.resultListCap ?? Infinity));
    ys.push(o.wallS - p.wallS);
    ws.push(1 / (o.wallS * o.wallS));
  }
  const { intercept, slope } = weightedLine(xs, ys, ws, 'fitTimeModel needs observations with different world sizes');
  const params = { orchestrationS: intercept, resultReadS: slope };
  const rows = observations.map((o) => {
    const predictedS = predictRun(o.config, params).wallS;
    return { wallS: o.wallS, predictedS, relError: (predictedS - o.wallS) / o.wallS };
  });
  const abs = rows.map((r) => Math.abs(r.relError));
  return { params, rows, meanAbsRelError: abs.reduce((s, x) => s + x, 0) / abs.length, maxAbsRelError: Math.max(...abs) };
}

/** y = intercept + slope x by weighted least squares. */
export function weightedLine(xs: readonly number[], ys: readonly number[], ws: readonly number[], degenerate: string): { intercept: number; slope: number } {
  let sw = 0;
  let sx = 0;
  let sxx = 0;
  let sy = 0;
  let sxy = 0;
  for (let i = 0; i < xs.length; i++) {
    const w = ws[i];
    sw += w;
    sx += w * xs[i];
    sxx += w * xs[i] * xs[i];
    sy += w * ys[i];
    sxy += w * xs[i] * ys[i];
  }
  const det = sw * sxx - sx * sx;
  if (!(Math.abs(det) > 1e-12 * Math.max(1, sw * sxx))) throw new UsageError(degenerate);
  const slope = (sw * sxy - sx * sy) / det;
  return { intercept: (sy - slope * sx) / sw, slope };
}

function positiveInt(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${what} must be a positive integer, got ${n}`);
  return n;
}
function positive(n: number, what: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${what} must be a positive number, got ${n}`);
  return n;
}
function nonNegative(n: number, what: string): number {
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${what} must be a non-negative number, got ${n}`);
  return n;
}
