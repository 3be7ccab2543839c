// Turning a user's request (paths, URIs, optional sizes) into the run configuration every task receives,
// with defaults that fit the machine and one-line errors that name the flag at fault.
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { ModelError, UsageError } from '../errors.js';
import { normalizeStorageUri, splitManifestUri } from '../storage/index.js';
import { DEFAULT_COMPUTE_BACKEND, computeBackend, type ThreadLimit } from '../compute/index.js';
import { DEFAULT_RETRY, type RetryPolicy } from './definition.js';
import { checkAggregationRequest } from './aggregation/request.js';
import { parseGpuCount } from '../inference/options.js';
import { MAX_LANES, parseDeviceChoice, type GpuCount } from '../runtime/devices.js';
import { CONTRACT_VERSION, aggregationOf, runIdSchema, type AggregationConfig, type FmiAggregationChannel, type RunConfig } from './contracts.js';

export const DEFAULT_BATCH_SIZE = 256;
export const DEFAULT_TOLERATED_FAILURE_PERCENTAGE = 50;
/** Longest an FMI rank waits for the others after its own inference; past it the run falls back to storage. */
export const DEFAULT_FMI_TIMEOUT_S = 60;

export interface RunRequest {
  /** Data set directory, manifest.json path, or s3://bucket/prefix[/manifest.json]. */
  data: string;
  /** Model file (local path, read by every instance). */
  model: string;
  /** Results root: a directory or s3://bucket/prefix; results go to results/<run-id>/ under it. */
  out: string;
  worldSize?: number;
  concurrency?: number;
  batchSize?: number;
  threads?: number;
  memoryMb?: number;
  timeoutS?: number;
  runId?: string;
  toleratedFailurePercentage?: number;
  readAhead?: number;
  report?: boolean;
  mode?: RunConfig['mode'];
  /** How results come together: storage (default) or fmi. */
  aggregation?: 'storage' | 'fmi';
  fmiChannel?: FmiAggregationChannel | 'auto';
  fmiHint?: 'fast' | 'cheap';
  fmiTimeoutS?: number;
  /** The compute backend whose limits and defaults the figures follow (default: this machine's). */
  backend?: string;
  /** Where the ranks run the model: cpu (default), a GPU device, or auto. */
  device?: string;
  /** GPUs the instances spread over, a count or "all" (each worker slot keeps one); default 1. */
  gpus?: string | GpuCount;
  /** Sessions in flight on each instance's GPU; default: the device's. */
  sessionsPerGpu?: number;
}

/** The run's device fields: absent for a request that names no device, so such inputs stay as they were. */
function deviceFields(r: RunRequest): Pick<RunConfig, 'device' | 'gpus' | 'sessionsPerGpu'> {
  const device = r.device === undefined ? undefined : parseDeviceChoice(r.device, '--device');
  const gpus = r.gpus === undefined ? undefined : typeof r.gpus === 'number' ? parseGpuCount(String(r.gpus)) : parseGpuCount(r.gpus);
  const sessionsPerGpu = r.sessionsPerGpu === undefined ? undefined : intFlag('sessions-per-gpu', r.sessionsPerGpu, 1, MAX_LANES);
  return { ...(device !== undefined ? { device } : {}), ...(gpus !== undefined ? { gpus } : {}), ...(sessionsPerGpu !== undefined ? { sessionsPerGpu } : {}) };
}

/**
 * An FMI run needs every rank alive at once (each waits for all the others), and ranks that run the model:
 * refuse anything else before a process starts.
 */
export function checkAggregation(run: Pick<RunConfig, 'aggregation' | 'concurrency' | 'worldSize' | 'mode'>): void {
  if (aggregationOf(run).mode !== 'fmi') return;
  if (run.mode !== 'inference') throw new UsageError('--aggregation fmi gathers inference results; a no-data run has none (use --aggregation storage)');
  if (run.concurrency < run.worldSize)
    throw new UsageError(`--aggregation fmi needs every rank running at once: --concurrency ${run.concurrency} is below --world-size ${run.worldSize}; raise --concurrency to ${run.worldSize} or use --aggregation storage`);
}

function aggregationConfig(r: RunRequest): AggregationConfig | undefined {
  // The same check as the flag text gets before anything slow starts, for callers that skip the CLI.
  const { aggregation, fmiChannel, fmiHint, fmiTimeoutS } = checkAggregationRequest(r);
  // Absent means storage: inputs stay exactly as they were before the field existed.
  if (aggregation !== 'fmi') return undefined;
  return { mode: 'fmi', channel: fmiChannel ?? 'auto', hint: fmiHint ?? 'fast', timeoutS: intFlag('fmi-timeout-s', fmiTimeoutS ?? DEFAULT_FMI_TIMEOUT_S, 1, 86_400) };
}

/** "run-20260126-104541-3fa2": sortable by time, unique enough for concurrent runs. */
export function newRunId(prefix = 'run'): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${prefix}-${t}-${randomBytes(2).toString('hex')}`;
}

/** A flag's integer value within [min, max], or a UsageError naming the flag and the range. */
export function intFlag(name: string, v: number, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${v}`);
  return v;
}

/** --threads within what the instance has (a usage error saying why otherwise). */
export function threadsFlag(v: number, limit: ThreadLimit): number {
  if (!Number.isSafeInteger(v) || v < 1 || v > limit.max) throw new UsageError(`--threads must be an integer from 1 to ${limit.max} (${limit.why}), got ${v}`);
  return v;
}

/** Most retries of a rank a run may ask for: with doubling waits, more only delays a failure the run reports anyway. */
export const MAX_RETRIES = 10;
export const MAX_RETRY_INTERVAL_S = 3600;

/** The Map's retry policy from --retries and --retry-interval-s, refusing what is not a count or a wait. */
export function makeRetryPolicy(r: { retries: number; retryIntervalS: number }): RetryPolicy {
  return {
    intervalSeconds: intFlag('retry-interval-s', r.retryIntervalS, 1, MAX_RETRY_INTERVAL_S),
    backoffRate: DEFAULT_RETRY.backoffRate,
    maxAttempts: intFlag('retries', r.retries, 0, MAX_RETRIES),
  };
}

export function makeRunConfig(r: RunRequest): RunConfig {
  const cores = availableParallelism();
  const backend = computeBackend(r.backend ?? DEFAULT_COMPUTE_BACKEND);
  const { memoryMb: memory, timeoutS: timeout } = backend.limits;
  const worldSize = intFlag('world-size', r.worldSize ?? cores, 1, 100_000);
  const aggregation = aggregationConfig(r);
  // An FMI run needs every rank at once, so that is its default.
  const concurrency = intFlag('concurrency', r.concurrency ?? (aggregation ? worldSize : Math.min(worldSize, cores)), 1, 100_000);
  const memoryMb = r.memoryMb ?? memory.default;
  const threads = threadsFlag(r.threads ?? backend.threadsPerInstance({ concurrency, memoryMb }), backend.maxThreadsPerInstance({ memoryMb }));
  const runId = r.runId ?? newRunId();
  const id = runIdSchema.safeParse(runId);
  if (!id.success) throw new UsageError(`--run-id "${runId}": ${id.error.issues[0]!.message}`);
  const model = resolve(r.model);
  let isFile = false;
  try {
    isFile = statSync(model).isFile();
  } catch {
    throw new ModelError(model, 'model file not found');
  }
  if (!isFile) throw new ModelError(model, 'not a regular file');
  const { root, manifestKey } = splitManifestUri(r.data, (p) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  });
  const run: RunConfig = {
    schemaVersion: CONTRACT_VERSION,
    runId,
    mode: r.mode ?? 'inference',
    data: { uri: root, manifestKey },
    results: { uri: normalizeStorageUri(r.out) },
    model: { path: model },
    worldSize,
    concurrency,
    batchSize: intFlag('batch-size', r.batchSize ?? DEFAULT_BATCH_SIZE, 1, 65_536),
    threads,
    memoryMb: intFlag('memory-mb', r.memoryMb ?? memory.default, memory.min, memory.max),
    timeoutS: intFlag('timeout-s', r.timeoutS ?? timeout.default, timeout.min, timeout.max),
    readAhead: intFlag('read-ahead', r.readAhead ?? 1, 0, 16),
    toleratedFailurePercentage: intFlag('tolerated-failure-percent', r.toleratedFailurePercentage ?? DEFAULT_TOLERATED_FAILURE_PERCENTAGE, 0, 100),
    report: r.report ?? true,
    submittedAt: new Date().toISOString(),
    ...(aggregation ? { aggregation } : {}),
    ...deviceFields(r),
  };
  checkAggregation(run);
  return run;
}
