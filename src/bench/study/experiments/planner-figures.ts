// The modelled figures of the study: what the planner's model predicts for this project's code on AWS
// Lambda and on a GPU instance, from the profile the batch-size experiment measured here (or the built-in
// one when it did not run). Every figure from here is labelled modelled on the page.
import { BYTES_PER_SAMPLE, LAMBDA_LIMITS, predictRun, STUDY_COLD_START_S, DEFAULT_TIME_PARAMS } from '../../../cost/index.js';
import { PLATFORMS } from '../../../planner/platforms/index.js';
import { estimateLambda } from '../../../planner/platforms/lambda.js';
import type { PlanEnv, Workload } from '../../../planner/types.js';

/** A data set already in S3, stored as the planner counts it (20,500 bytes a sample). */
export function workload(samples: number, partitionSamples: number): Workload {
  return { samples, bytesPerSample: BYTES_PER_SAMPLE, partitionSamples: Math.max(1, Math.min(partitionSamples, samples)), location: 's3', description: `${samples} samples` };
}

/** This code on Lambda at 10,240 MB (the study's functions), one rank per partition unless `worldSize` says. */
export function lambdaModel(env: PlanEnv, samples: number, partitionSamples: number, worldSize?: number): { wallS: number; rankInferenceS: number; costUsd: number } {
  const w = workload(samples, partitionSamples);
  const partitions = Math.ceil(w.samples / w.partitionSamples);
  const ranks = Math.min(worldSize ?? partitions, w.samples);
  const { estimate, run } = estimateLambda(w, { memoryMB: LAMBDA_LIMITS.memoryMaxMB, partitionMB: (w.partitionSamples * w.bytesPerSample) / 1e6, worldSize: ranks, concurrency: Math.min(ranks, env.accountConcurrency), batchSize: 512 }, env);
  return { wallS: estimate.wall_s, rankInferenceS: run.rank.inferenceS, costUsd: estimate.cost_usd };
}

/** This code on one GPU instance of the catalog (the study's A100 rate scaled by FP32 peak unless a GPU profile says). */
export function gpuModel(env: PlanEnv, samples: number, partitionSamples: number, instance = 'g5.xlarge'): { wallS: number; label: string } {
  const e = PLATFORMS.gpu.estimate(workload(samples, partitionSamples), { instance, instances: 1, batchSize: 512 }, env);
  return { wallS: e.wall_s, label: e.label };
}

/** A fan-out of `ranks` functions that do no inference: the fitted orchestration and one cold start. */
export function lambdaNoDataS(ranks: number): number {
  return predictRun({ samples: ranks, worldSize: ranks, perSampleInferenceS: 0, coldStartS: STUDY_COLD_START_S, downloadBytesPerS: 1e15, memoryGB: LAMBDA_LIMITS.memoryMaxMB / 1024 }, DEFAULT_TIME_PARAMS).wallS;
}
