// AWS Lambda under a Step Functions Distributed Map, one rank per partition: the serverless run model of
// src/cost/time-model.ts with this project's per-sample time (the profile's thread-scaling curve at the
// vCPU share a memory size buys), its cold start and memory, and the documented limits of Lambda and
// Step Functions.
import { LAMBDA_LIMITS, predictRun, type RunPrediction } from '../../cost/index.js';
import { perSampleSeconds, type Profile } from '../profile.js';
import type { Estimate, PlanEnv, PlatformModel, Workload } from '../types.js';
import { breakdown, datasetBytes, datasetPartitionMB, partitionsOf, samplesPerPartition, uploadFirstS, uploadItems } from './shared.js';

/**
 * S3 download bandwidth of one function instance. AWS documents none; this is fitted to the study's
 * published billed durations (billed - init - inference = bytes / bandwidth: 49 MB/s, fitStudyFigures).
 */
export const LAMBDA_S3_BYTES_PER_S = 49e6;
/** Memory sizes tried: 1,769 MB steps (one more vCPU's worth each) up to the maximum. */
export const LAMBDA_MEMORY_CANDIDATES_MB = [1769, 3538, 5307, 7076, 8845, 10_240] as const;
export const PARTITION_CANDIDATES_MB = [10, 25, 50, 100, 250, 500, 1000] as const;
/**
 * This project's state machine passes the Map its items inline ({"rank":N} each) in the state input, which
 * Step Functions caps at 256 KiB (LAMBDA_LIMITS.statePayloadBytes); the rest of the input is about 2 KB.
 */
const INLINE_INPUT_BASE_BYTES = 2048;

export interface LambdaSettings extends Record<string, number> {
  memoryMB: number;
  partitionMB: number;
  /** Ranks (one partition each unless the world size is set smaller). */
  worldSize: number;
  concurrency: number;
  batchSize: number;
}

/** vCPUs' worth of CPU a memory size buys: one at 1,769 MB, in proportion, at most six. */
export function lambdaVcpus(memoryMB: number): number {
  return Math.min(LAMBDA_LIMITS.maxVcpus, memoryMB / LAMBDA_LIMITS.mbPerVcpu);
}

/** Bytes of the Map's inline item list for W ranks. */
export function inlineItemsBytes(worldSize: number): number {
  let bytes = INLINE_INPUT_BASE_BYTES;
  // {"rank":N}, per item: 10 bytes of punctuation and key plus the digits of N.
  for (let digits = 1, lo = 0; lo < worldSize; digits++, lo = 10 ** (digits - 1)) {
    const hi = Math.min(worldSize, 10 ** digits);
    bytes += (hi - lo) * (10 + digits);
  }
  return bytes;
}

export const lambdaPlatform: PlatformModel<LambdaSettings> = {
  name: 'lambda',
  summary: 'AWS Lambda ranks under a Step Functions Distributed Map: profile thread curve at memory/1,769 vCPUs, documented limits, fitted orchestration',
  candidates(w, env) {
    const out: LambdaSettings[] = [];
    const sizes = new Set<number>([...PARTITION_CANDIDATES_MB, datasetPartitionMB(w)]);
    for (const partitionMB of [...sizes].sort((a, b) => a - b)) {
      const ps = samplesPerPartition(w, partitionMB);
      const worldSize = partitionsOf(w, ps);
      // A partition size that leaves most of the data set in one rank is no different from a larger one.
      if (ps > w.samples && partitionMB !== Math.min(...sizes)) continue;
      const top = Math.min(worldSize, env.accountConcurrency, LAMBDA_LIMITS.mapMaxConcurrency);
      const concurrencies = new Set([top, Math.min(top, 100), Math.min(top, 10)]);
      for (const memoryMB of LAMBDA_MEMORY_CANDIDATES_MB) for (const concurrency of concurrencies) out.push({ memoryMB, partitionMB, worldSize, concurrency, batchSize: 256 });
    }
    return out;
  },
  estimate(w, s, env) {
    return estimateLambda(w, s, env).estimate;
  },
};

/** What one rank function does at a memory size: from AWS runs the profile was refined on, else from this machine's figures. */
export interface LambdaRankFigures {
  perSampleS: number;
  coldStartS: number;
  s3BytesPerS: number;
  partitionOverheadS: number;
  /** Where the figures come from, for the estimate's notes. */
  source: string;
}

export function lambdaRankFigures(p: Profile, memoryMB: number, batchSize: number): LambdaRankFigures {
  const curve = (mb: number) => perSampleSeconds(p, lambdaVcpus(mb), batchSize);
  const l = p.lambda;
  if (!l) {
    return {
      perSampleS: curve(memoryMB),
      coldStartS: p.workerStartS + p.modelLoadS,
      s3BytesPerS: LAMBDA_S3_BYTES_PER_S,
      partitionOverheadS: p.partitionOverheadS ?? 0,
      source: `at ${lambdaVcpus(memoryMB).toFixed(2)} vCPUs (profile "${p.label}", assuming a Lambda vCPU runs like one of its cores)`,
    };
  }
  // The rate measured at the runs' memory, carried to other sizes along this machine's thread curve.
  return {
    perSampleS: (curve(memoryMB) / curve(l.memoryMB)) / l.samplesPerS,
    coldStartS: l.coldStartS,
    s3BytesPerS: l.s3BytesPerS,
    partitionOverheadS: l.partitionOverheadS,
    source: `from ${l.runs.length} AWS run${l.runs.length === 1 ? '' : 's'} at ${l.memoryMB} MB (${l.samplesPerS.toFixed(0)} samples/s per rank), scaled to ${lambdaVcpus(memoryMB).toFixed(2)} vCPUs by profile "${p.label}"'s thread curve`,
  };
}

/** The estimate and the run model's own prediction behind it. */
export function estimateLambda(w: Workload, s: LambdaSettings, env: PlanEnv): { estimate: Estimate; run: RunPrediction } {
  const profile = env.cpuProfile;
  const ps = samplesPerPartition(w, s.partitionMB);
  const worldSize = Math.min(s.worldSize, w.samples);
  const upload = uploadFirstS(w, env);
  const rankFigures = lambdaRankFigures(profile, s.memoryMB, s.batchSize);
  const perSample = env.perSampleOverrideS ?? rankFigures.perSampleS;
  const run = predictRun(
    {
      samples: w.samples,
      worldSize,
      partitionSamples: ps,
      concurrency: s.concurrency,
      accountConcurrency: env.accountConcurrency,
      perSampleInferenceS: perSample,
      partitionOverheadS: rankFigures.partitionOverheadS,
      coldStartS: rankFigures.coldStartS,
      downloadBytesPerS: rankFigures.s3BytesPerS,
      memoryGB: s.memoryMB / 1024,
      bytesPerSample: w.bytesPerSample,
      uploadFirstS: upload,
    },
    env.timeParams,
    env.lambdaPrices,
  );
  const infeasible = [...run.violations];
  // A rank holds one partition at a time: its bytes as read and as decoded tensors.
  const needMB = (profile.instanceMemoryMB ?? 500) + (2 * Math.min(ps, run.samplesPerRank) * w.bytesPerSample) / 1e6;
  if (needMB > s.memoryMB) infeasible.push(`a rank needs about ${needMB.toFixed(0)} MB (instance ${profile.instanceMemoryMB ?? 500} MB + twice a partition), more than ${s.memoryMB} MB`);
  const items = inlineItemsBytes(worldSize);
  if (items > LAMBDA_LIMITS.statePayloadBytes) infeasible.push(`${worldSize} ranks' Map items take ${(items / 1024).toFixed(0)} KiB of state input, over Step Functions' 256 KiB`);
  if (s.concurrency > LAMBDA_LIMITS.mapMaxConcurrency) infeasible.push(`concurrency ${s.concurrency} is over the Distributed Map's 10,000`);
  const cost = breakdown([...run.cost.items, ...uploadItems(w, env, partitionsOf(w, ps))], run.cost.pricesSource);
  const notes = [
    env.perSampleOverrideS !== undefined
      ? `per-sample ${(perSample * 1000).toFixed(3)} ms as given`
      : `per-sample ${(perSample * 1000).toFixed(3)} ms ${rankFigures.source}`,
  ];
  if (w.location === 'local') notes.push(`uploading ${(datasetBytes(w) / 1e9).toFixed(2)} GB first at ${((env.uplinkBytesPerS * 8) / 1e6).toFixed(0)} Mbit/s`);
  return {
    run,
    estimate: {
      platform: 'lambda',
      settings: { ...s, worldSize, concurrency: run.concurrency },
      label: `lambda ${s.memoryMB} MB, ${s.partitionMB} MB partitions, ${worldSize} rank${worldSize === 1 ? '' : 's'}, ${run.concurrency} at once`,
      wall_s: run.wallS,
      cost_usd: cost.totalUsd,
      feasible: infeasible.length === 0,
      infeasible,
      invocations: run.invocations,
      waves: run.waves,
      wallParts: { upload: run.wallParts.uploadS, orchestration: run.wallParts.orchestrationS, scaling: run.wallParts.rampS, ranks: run.wallParts.ranksS, results: run.wallParts.resultReadsS },
      cost,
      notes,
    },
  };
}
