// The run as one Amazon States Language state machine: Initialize -> RunRanks (Map over ranks) -> Summarize
// -> Report. The same JSON runs on AWS Step Functions (Lambda ARNs) and locally under aws-local-stepfunctions
// (the task resources are overridden there), so it only uses features both accept.
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
  reportWanted: 'ReportWanted',
  report: 'Report',
  reportFailed: 'ReportFailed',
  skipReport: 'SkipReport',
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
  /** The Report task's function; without it the definition ends at Summarize. */
  reportArn?: string;
  /**
   * When the Report task runs: `by-input` (a Choice on the execution input's run.report and mode, for a
   * deployment that serves every run) or `always` (the definition is built for one run that wants a report).
   */
  report?: 'by-input' | 'always';
  /** Ranks running at once (Map MaxConcurrency; 0 would mean unlimited on AWS, so it must be >= 1). */
  maxConcurrency: number;
  /** Per-invocation limit of a rank, seconds. */
  rankTimeoutSeconds: number;
  toleratedFailurePercentage: number;
  retry?: RetryPolicy;
  /** Seconds allowed for Initialize, Summarize and Report. */
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
        ...(p.reportArn ? { ResultPath: '$.summary', Next: p.report === 'always' ? STATE.report : STATE.reportWanted } : { End: true }),
      },
      ...(p.reportArn ? reportStates(p.reportArn, p.report ?? 'by-input', control, transientRetry) : {}),
    },
  };
}

/**
 * Report after Summarize: its own task, whose failure is caught and recorded in the output rather than
 * failing a run whose summary is written. Without a report the output is Summarize's, as when there is no
 * Report state at all.
 */
function reportStates(arn: string, when: 'by-input' | 'always', timeoutSeconds: number, retry: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const states: Record<string, Record<string, unknown>> = {
    [STATE.report]: {
      Type: 'Task',
      Comment: 'Plots and the HTML page from summary.json, predictions.csv and the rank results, next to them',
      Resource: arn,
      Parameters: { 'run.$': '$.run', 'summary.$': '$.summary' },
      TimeoutSeconds: timeoutSeconds,
      Retry: [retry],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.reportFailure', Next: STATE.reportFailed }],
      End: true,
    },
    [STATE.reportFailed]: {
      Type: 'Pass',
      Parameters: {
        'runId.$': '$.summary.runId',
        'status.$': '$.summary.status',
        'summary.$': '$.summary.summary',
        report: null,
        reportError: { 'error.$': '$.reportFailure.Error', 'cause.$': '$.reportFailure.Cause' },
      },
      End: true,
    },
  };
  if (when === 'always') return states;
  return {
    [STATE.reportWanted]: {
      Type: 'Choice',
      Comment: 'A report when the run asks for one and has predictions to show',
      Choices: [
        {
          // Presence first: comparing a field the input lacks is an error, and And stops at the first false.
          And: [
            { Variable: '$.run.report', IsPresent: true },
            { Variable: '$.run.report', BooleanEquals: true },
            { Variable: '$.run.mode', IsPresent: true },
            { Variable: '$.run.mode', StringEquals: 'inference' },
          ],
          Next: STATE.report,
        },
      ],
      Default: STATE.skipReport,
    },
    ...states,
    [STATE.skipReport]: { Type: 'Pass', OutputPath: '$.summary', End: true },
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
export function localArns(prefix = 'cai'): Required<Pick<DefinitionParams, 'initializeArn' | 'rankArn' | 'summarizeArn' | 'reportArn'>> {
  const arn = (name: string): string => `arn:aws:lambda:us-east-1:000000000000:function:${prefix}-${name}`;
  return { initializeArn: arn('initialize'), rankArn: arn('rank'), summarizeArn: arn('summarize'), reportArn: arn('report') };
}
