// The execution input of a run on AWS: the same run object the local engine passes, with S3 locations and
// the figures of the deployed functions. Built and checked here, before anything reaches AWS.
import { randomBytes } from 'node:crypto';
import { UsageError } from '../../errors.js';
import { isS3Uri, parseS3Uri, splitManifestUri } from '../../storage/index.js';
import { CONTRACT_VERSION, runConfigSchema, runIdSchema, type RunConfig } from '../../workflow/contracts.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_TOLERATED_FAILURE_PERCENTAGE, intFlag, newRunId, threadsFlag, type RunRequest } from '../../workflow/run-config.js';
import { IMAGE_MODEL_PATH, LAMBDA_LIMITS, lambdaVcpus, maxLambdaThreads } from './config.js';
import { parseStateMachineArn, type ExecutionRequest } from './engine.js';

export { parseStateMachineArn, type ExecutionRequest, type StateMachineArnParts } from './engine.js';

/** Lambda's default concurrent executions per account and region. */
export const DEFAULT_ACCOUNT_CONCURRENCY = 1000;

/** A run request as `cai run` takes it, with S3 locations; FMI aggregation is not offered on Lambda. */
export interface AwsRunRequest
  extends Omit<RunRequest, 'model' | 'out' | 'worldSize' | 'aggregation' | 'fmiChannel' | 'fmiHint' | 'fmiTimeoutS'> {
  /** s3://bucket/prefix[/manifest.json] */
  data: string;
  /** Results root (default: the data bucket's root). */
  out?: string;
  /** s3://bucket/key.onnx, or an absolute path inside the image (default: the image's built-in model). */
  model?: string;
  worldSize: number;
  /** Memory of the deployed rank function, MB (for the cost figures). */
  memoryMb?: number;
}

function s3Flag(name: string, v: string): string {
  if (!isS3Uri(v)) throw new UsageError(`--${name} "${v}" must be an s3://bucket/prefix URI: Lambda functions read and write S3`);
  parseS3Uri(v);
  return v.replace(/\/+$/, '');
}

function modelFlag(v: string | undefined): string {
  if (v === undefined) return IMAGE_MODEL_PATH;
  if (isS3Uri(v)) {
    const { prefix } = parseS3Uri(v);
    if (!prefix) throw new UsageError(`--model "${v}" must name an object, s3://bucket/key.onnx`);
    return v;
  }
  if (v.startsWith('/')) return v;
  throw new UsageError(`--model "${v}" must be s3://bucket/key.onnx (upload a local model with: aws s3 cp ${v} s3://BUCKET/models/) or an absolute path inside the image`);
}

/** The run object for the execution input, with defaults that fit the deployed functions. */
export function makeAwsRunConfig(r: AwsRunRequest): RunConfig {
  const data = s3Flag('data', r.data);
  const { root, manifestKey } = splitManifestUri(data, () => false);
  const out = r.out !== undefined ? s3Flag('out', r.out) : `s3://${parseS3Uri(data).bucket}`;
  const worldSize = intFlag('world-size', r.worldSize, 1, 100_000);
  const { memoryMb: memoryLimits, timeoutS: timeoutLimits } = LAMBDA_LIMITS;
  const memoryMb = intFlag('memory-mb', r.memoryMb ?? memoryLimits.default, memoryLimits.min, memoryLimits.max);
  const runId = r.runId ?? newRunId();
  const id = runIdSchema.safeParse(runId);
  if (!id.success) throw new UsageError(`--run-id "${runId}": ${id.error.issues[0]!.message}`);
  const run: RunConfig = {
    schemaVersion: CONTRACT_VERSION,
    runId,
    mode: r.mode ?? 'inference',
    data: { uri: root, manifestKey },
    results: { uri: out },
    model: { path: modelFlag(r.model) },
    worldSize,
    concurrency: intFlag('concurrency', r.concurrency ?? Math.min(worldSize, DEFAULT_ACCOUNT_CONCURRENCY), 1, 100_000),
    batchSize: intFlag('batch-size', r.batchSize ?? DEFAULT_BATCH_SIZE, 1, 65_536),
    threads: threadsFlag(r.threads ?? lambdaVcpus(memoryMb), maxLambdaThreads(memoryMb)),
    memoryMb,
    timeoutS: intFlag('timeout-s', r.timeoutS ?? timeoutLimits.default, timeoutLimits.min, timeoutLimits.max),
    readAhead: intFlag('read-ahead', r.readAhead ?? 1, 0, 16),
    toleratedFailurePercentage: intFlag('tolerated-failure-percent', r.toleratedFailurePercentage ?? DEFAULT_TOLERATED_FAILURE_PERCENTAGE, 0, 100),
    report: r.report ?? true,
    submittedAt: new Date().toISOString(),
  };
  // The same schema every task parses the run with.
  return runConfigSchema.parse(run);
}

/** Execution names allow letters, digits, "-" and "_" (at most 80); a suffix keeps reruns of a run id distinct. */
export function executionName(runId: string, suffix = randomBytes(3).toString('hex')): string {
  return `${runId.replace(/[^A-Za-z0-9_-]/g, '_')}-${suffix}`.slice(0, 80);
}

export function makeExecutionRequest(stateMachineArn: string, r: AwsRunRequest): ExecutionRequest {
  parseStateMachineArn(stateMachineArn);
  const run = makeAwsRunConfig(r);
  return { stateMachineArn, name: executionName(run.runId), input: { run } };
}
