// The run as one Amazon States Language state machine: Initialize -> RunRanks (Map over ranks) -> Summarize.
// The same JSON runs on AWS Step Functions (Lambda ARNs) and locally under aws-local-stepfunctions (the
// task resources are overridden there), so it only uses features both accept.
import { createRequire } from 'node:module';
import { UsageError } from '../errors.js';

type AslValidator = (definition: unknown, opts?: { checkArn?: boolean; checkPaths?: boolean }) => { isValid: boolean; errorsText: (separator?: string) => string };
// asl-validator is CommonJS without type declarations.
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

/** State names; the local engine overrides tasks by these names. */
export const STATE = {
  initialize: 'Initialize',
  ranks: 'RunRanks',
  rank: 'RunRank',
  rankFailed: 'RankFailed',
  summarize: 'Summarize',
} as const;

/**
 * Errors worth another attempt: the instance died or the platform hiccupped. Data and model errors are
 * deterministic and would fail again, so they are not retried. Names follow what Lambda reports.
 */
export const TRANSIENT_ERRORS = [
  'Runtime.ExitError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'UnavailableError',
] as const;

export interface RetryPolicy {
  intervalSeconds: number;
  backoffRate: number;
  /** Retries after the first attempt. */
  maxAttempts: number;
  maxDelaySeconds?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { intervalSeconds: 1, backoffRate: 2, maxAttempts: 2, maxDelaySeconds: 30 };

export interface DefinitionParams {
  initializeArn: string;
  rankArn: string;
  summarizeArn: string;
  /** Ranks running at once (Map MaxConcurrency; 0 would mean unlimited on AWS, so it must be >= 1). */
  maxConcurrency: number;
  /** Per-invocation limit of a rank, seconds. */
  rankTimeoutSeconds: number;
  toleratedFailurePercentage: number;
  retry?: RetryPolicy;
  /** Seconds allowed for Initialize and Summarize. */
  controlTimeoutSeconds?: number;
}

export type AslDefinition = Record<string, unknown> & { StartAt: string; States: Record<string, Record<string, unknown>> };

function checkParams(p: DefinitionParams): void {
  const posInt = (name: string, v: number, min = 1): void => {
    if (!Number.isSafeInteger(v) || v < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  posInt('max concurrency', p.maxConcurrency);
  posInt('rank timeout (seconds)', p.rankTimeoutSeconds);
  if (!Number.isSafeInteger(p.toleratedFailurePercentage) || p.toleratedFailurePercentage < 0 || p.toleratedFailurePercentage > 100)
    throw new UsageError(`tolerated failure percentage must be an integer from 0 to 100, got ${p.toleratedFailurePercentage}`);
  const r = p.retry ?? DEFAULT_RETRY;
  posInt('retry interval (seconds)', r.intervalSeconds);
  posInt('retry attempts', r.maxAttempts, 0);
  if (!(r.backoffRate >= 1)) throw new UsageError(`retry backoff rate must be >= 1, got ${r.backoffRate}`);
}

/** Build the definition. Payloads stay small (rank numbers and object keys) so any world size fits AWS limits. */
export function buildDefinition(p: DefinitionParams): AslDefinition {
  checkParams(p);
  const r = p.retry ?? DEFAULT_RETRY;
  const control = p.controlTimeoutSeconds ?? 900;
  const transientRetry = {
    ErrorEquals: [...TRANSIENT_ERRORS],
    IntervalSeconds: r.intervalSeconds,
    BackoffRate: r.backoffRate,
    MaxAttempts: r.maxAttempts,
    ...(r.maxDelaySeconds !== undefined ? { MaxDelaySeconds: r.maxDelaySeconds } : {}),
  };
  return {
    Comment: 'CAI: AstroMAE redshift inference over data partitions, one function instance per rank',
    StartAt: STATE.initialize,
    States: {
      [STATE.initialize]: {
        Type: 'Task',
        Comment: 'Plan: assign partitions to ranks balanced by bytes; skip ranks a previous attempt finished',
        Resource: p.initializeArn,
        Parameters: { 'run.$': '$.run' },
        ResultPath: '$.plan',
        TimeoutSeconds: control,
        Retry: [transientRetry],
        Next: STATE.ranks,
      },
      [STATE.ranks]: {
        Type: 'Map',
        Comment: 'One child execution per rank; a failed rank is recorded, not fatal, so the others finish',
        ItemsPath: '$.plan.pending',
        ItemSelector: { 'run.$': '$.run', 'planKey.$': '$.plan.planKey', 'rank.$': '$$.Map.Item.Value.rank' },
        MaxConcurrency: p.maxConcurrency,
        ToleratedFailurePercentage: p.toleratedFailurePercentage,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: STATE.rank,
          States: {
            [STATE.rank]: {
              Type: 'Task',
              Resource: p.rankArn,
              TimeoutSeconds: p.rankTimeoutSeconds,
              Retry: [transientRetry],
              Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: STATE.rankFailed }],
              End: true,
            },
            [STATE.rankFailed]: {
              Type: 'Pass',
              Parameters: { 'rank.$': '$.rank', status: 'failed', 'error.$': '$.failure.Error', 'cause.$': '$.failure.Cause' },
              End: true,
            },
          },
        },
        ResultPath: '$.outcomes',
        Next: STATE.summarize,
      },
      [STATE.summarize]: {
        Type: 'Task',
        Comment: 'Merge rank predictions, check every sample is accounted for once, write summary.json',
        Resource: p.summarizeArn,
        Parameters: { 'run.$': '$.run', 'plan.$': '$.plan', 'outcomes.$': '$.outcomes' },
        TimeoutSeconds: control,
        Retry: [transientRetry],
        End: true,
      },
    },
  };
}

export interface ValidationResult {
  valid: boolean;
  errors: string[];
}

/** Validate with asl-validator (schema, ARNs, JSONPaths). */
export function validateDefinition(def: unknown): ValidationResult {
  const { isValid, errorsText } = aslValidator(def, { checkArn: true, checkPaths: true });
  return { valid: isValid, errors: isValid ? [] : errorsText('\n').split('\n').filter(Boolean) };
}

/** ARNs for a local run; they only need to look like Lambda ARNs, the local engine never calls them. */
export function localArns(prefix = 'cai'): Pick<DefinitionParams, 'initializeArn' | 'rankArn' | 'summarizeArn'> {
  const arn = (name: string): string => `arn:aws:lambda:us-east-1:000000000000:function:${prefix}-${name}`;
  return { initializeArn: arn('initialize'), rankArn: arn('rank'), summarizeArn: arn('summarize') };
}
