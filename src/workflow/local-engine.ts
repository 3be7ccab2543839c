// The embedded engine: runs the run's ASL definition with aws-local-stepfunctions on this machine.
// Initialize and Summarize run in this process; each rank runs on a pool of worker processes that behave
// like function instances. Retry, Catch, MaxConcurrency and timeouts come from the definition itself.
// For an FMI run it also resolves the channel, starts what the channel needs for the run's lifetime and
// hands the instances the run's secret through their environment.
import './promise-polyfill.js';
import { StateMachine, ExecutionError } from 'aws-local-stepfunctions';
import { CaiError, ExitCode, UsageError } from '../errors.js';
import { openDataset } from '../data/dataset.js';
import { debugEnabled } from '../fmi/policy/policy.js';
import { openStorage, S3Storage } from '../storage/index.js';
import { LocalProcessPool, type InvocationEnd, type InvocationStart } from '../compute/local-processes/pool.js';
import { buildDefinition, localArns, STATE, type AslDefinition, type RetryPolicy } from './definition.js';
import { aggregationOf, parseContract, rankOutcomeSchema, runConfigSchema, type Plan, type PlanRef, type RankOutcome, type RunConfig, type Summary } from './contracts.js';
import { checkAggregation } from './run-config.js';
import type { AggregationServices } from './aggregation/services.js';
import { initialize } from './initialize.js';
import { summarize, type InvocationRecord } from './summarize.js';
import type { RankProgress } from './rank-handler.js';

/** Seconds the state machine allows a rank beyond the instance's own timeout, for the instance to start. */
export const START_GRACE_S = 30;
export const BACKEND_NAME = 'local-processes';

export interface RunProgress {
  phase: 'initialize' | 'ranks' | 'summarize' | 'done';
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
  /** A pool to use (kept open afterwards), e.g. to time warm runs; its limits must match the run's. */
  pool?: LocalProcessPool;
  /** Environment of the worker processes (default: this process's). */
  env?: NodeJS.ProcessEnv;
  onProgress?: (p: RunProgress) => void;
  /** Redis for an FMI run over the redis channel (default: $CAI_REDIS_URL of `env`, else of this process). */
  redisUrl?: string;
  /** A rank invocation started on an instance. */
  onRankStart?: (e: InvocationStart & { rank: number }) => void;
  /** A running rank reported progress. */
  onRankProgress?: (p: RankProgress) => void;
}

export interface LocalRunResult {
  summary: Summary;
  definition: AslDefinition;
  plan: Plan;
  /** States entered, counted from the execution's event log. */
  stateTransitions: number;
  wallMs: number;
}

const rankOfLabel = (label?: string): number => Number(/^rank (\d+)$/.exec(label ?? '')?.[1] ?? -1);

/**
 * An FMI run's channel, resolved (the policy answers `auto`) and recorded in the run input, and the services
 * it needs, started. Storage runs pass through.
 */
async function prepareAggregation(input: RunConfig, o: LocalRunOptions): Promise<{ run: RunConfig; services?: AggregationServices }> {
  const agg = aggregationOf(input);
  if (agg.mode === 'storage') return { run: input };
  checkAggregation(input);
  if (o.pool) throw new UsageError('fmi aggregation runs on the engine\'s own worker pool: the run\'s shared secret reaches the instances through their environment when they start');
  const env = o.env ?? process.env;
  const redisUrl = o.redisUrl ?? env.CAI_REDIS_URL ?? process.env.CAI_REDIS_URL;
  let chosen = agg.chosen;
  if (!chosen) {
    const { chooseAggregationChannel } = await import('./aggregation/choose-channel.js');
    const { manifest } = await openDataset(openStorage(input.data.uri), input.data.manifestKey);
    const choice = chooseAggregationChannel({
      requested: agg.channel,
      hint: agg.hint,
      worldSize: input.worldSize,
      samples: manifest.samples,
      partitions: manifest.partitions.length,
      labelled: manifest.labelled,
      available: { redis: Boolean(redisUrl), s3: openStorage(input.results.uri) instanceof S3Storage },
    });
    chosen = { channel: choice.channel, gatherBytesPerRank: choice.gatherBytesPerRank, reason: choice.reason };
  }
  const run: RunConfig = { ...input, aggregation: { ...agg, chosen } };
  const { startAggregationServices } = await import('./aggregation/services.js');
  const services = await startAggregationServices(run, chosen.channel, { redisUrl });
  if (debugEnabled()) process.stderr.write(`fmi aggregation: run ${run.runId} gathers over ${chosen.channel} (${services.describe}); ${chosen.reason}\n`);
  return { run, services };
}

export async function runLocalWorkflow(o: LocalRunOptions): Promise<LocalRunResult> {
  const t0 = performance.now();
  const { run, services } = await prepareAggregation(parseContract(runConfigSchema, JSON.stringify(o.run), '(run configuration)'), o);
  // Initialize names the FMI attempt; afterwards its leftover frames (if any) are removed with it.
  const attempt: { id?: string } = {};
  try {
    return await runPrepared(o, run, t0, services?.env, attempt);
  } finally {
    await services?.stop(attempt.id);
  }
}

async function runPrepared(o: LocalRunOptions, run: RunConfig, t0: number, instanceEnv: Record<string, string> | undefined, attempt: { id?: string }): Promise<LocalRunResult> {
  const definition = buildDefinition({
    ...localArns(),
    maxConcurrency: run.concurrency,
    rankTimeoutSeconds: run.timeoutS + START_GRACE_S,
    toleratedFailurePercentage: run.toleratedFailurePercentage,
    retry: o.retry,
  });
  const env = instanceEnv ? { ...(o.env ?? process.env), ...instanceEnv } : o.env;
  const pool = o.pool ?? new LocalProcessPool({ concurrency: run.concurrency, memoryMb: run.memoryMb, timeoutS: run.timeoutS, env });
  if (o.pool && (pool.config.concurrency !== run.concurrency || pool.config.memoryMb !== run.memoryMb || pool.config.timeoutS !== run.timeoutS))
    throw new CaiError('the worker pool given to the run has different concurrency, memory or timeout than the run');

  let plan: Plan | undefined;
  let ref: PlanRef | undefined;
  let summary: Summary | undefined;
  const records: InvocationRecord[] = [];
  const progress: RunProgress = { phase: 'initialize', ranks: run.worldSize, running: 0, done: 0, failed: 0, reused: 0, retries: 0, samples: 0, samplesDone: 0, samplesPerS: null, etaS: null, elapsedS: 0 };
  const rankDone = new Map<number, number>();
  let ranksStartedAt = 0;
  let reusedSamples = 0;
  const report = (): void => {
    if (!o.onProgress) return;
    const now = performance.now();
    progress.elapsedS = (now - t0) / 1000;
    let live = 0;
    for (const v of rankDone.values()) live += v;
    progress.samplesDone = reusedSamples + live;
    const secs = ranksStartedAt ? (now - ranksStartedAt) / 1000 : 0;
    progress.samplesPerS = secs > 0.5 && live > 0 ? live / secs : null;
    progress.etaS = progress.samplesPerS ? (progress.samples - progress.samplesDone) / progress.samplesPerS : null;
    o.onProgress({ ...progress });
  };

  const offStart = pool.onStart((s) => {
    const rank = rankOfLabel(s.label);
    progress.running++;
    rankDone.set(rank, 0);
    o.onRankStart?.({ ...s, rank });
    report();
  });
  const offEnd = pool.onEnd((e: InvocationEnd) => {
    const rank = rankOfLabel(e.label);
    progress.running--;
    records.push({ rank, durationMs: e.durationMs, cold: e.cold, outcome: e.outcome });
    if (e.outcome === 'ok') {
      progress.done++;
      rankDone.set(rank, plan?.ranks[rank]?.samples ?? 0);
    } else rankDone.set(rank, 0);
    report();
  });

  report();
  const sm = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const delays = o.retryDelayMs !== undefined ? { [STATE.initialize]: o.retryDelayMs, [STATE.rank]: o.retryDelayMs, [STATE.summarize]: o.retryDelayMs } : undefined;
  let transitions = 0;
  const execution = sm.run({ run } as never, {
    overrides: {
      taskResourceLocalHandlers: {
        [STATE.initialize]: async (input) => {
          const out = await initialize(input);
          plan = out.plan;
          ref = out.ref;
          attempt.id = ref.aggregation?.attempt;
          progress.phase = 'ranks';
          progress.reused = ref.reused.length;
          progress.samples = plan.manifest.samples;
          reusedSamples = ref.reused.reduce((s, r) => s + (plan!.ranks[r]?.samples ?? 0), 0);
          ranksStartedAt = performance.now();
          report();
          return out.ref as never;
        },
        [STATE.rank]: async (event) => {
          const rank = (event as { rank: number }).rank;
          const outcome = await pool.invoke<RankOutcome>(event, {
            label: `rank ${rank}`,
            onProgress: (d) => {
              const p = d as RankProgress;
              if (typeof p?.samplesDone !== 'number') return;
              rankDone.set(rank, p.samplesDone);
              o.onRankProgress?.(p);
              report();
            },
          });
          return parseContract(rankOutcomeSchema, JSON.stringify(outcome), `rank ${rank} outcome`) as never;
        },
        [STATE.summarize]: async (input) => {
          progress.phase = 'summarize';
          report();
          summary = await summarize(input, { backend: BACKEND_NAME, invocations: records });
          return { runId: summary.runId, status: summary.status, summary: summary.outputs.summary } as never;
        },
      },
      ...(delays ? { retryIntervalOverrides: delays } : {}),
    },
  });
  const events = (async () => {
    for await (const ev of execution.eventLogs) {
      if (ev.type === 'StateEntered') transitions++;
      else if (ev.type === 'StateRetried') progress.retries++;
      else if (ev.type === 'StateCaught' && ev.state.name === STATE.rank) {
        progress.failed++;
        report();
      }
    }
  })();

  try {
    await execution.result;
  } catch (e) {
    throw unwrap(e);
  } finally {
    offStart();
    offEnd();
    if (!o.pool) await pool.close();
    await Promise.race([events, new Promise((r) => setTimeout(r, 100))]);
  }
  if (!summary || !plan) throw new CaiError('the workflow ended without a summary');
  progress.phase = 'done';
  report();
  return { summary, definition, plan, stateTransitions: transitions, wallMs: performance.now() - t0 };
}

/** The error that failed the execution, as the project's own error when it is one. */
function unwrap(e: unknown): Error {
  const cause = e instanceof ExecutionError ? (e.cause as unknown) : e;
  if (cause instanceof CaiError) return cause;
  const err = cause instanceof Error ? cause : new Error(String(cause));
  const code = err.name === 'States.Timeout' ? ExitCode.timeout : ExitCode.internal;
  return new CaiError(`workflow failed: ${err.name}: ${err.message}`, code, { cause: err });
}
