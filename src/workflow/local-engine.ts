// The embedded engine: runs the run's ASL definition with aws-local-stepfunctions on this machine.
// Initialize and Summarize run in this process; each rank, and the report, runs as an invocation on the
// engine of a compute backend taken from the registry (worker processes that behave like function
// instances, by default). Retry, Catch, MaxConcurrency and timeouts come from the definition itself.
// For an FMI run it also resolves the channel, starts what the channel needs for the run's lifetime and
// hands the instances the run's secret through their environment.
//
// The coordinator holds the run's lock (run-lock.ts) for the whole execution, and stops the execution,
// leaving the run resumable, when it is told to (a signal), when a rank's results cannot be written (a full
// or read-only results location), or when another coordinator has taken the run over.
import '../util/promise-with-resolvers.js';
import { StateMachine, ExecutionError } from 'aws-local-stepfunctions';
import { CaiError, ExitCode, StorageWriteError, UsageError } from '../errors.js';
import { readManifest } from '../data/dataset.js';
import { debugEnabled } from '../fmi/policy/policy.js';
import { openStorage } from '../storage/index.js';
import { DEFAULT_COMPUTE_BACKEND, invocationBackend, type InvocationEnd, type InvocationEngine, type InvocationStart } from '../compute/index.js';
import { buildDefinition, localArns, STATE, type AslDefinition, type RetryPolicy } from './definition.js';
import {
  aggregationOf,
  parseContract,
  rankOutcomeSchema,
  reportOutputSchema,
  runConfigSchema,
  summarizeOutputSchema,
  type Plan,
  type PlanRef,
  type RankOutcome,
  type ReportOutput,
  type RunConfig,
  type Summary,
  type SummarizeOutput,
} from './contracts.js';
import { checkAggregation } from './run-config.js';
import type { AggregationServices } from './aggregation/services.js';
import { initialize } from './initialize.js';
import { summarize } from './summarize.js';
import type { InvocationRecord } from './summary/inputs.js';
import { readSummary } from './summary/store.js';
import type { RankProgress } from './rank-handler.js';
import { DEFAULT_LEASE_S, RunLockLostError, acquireRunLock, type RunLock } from './run-lock.js';

/** Seconds the state machine allows a rank beyond the instance's own timeout, for the instance to start. */
export const START_GRACE_S = 30;

export interface RunProgress {
  phase: 'initialize' | 'ranks' | 'summarize' | 'report' | 'done';
  ranks: number;
  running: number;
  done: number;
  failed: number;
  reused: number;
  retries: number;
  samples: number;
  samplesDone: number;
  samplesPerS: number | null;
  etaS: number | null;
  elapsedS: number;
}

export interface LocalRunOptions {
  run: RunConfig;
  retry?: RetryPolicy;
  /** Wait between retries in ms instead of the definition's backoff (the definition keeps its values). */
  retryDelayMs?: number;
  /** The compute backend the invocations run on, by its registry name (default: local-processes). */
  backend?: string;
  /** An engine to use (kept open afterwards), e.g. to time warm runs; its figures must match the run's. */
  engine?: InvocationEngine;
  /** Environment of the instances (default: this process's). */
  env?: NodeJS.ProcessEnv;
  onProgress?: (p: RunProgress) => void;
  /** Redis for an FMI run over the redis channel (default: $CAI_REDIS_URL of `env`, else of this process). */
  redisUrl?: string;
  /** A rank invocation started on an instance. */
  onRankStart?: (e: InvocationStart & { rank: number }) => void;
  /** A running rank reported progress. */
  onRankProgress?: (p: RankProgress) => void;
  /**
   * Stop the run: running ranks are stopped, nothing more is written and the run stays resumable. The
   * promise rejects with the signal's reason when it is an Error (an InterruptedError from the CLI).
   */
  signal?: AbortSignal;
  /** Lease of the run lock for coordinators on other hosts, seconds (default run-lock.ts's). */
  lockLeaseS?: number;
}

export interface LocalRunResult {
  summary: Summary;
  /** The execution's output: Summarize's, or the Report task's when the run asked for a report. */
  output: SummarizeOutput | ReportOutput;
  definition: AslDefinition;
  plan: Plan;
  /** States entered, counted from the execution's event log. */
  stateTransitions: number;
  wallMs: number;
}

const rankOfLabel = (label?: string): number => Number(/^rank (\d+)$/.exec(label ?? '')?.[1] ?? -1);

const FMI_NEEDS_OWN_POOL = 'fmi aggregation runs on the engine\'s own worker pool: the run\'s shared secret reaches the instances through their environment when they start';

/**
 * An FMI run's channel, resolved (the policy answers `auto`) and recorded in the run input, and the services
 * it needs, started. Storage runs pass through.
 */
async function prepareAggregation(input: RunConfig, options: LocalRunOptions): Promise<{ run: RunConfig; services?: AggregationServices }> {
  const agg = aggregationOf(input);
  if (agg.mode === 'storage') return { run: input };
  checkAggregation(input);
  if (options.engine) throw new UsageError(FMI_NEEDS_OWN_POOL);
  const env = options.env ?? process.env;
  const redisUrl = options.redisUrl ?? env.CAI_REDIS_URL ?? process.env.CAI_REDIS_URL;
  let chosen = agg.chosen;
  if (!chosen) {
    const { chooseAggregationChannel } = await import('./aggregation/choose-channel.js');
    const { manifest } = await readManifest(openStorage(input.data.uri), input.data.manifestKey);
    const choice = chooseAggregationChannel({
      requested: agg.channel,
      hint: agg.hint,
      worldSize: input.worldSize,
      samples: manifest.samples,
      partitions: manifest.partitions.length,
      labelled: manifest.labelled,
      available: { redis: Boolean(redisUrl), s3: openStorage(input.results.uri).kind === 's3' },
    });
    chosen = { channel: choice.channel, gatherBytesPerRank: choice.gatherBytesPerRank, reason: choice.reason };
  }
  const run: RunConfig = { ...input, aggregation: { ...agg, chosen } };
  const { startAggregationServices } = await import('./aggregation/services.js');
  const services = await startAggregationServices(run, chosen.channel, { redisUrl });
  if (debugEnabled()) process.stderr.write(`fmi aggregation: run ${run.runId} gathers over ${chosen.channel} (${services.describe}); ${chosen.reason}\n`);
  return { run, services };
}

/**
 * What stops a run early: a signal, or a rank error that no other rank could do better on (StorageWriteError,
 * RunLockLostError, matched by name as the instances report them). The first reason wins; the execution is
 * aborted once it exists.
 */
class Halt {
  reason: Error | undefined;
  private abortExecution: (() => void) | undefined;
  stop(reason: Error): void {
    this.reason ??= reason;
    this.abortExecution?.();
  }
  attach(abort: () => void): void {
    this.abortExecution = abort;
    if (this.reason) abort();
  }
}

/** A refused results write as the run ends with it: one line, the path at fault, and that a rerun resumes. */
function resumableWriteFailure(message: string, runId: string, cause: unknown): CaiError {
  return new CaiError(`${message}; run ${runId} stopped and can be resumed: rerun the same command once the results location is writable`, ExitCode.unavailable, { cause });
}

export async function runLocalWorkflow(options: LocalRunOptions): Promise<LocalRunResult> {
  const t0 = performance.now();
  const parsed = parseContract(runConfigSchema, JSON.stringify(options.run), '(run configuration)');
  const halt = new Halt();
  const onAbort = (): void => {
    const why = options.signal?.reason;
    halt.stop(why instanceof Error ? why : new CaiError(`run ${parsed.runId} was stopped`));
  };
  // What can be refused without touching storage is refused before the lock is taken.
  checkAggregation(parsed);
  if (options.engine && aggregationOf(parsed).mode === 'fmi') throw new UsageError(FMI_NEEDS_OWN_POOL);
  const lock = await acquireRunLock(openStorage(parsed.results.uri), parsed.runId, { leaseS: options.lockLeaseS ?? DEFAULT_LEASE_S });
  const renewal = setInterval(() => {
    lock.renew().catch((e: unknown) => {
      // A renewal that could not be written (a full disk) keeps the lock as it was; a lost lock stops the run.
      if (e instanceof RunLockLostError) halt.stop(e);
    });
  }, (lock.record.leaseS * 1000) / 3);
  renewal.unref();
  try {
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (halt.reason) throw halt.reason;
    const { run, services } = await prepareAggregation({ ...parsed, lock: { token: lock.token } }, options);
    // Initialize names the FMI attempt; afterwards its leftover frames (if any) are removed with it.
    const attempt: { id?: string } = {};
    try {
      return await runPrepared(options, run, t0, services?.env, attempt, halt);
    } finally {
      await services?.stop(attempt.id);
    }
  } finally {
    clearInterval(renewal);
    options.signal?.removeEventListener('abort', onAbort);
    await releaseQuietly(lock);
  }
}

/** Give the lock back; where that fails (a read-only file system) the next coordinator finds it stale. */
async function releaseQuietly(lock: RunLock): Promise<void> {
  await lock.release().catch(() => undefined);
}

/** The engine given, checked against the run, or one opened from the registry for this run. */
async function engineFor(options: LocalRunOptions, run: RunConfig, env: NodeJS.ProcessEnv | undefined): Promise<InvocationEngine> {
  if (!options.engine) return invocationBackend(options.backend ?? DEFAULT_COMPUTE_BACKEND).open({ concurrency: run.concurrency, memoryMb: run.memoryMb, timeoutS: run.timeoutS, ...(env ? { env } : {}) });
  const f = options.engine.figures;
  if (f.concurrency !== run.concurrency || f.memoryMb !== run.memoryMb || f.timeoutS !== run.timeoutS) throw new CaiError('the worker pool given to the run has different concurrency, memory or timeout than the run');
  return options.engine;
}

async function runPrepared(options: LocalRunOptions, run: RunConfig, t0: number, instanceEnv: Record<string, string> | undefined, attempt: { id?: string }, halt: Halt): Promise<LocalRunResult> {
  // The definition is built for this run: with the Report task when the run wants a report, else ending at Summarize.
  const withReport = run.report && run.mode === 'inference';
  const { reportArn, ...arns } = localArns();
  const definition = buildDefinition({
    ...arns,
    ...(withReport ? { reportArn, report: 'always' as const } : {}),
    maxConcurrency: run.concurrency,
    rankTimeoutSeconds: run.timeoutS + START_GRACE_S,
    toleratedFailurePercentage: run.toleratedFailurePercentage,
    retry: options.retry,
  });
  const env = instanceEnv ? { ...(options.env ?? process.env), ...instanceEnv } : options.env;
  const engine = await engineFor(options, run, env);
  // The instances the Map will use start now, and open the model, while Initialize plans (an inference
  // run only: the no-data experiment times process starts as part of the fan-out).
  if (run.mode === 'inference') engine.prestart?.(Math.min(run.concurrency, run.worldSize), { task: 'rank', event: { run } });

  let plan: Plan | undefined;
  let ref: PlanRef | undefined;
  let summary: Summary | undefined;
  const records: InvocationRecord[] = [];
  const progress: RunProgress = { phase: 'initialize', ranks: run.worldSize, running: 0, done: 0, failed: 0, reused: 0, retries: 0, samples: 0, samplesDone: 0, samplesPerS: null, etaS: null, elapsedS: 0 };
  const rankDone = new Map<number, number>();
  let ranksStartedAt = 0;
  let reusedSamples = 0;
  const publish = (): void => {
    if (!options.onProgress) return;
    const now = performance.now();
    progress.elapsedS = (now - t0) / 1000;
    let live = 0;
    for (const v of rankDone.values()) live += v;
    progress.samplesDone = reusedSamples + live;
    const secs = ranksStartedAt ? (now - ranksStartedAt) / 1000 : 0;
    progress.samplesPerS = secs > 0.5 && live > 0 ? live / secs : null;
    progress.etaS = progress.samplesPerS ? (progress.samples - progress.samplesDone) / progress.samplesPerS : null;
    options.onProgress({ ...progress });
  };

  // Only rank invocations count as the Map's (the report runs on the same engine afterwards).
  const offStart = engine.onStart((s: InvocationStart) => {
    const rank = rankOfLabel(s.label);
    if (rank < 0) return;
    progress.running++;
    rankDone.set(rank, 0);
    options.onRankStart?.({ ...s, rank });
    publish();
  });
  const offEnd = engine.onEnd((e: InvocationEnd) => {
    const rank = rankOfLabel(e.label);
    if (rank < 0) return;
    progress.running--;
    records.push({ rank, durationMs: e.durationMs, cold: e.cold, outcome: e.outcome });
    if (e.outcome === 'ok') {
      progress.done++;
      rankDone.set(rank, plan?.ranks[rank]?.samples ?? 0);
    } else rankDone.set(rank, 0);
    publish();
  });

  publish();
  const sm = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const delay = options.retryDelayMs;
  const delays = delay !== undefined ? { [STATE.initialize]: delay, [STATE.rank]: delay, [STATE.summarize]: delay, [STATE.report]: delay } : undefined;
  let transitions = 0;
  // A task that runs in this process is waited for before the run ends, so nothing writes after the lock is given back.
  let inProcess: Promise<unknown> = Promise.resolve();
  const here = <T>(work: () => Promise<T>): Promise<T> => {
    const p = work();
    inProcess = p.catch(() => undefined);
    return p;
  };
  const execution = sm.run({ run } as never, {
    overrides: {
      taskResourceLocalHandlers: {
        [STATE.initialize]: async (input) => {
          const out = await here(() => initialize(input));
          plan = out.plan;
          ref = out.ref;
          attempt.id = ref.aggregation?.attempt;
          progress.phase = 'ranks';
          progress.reused = ref.reused.length;
          progress.samples = plan.manifest.samples;
          reusedSamples = ref.reused.reduce((s, r) => s + (plan!.ranks[r]?.samples ?? 0), 0);
          ranksStartedAt = performance.now();
          publish();
          return out.ref as never;
        },
        [STATE.rank]: async (event) => {
          const rank = (event as { rank: number }).rank;
          if (halt.reason) throw halt.reason;
          let outcome: RankOutcome;
          try {
            outcome = await engine.invoke<RankOutcome>(event, {
              task: 'rank',
              label: `rank ${rank}`,
              onProgress: (d: unknown) => {
                const p = d as RankProgress;
                if (typeof p?.samplesDone !== 'number') return;
                rankDone.set(rank, p.samplesDone);
                options.onRankProgress?.(p);
                publish();
              },
            });
          } catch (e) {
            if (e instanceof Error && e.name === StorageWriteError.name) halt.stop(resumableWriteFailure(e.message, run.runId, e));
            else if (e instanceof Error && e.name === RunLockLostError.name) halt.stop(new CaiError(e.message, ExitCode.unavailable, { cause: e }));
            throw e;
          }
          return parseContract(rankOutcomeSchema, JSON.stringify(outcome), `rank ${rank} outcome`) as never;
        },
        [STATE.summarize]: async (input) => {
          progress.phase = 'summarize';
          publish();
          summary = await here(() => summarize(input, { backend: engine.backend, invocations: records }));
          return { runId: summary.runId, status: summary.status, summary: summary.outputs.summary } as never;
        },
        [STATE.report]: async (input) => {
          progress.phase = 'report';
          publish();
          return (await engine.invoke(input, { task: 'report', label: 'report' })) as never;
        },
      },
      ...(delays ? { retryIntervalOverrides: delays } : {}),
    },
  });
  halt.attach(() => execution.abort());
  const events = (async () => {
    for await (const ev of execution.eventLogs) {
      if (ev.type === 'StateEntered') transitions++;
      else if (ev.type === 'StateRetried') progress.retries++;
      else if (ev.type === 'StateCaught' && ev.state.name === STATE.rank) {
        progress.failed++;
        publish();
      }
    }
  })();

  let result: unknown;
  try {
    result = await execution.result;
  } catch (e) {
    throw halt.reason ?? unwrap(e, run.runId);
  } finally {
    offStart();
    offEnd();
    // Stopping the instances ends any rank still running; a stopped run's in-process task finishes its write.
    if (!options.engine) await engine.close();
    await inProcess;
    await Promise.race([events, new Promise((r) => setTimeout(r, 100))]);
  }
  if (!summary || !plan) throw new CaiError('the workflow ended without a summary');
  const output = parseContract(withReport ? reportOutputSchema : summarizeOutputSchema, JSON.stringify(result), '(execution output)');
  // A failed report is recorded, not fatal: its task takes the page out of summary.json where it can, so
  // the summary returned is the one stored.
  if ('report' in output && output.report === null) summary = await readSummary(openStorage(run.results.uri), run.runId);
  progress.phase = 'done';
  publish();
  return { summary, output, definition, plan, stateTransitions: transitions, wallMs: performance.now() - t0 };
}

/** The error that failed the execution, as the project's own error when it is one. */
function unwrap(e: unknown, runId: string): Error {
  const cause = e instanceof ExecutionError ? (e.cause as unknown) : e;
  if (cause instanceof StorageWriteError) return resumableWriteFailure(cause.message, runId, cause);
  if (cause instanceof CaiError) return cause;
  const err = cause instanceof Error ? cause : new Error(String(cause));
  const code = err.name === 'States.Timeout' ? ExitCode.timeout : ExitCode.internal;
  return new CaiError(`workflow failed: ${err.name}: ${err.message}`, code, { cause: err });
}
