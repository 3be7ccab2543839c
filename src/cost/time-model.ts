// A small model of a serverless run's wall time and cost, for estimates and planning.
//
//   rank time  = cold start + download (rank bytes / bandwidth) + inference (samples x per-sample time)
//                + upload (prediction bytes / bandwidth)
//   wall time  = orchestration + launch x W + waves x rank time,   waves = ceil(W / concurrency)
//
// `orchestration` covers Initialize, Map setup and Summarize; `launch` is the extra wall time each Map
// item adds because the Distributed Map does not start all children at once. Both are fitted to the
// study's measurements (fitTimeModel); the rest are properties of the configuration.
import { UsageError } from '../errors.js';
import { lambdaRunCost, STUDY_PRICES, type CostBreakdown, type LambdaPrices } from './lambda-cost.js';

/** Bytes of model input per sample: image float32 [5,32,32] + magnitudes float32 [5]. */
export const BYTES_PER_SAMPLE = 20_500;
/** Bytes of output per sample written back (object id int64 + predicted z float32 + true z float32). */
export const OUTPUT_BYTES_PER_SAMPLE = 16;

export interface TimeModelParams {
  /** Fixed wall time of the run outside the Map items (s). */
  orchestrationS: number;
  /** Extra wall time per Map item launched (s). */
  launchPerItemS: number;
}

/**
 * Least-squares fit of the study's 84 whole-run wall times (aws_total_execution_time.csv with per-rank
 * times from aws_partition_stats.csv, REFERENCE_RANK); test/cost/time-model.test.ts refits and prints it.
 */
export const DEFAULT_TIME_PARAMS: Readonly<TimeModelParams> = Object.freeze({ orchestrationS: 16.0, launchPerItemS: 0.0701 });

export interface RunConfig {
  /** Samples in the whole data set. */
  samples: number;
  /** Ranks (function instances). Default: one per partition, ceil(samples / partitionSamples). */
  worldSize?: number;
  /** Samples per stored partition; sets the default world size and the S3 GET count. */
  partitionSamples?: number;
  /** Most ranks running at once (Map MaxConcurrency / account limit). Default: all of them. */
  concurrency?: number;
  /** Inference seconds per sample on one instance of the chosen memory size. */
  perSampleInferenceS: number;
  /** Start-up seconds of a fresh instance (runtime init + model load). */
  coldStartS: number;
  /** Per-instance download bandwidth from object storage, bytes/s. */
  downloadBytesPerS: number;
  /** Per-instance upload bandwidth, bytes/s. Default: downloadBytesPerS. */
  uploadBytesPerS?: number;
  /** Configured function memory, GB. */
  memoryGB: number;
  /** Default BYTES_PER_SAMPLE. */
  bytesPerSample?: number;
  /** Whether the cold start is billed (Lambda bills the init phase). Default true. */
  billColdStart?: boolean;
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
  waves: number;
  rank: RankTime;
  wallS: number;
  /** wall time split: orchestration, launch, waves x rank */
  wallParts: { orchestrationS: number; launchS: number; ranksS: number };
  cost: CostBreakdown;
}

/** Predict a configuration's wall time and cost. */
export function predictRun(config: RunConfig, params: TimeModelParams = DEFAULT_TIME_PARAMS, prices: LambdaPrices = STUDY_PRICES): RunPrediction {
  const samples = positiveInt(config.samples, 'samples');
  const partitionSamples = config.partitionSamples === undefined ? undefined : positiveInt(config.partitionSamples, 'partitionSamples');
  const worldSize = positiveInt(config.worldSize ?? (partitionSamples ? Math.ceil(samples / partitionSamples) : 1), 'worldSize');
  if (worldSize > samples) throw new UsageError(`worldSize ${worldSize} exceeds samples ${samples}`);
  const concurrency = Math.min(worldSize, positiveInt(config.concurrency ?? worldSize, 'concurrency'));
  const bytesPerSample = positive(config.bytesPerSample ?? BYTES_PER_SAMPLE, 'bytesPerSample');
  const down = positive(config.downloadBytesPerS, 'downloadBytesPerS');
  const up = positive(config.uploadBytesPerS ?? down, 'uploadBytesPerS');
  const perSample = nonNegative(config.perSampleInferenceS, 'perSampleInferenceS');
  const cold = nonNegative(config.coldStartS, 'coldStartS');
  const memoryGB = positive(config.memoryGB, 'memoryGB');

  // The largest rank sets the wave's length.
  const samplesPerRank = Math.ceil(samples / worldSize);
  const rank: RankTime = {
    coldStartS: cold,
    downloadS: (samplesPerRank * bytesPerSample) / down,
    inferenceS: samplesPerRank * perSample,
    uploadS: (samplesPerRank * OUTPUT_BYTES_PER_SAMPLE) / up,
    totalS: 0,
  };
  rank.totalS = rank.coldStartS + rank.downloadS + rank.inferenceS + rank.uploadS;
  const waves = Math.ceil(worldSize / concurrency);
  const wallParts = { orchestrationS: params.orchestrationS, launchS: params.launchPerItemS * worldSize, ranksS: waves * rank.totalS };
  const wallS = wallParts.orchestrationS + wallParts.launchS + wallParts.ranksS;

  const billedS = rank.totalS - (config.billColdStart === false ? rank.coldStartS : 0);
  const cost = lambdaRunCost(
    {
      lambda: [{ label: 'ranks', count: worldSize, durationMs: billedS * 1000, memoryGB }],
      stateMachine: { mapItems: worldSize },
      s3: { get: partitionSamples ? Math.ceil(samples / partitionSamples) : worldSize, put: worldSize },
    },
    prices,
  );
  return { worldSize, samplesPerRank, waves, rank, wallS, wallParts, cost };
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
 * Fit orchestrationS and launchPerItemS by least squares on (wall - waves x rank time) = a + b x W,
 * weighting each run by 1 / measured wall time so that the relative error is what gets minimised.
 */
export function fitTimeModel(observations: readonly Observation[]): FitResult {
  if (observations.length < 2) throw new UsageError('fitTimeModel needs at least 2 observations');
  let sww = 0;
  let swx = 0;
  let swxx = 0;
  let swy = 0;
  let swxy = 0;
  for (const o of observations) {
    const p = predictRun(o.config, { orchestrationS: 0, launchPerItemS: 0 });
    const w = 1 / (o.wallS * o.wallS);
    const x = p.worldSize;
    const y = o.wallS - p.wallParts.ranksS;
    sww += w;
    swx += w * x;
    swxx += w * x * x;
    swy += w * y;
    swxy += w * x * y;
  }
  const det = sww * swxx - swx * swx;
  if (Math.abs(det) < 1e-300) throw new UsageError('fitTimeModel needs observations with different world sizes');
  const launchPerItemS = (sww * swxy - swx * swy) / det;
  const orchestrationS = (swy - launchPerItemS * swx) / sww;
  const params = { orchestrationS, launchPerItemS };
  const rows = observations.map((o) => {
    const predictedS = predictRun(o.config, params).wallS;
    return { wallS: o.wallS, predictedS, relError: (predictedS - o.wallS) / o.wallS };
  });
  const abs = rows.map((r) => Math.abs(r.relError));
  return { params, rows, meanAbsRelError: abs.reduce((s, x) => s + x, 0) / abs.length, maxAbsRelError: Math.max(...abs) };
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
