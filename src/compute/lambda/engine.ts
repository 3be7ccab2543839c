// The Lambda backend's engine: AWS Step Functions runs the whole state machine over the deployed functions,
// so this engine starts an execution and follows it to the end. Thin on purpose: the state machine and the
// functions do the work; this only starts an execution, reads its status and the Map's item counts.
// Throttled calls (ThrottlingException, TooManyRequestsException, ...) back off with jitter through the
// SDK's own retry strategy (util/aws-retry.ts) before they count as a failure.
import type { SFNClient } from '@aws-sdk/client-sfn';
import { CaiError, DeadlineError, ExitCode, UnavailableError, UsageError } from '../../errors.js';
import { awsRetryConfig, retriesText } from '../../util/aws-retry.js';
import type { RunConfig } from '../../workflow/contracts.js';
import type { ExecutionEngine } from '../backend.js';
import { LAMBDA_BACKEND_NAME } from './config.js';

export interface ExecutionRequest {
  stateMachineArn: string;
  /** Unique per execution: a rerun of a run id (to resume it) is a new execution. */
  name: string;
  input: { run: RunConfig };
}

export interface StateMachineArnParts {
  partition: string;
  region: string;
  account: string;
  name: string;
}

export function parseStateMachineArn(arn: string): StateMachineArnParts {
  const m = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]{1,80})$/.exec(arn);
  if (!m) throw new UsageError(`--state-machine-arn "${arn}" is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)`);
  return { partition: m[1]!, region: m[2]!, account: m[3]!, name: m[4]! };
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

/** The Map's items (ranks) by state; failed ranks are caught into outcomes, so they count as succeeded items. */
export interface RankCounts {
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
}

export interface ExecutionState {
  executionArn: string;
  status: ExecutionStatus;
  startDate?: Date;
  stopDate?: Date;
  /** The execution output (Summarize's result) once it succeeded. */
  output?: unknown;
  error?: string;
  cause?: string;
  ranks?: RankCounts;
}

/** The StartExecution request exactly as sent. */
export function startExecutionInput(req: ExecutionRequest): { stateMachineArn: string; name: string; input: string } {
  return { stateMachineArn: req.stateMachineArn, name: req.name, input: JSON.stringify(req.input) };
}

type Sfn = typeof import('@aws-sdk/client-sfn');

/** Client settings beyond the region: for an endpoint other than AWS's, and for tests. */
export interface StepFunctionsClientOptions {
  endpoint?: string;
  /** Attempts per call, the first included (default: util/aws-retry.ts). */
  maxAttempts?: number;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

function awsFailure(what: string, e: unknown): CaiError {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = err?.name ?? 'Error';
  const msg = (err?.message ?? String(e)).replace(/\s*\n\s*/g, ' ');
  if (name === 'ExecutionAlreadyExists') return new CaiError(`${what}: an execution with this name already exists (${msg})`, ExitCode.usage);
  if (name === 'StateMachineDoesNotExist' || name === 'InvalidArn' || name === 'InvalidName' || name === 'InvalidExecutionInput')
    return new CaiError(`${what}: ${name}: ${msg}`, ExitCode.usage);
  if (/Credentials|ExpiredToken|UnrecognizedClient|AccessDenied/i.test(name + msg)) return new CaiError(`${what}: ${name}: ${msg}`, ExitCode.usage);
  return new UnavailableError(`${what}${retriesText(e)}: ${name}: ${msg}`, { cause: e });
}

export class StepFunctionsEngine implements ExecutionEngine {
  readonly kind = 'executions' as const;
  readonly backend = LAMBDA_BACKEND_NAME;

  private constructor(
    private readonly sdk: Sfn,
    readonly client: SFNClient,
  ) {}

  /**
   * A client in the state machine's own region (credentials from the SDK's usual chain; an endpoint from
   * `client.endpoint` or $AWS_ENDPOINT_URL_SFN, as the SDK reads it).
   */
  static async forStateMachine(stateMachineArn: string, client: StepFunctionsClientOptions = {}): Promise<StepFunctionsEngine> {
    const { region } = parseStateMachineArn(stateMachineArn);
    const sdk = await import('@aws-sdk/client-sfn');
    return new StepFunctionsEngine(
      sdk,
      new sdk.SFNClient({
        region,
        ...awsRetryConfig(client.maxAttempts),
        ...(client.endpoint ? { endpoint: client.endpoint } : {}),
        ...(client.credentials ? { credentials: client.credentials } : {}),
      }),
    );
  }

  async start(req: ExecutionRequest): Promise<{ executionArn: string; startDate?: Date }> {
    try {
      const r = await this.client.send(new this.sdk.StartExecutionCommand(startExecutionInput(req)));
      if (!r.executionArn) throw new CaiError('StartExecution returned no execution ARN');
      return { executionArn: r.executionArn, ...(r.startDate ? { startDate: r.startDate } : {}) };
    } catch (e) {
      if (e instanceof CaiError) throw e;
      throw awsFailure(`starting ${req.name} on ${req.stateMachineArn}`, e);
    }
  }

  async describe(executionArn: string): Promise<ExecutionState> {
    let d;
    try {
      d = await this.client.send(new this.sdk.DescribeExecutionCommand({ executionArn }));
    } catch (e) {
      throw awsFailure(`describing ${executionArn}`, e);
    }
    const state: ExecutionState = { executionArn, status: (d.status ?? 'RUNNING') as ExecutionStatus };
    if (d.startDate) state.startDate = d.startDate;
    if (d.stopDate) state.stopDate = d.stopDate;
    if (d.error) state.error = d.error;
    if (d.cause) state.cause = d.cause;
    if (d.output) {
      try {
        state.output = JSON.parse(d.output) as unknown;
      } catch {
        state.output = d.output;
      }
    }
    const ranks = await this.rankCounts(executionArn);
    if (ranks) state.ranks = ranks;
    return state;
  }

  /** Item counts of the execution's Map Run; undefined before the Map starts (or without permission to look). */
  private async rankCounts(executionArn: string): Promise<RankCounts | undefined> {
    try {
      const runs = await this.client.send(new this.sdk.ListMapRunsCommand({ executionArn, maxResults: 1 }));
      const mapRunArn = runs.mapRuns?.[0]?.mapRunArn;
      if (!mapRunArn) return undefined;
      const m = await this.client.send(new this.sdk.DescribeMapRunCommand({ mapRunArn }));
      const c = m.itemCounts;
      if (!c) return undefined;
      return { total: c.total ?? 0, pending: c.pending ?? 0, running: c.running ?? 0, succeeded: c.succeeded ?? 0, failed: (c.failed ?? 0) + (c.timedOut ?? 0) + (c.aborted ?? 0) };
    } catch {
      return undefined;
    }
  }

  /**
   * Poll until the execution ends (or `timeoutS` passes, or `signal` aborts with its reason; either leaves the
   * execution running on AWS).
   */
  async wait(executionArn: string, polling: { intervalMs?: number; timeoutS?: number; onUpdate?: (s: ExecutionState) => void; signal?: AbortSignal } = {}): Promise<ExecutionState> {
    const interval = Math.max(200, polling.intervalMs ?? 5000);
    const deadline = polling.timeoutS ? Date.now() + polling.timeoutS * 1000 : Infinity;
    const { signal } = polling;
    for (;;) {
      signal?.throwIfAborted();
      const s = await this.describe(executionArn);
      polling.onUpdate?.(s);
      if (s.status !== 'RUNNING') return s;
      if (Date.now() + interval > deadline) throw new DeadlineError(`waiting for ${executionArn} (still running on AWS)`, ['the execution to finish']);
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, interval);
        function done(): void {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
