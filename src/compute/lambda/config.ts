// Configuration of the AWS compute backend: one container image, four Lambda functions (one per task of
// the state machine), the memory and timeout of each, and the environment the entry point reads.
import { UsageError } from '../../errors.js';
import { MAX_FUNCTION_TIMEOUT_S, MAX_MEMORY_MB, MIN_MEMORY_MB, threadLimit, type ComputeLimits, type ThreadLimit } from '../limits.js';

/** Name of this backend in the registry and in run summaries. */
export const LAMBDA_BACKEND_NAME = 'aws-lambda' as const;

/** The task states of the run, each served by its own function of the same image. */
export const LAMBDA_TASKS = ['initialize', 'rank', 'summarize', 'report'] as const;
export type LambdaTask = (typeof LAMBDA_TASKS)[number];

/** The handler module inside the image (relative to LAMBDA_TASK_ROOT, without extension). */
export const HANDLER_MODULE = 'dist/compute/lambda/entry-point';

/** The image's handler string for a task, e.g. "dist/compute/lambda/entry-point.rank". */
export function handlerFor(task: LambdaTask): string {
  return `${HANDLER_MODULE}.${task}`;
}

/** Environment variables the entry point reads. */
export const LAMBDA_ENV = {
  /** s3://bucket[/prefix] against which relative locations in an event are resolved. */
  storageUri: 'CAI_STORAGE_URI',
  /** Which task `handler` serves when one function is used for all of them. */
  task: 'CAI_TASK',
  /** Where models fetched from S3 are kept for the life of the instance (default /tmp/cai-models). */
  modelCacheDir: 'CAI_MODEL_CACHE_DIR',
} as const;

/**
 * The base image of the function image (the Dockerfile's NODE_IMAGE default, which a test keeps equal):
 * Lambda's Node.js 24 runtime, supported until 30 Apr 2028 (Node.js 22 until 30 Apr 2027; Node.js 20, past
 * its upstream end of life, until 30 Apr 2026). The handlers are async functions, as the Node.js 24 runtime
 * requires (it dropped callback handlers).
 */
export const LAMBDA_NODE_IMAGE = 'public.ecr.aws/lambda/nodejs:24';

/** The calibrated built-in model as the image carries it. */
export const IMAGE_MODEL_PATH = '/var/task/models/astromae-calibrated.onnx';

/** The original study ran every rank with Lambda's largest memory size. */
export const DEFAULT_RANK_MEMORY_MB = MAX_MEMORY_MB;
/** Lambda's longest invocation. */
export const MAX_LAMBDA_TIMEOUT_S = MAX_FUNCTION_TIMEOUT_S;
export const DEFAULT_RANK_TIMEOUT_S = MAX_LAMBDA_TIMEOUT_S;
/** Initialize and Summarize read the manifest and the rank results only; Report renders the page and plots. */
export const DEFAULT_CONTROL_MEMORY_MB = 1024;
export const DEFAULT_CONTROL_TIMEOUT_S = MAX_LAMBDA_TIMEOUT_S;
/** /tmp of a rank: room for a fetched model of several hundred MB (AstroMAE is tens); Lambda allows 512-10240 MB. */
export const DEFAULT_EPHEMERAL_MB = 1024;
/** Seconds the state machine allows a rank beyond the function timeout (the function's own limit ends it first). */
export const RANK_STATE_GRACE_S = 60;

/** What a rank function may be given; by default what the study gave it. */
export const LAMBDA_LIMITS: ComputeLimits = Object.freeze({
  memoryMb: { min: MIN_MEMORY_MB, max: MAX_MEMORY_MB, default: DEFAULT_RANK_MEMORY_MB },
  timeoutS: { min: 1, max: MAX_LAMBDA_TIMEOUT_S, default: DEFAULT_RANK_TIMEOUT_S },
});

/** Lambda gives one vCPU per 1,769 MB, up to 6 at 10,240 MB. */
export const MB_PER_VCPU = 1769;
export const MAX_VCPUS = 6;

export function lambdaVcpus(memoryMb: number): number {
  return Math.min(MAX_VCPUS, Math.max(1, Math.round(memoryMb / MB_PER_VCPU)));
}

/** A rank function has the vCPUs of its memory size: a run may ask for at most a small multiple of them. */
export function maxLambdaThreads(memoryMb: number): ThreadLimit {
  const vcpus = lambdaVcpus(memoryMb);
  return threadLimit(vcpus, `the ${vcpus} vCPU${vcpus === 1 ? '' : 's'} of a ${memoryMb} MB function`);
}

export interface LambdaComputeConfig {
  /** Memory of a rank function, MB (128-10240). */
  rankMemoryMb: number;
  /** Timeout of a rank invocation, seconds (1-900). */
  rankTimeoutS: number;
  /** /tmp of a rank function, MB (512-10240). */
  ephemeralStorageMb: number;
  /** Memory and timeout of the Initialize, Summarize and Report functions. */
  controlMemoryMb: number;
  controlTimeoutS: number;
}

export const DEFAULT_LAMBDA_CONFIG: Readonly<LambdaComputeConfig> = Object.freeze({
  rankMemoryMb: DEFAULT_RANK_MEMORY_MB,
  rankTimeoutS: DEFAULT_RANK_TIMEOUT_S,
  ephemeralStorageMb: DEFAULT_EPHEMERAL_MB,
  controlMemoryMb: DEFAULT_CONTROL_MEMORY_MB,
  controlTimeoutS: DEFAULT_CONTROL_TIMEOUT_S,
});

function intIn(name: string, v: number, min: number, max: number): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new UsageError(`${name} must be an integer from ${min} to ${max}, got ${v}`);
}

/** Fill defaults and check every figure against Lambda's limits. */
export function lambdaConfig(over: Partial<LambdaComputeConfig> = {}): LambdaComputeConfig {
  const c: LambdaComputeConfig = { ...DEFAULT_LAMBDA_CONFIG };
  for (const [k, v] of Object.entries(over)) if (v !== undefined) (c as unknown as Record<string, number>)[k] = v as number;
  intIn('rank memory (MB)', c.rankMemoryMb, MIN_MEMORY_MB, MAX_MEMORY_MB);
  intIn('rank timeout (seconds)', c.rankTimeoutS, 1, MAX_LAMBDA_TIMEOUT_S);
  intIn('ephemeral storage (MB)', c.ephemeralStorageMb, 512, 10_240);
  intIn('control memory (MB)', c.controlMemoryMb, MIN_MEMORY_MB, MAX_MEMORY_MB);
  intIn('control timeout (seconds)', c.controlTimeoutS, 1, MAX_LAMBDA_TIMEOUT_S);
  return c;
}
