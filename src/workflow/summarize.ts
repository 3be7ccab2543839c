// The Summarize task: read every rank's result back (or, for an FMI run, pick up the summary the root rank
// wrote from what the ranks gathered to it) and write the run's summary: merged predictions in manifest
// partition order, the accounting of every sample, accuracy, performance, invocations and cost
// (summary/write.ts and its parts). The report is the next state's work (report/report-task.ts).
import { DataError } from '../errors.js';
import { describeKey } from '../data/dataset.js';
import { openStorage, type Storage } from '../storage/index.js';
import { aggregationOf, parseContract, resultKeys, summarizeInputSchema, type AggregationConfig, type Plan, type PlanRef, type RankOutcome, type RunConfig, type Summary, type SummarizeInput } from './contracts.js';
import { readPlan } from './plan-file.js';
import { readRankResult } from './rank-results.js';
import { guardResults } from './run-lock.js';
import { runCost } from './summary/cost.js';
import type { RankRow, SummarizeExtras } from './summary/inputs.js';
import { invocationFigures } from './summary/performance.js';
import { putSummary, readSummary } from './summary/store.js';
import { writeSummary } from './summary/write.js';

/** A failure cause as text: Lambda puts a JSON object with errorMessage in Cause. */
export function causeText(cause: unknown): string {
  if (typeof cause === 'string') {
    try {
      const j = JSON.parse(cause) as { errorMessage?: unknown };
      if (j && typeof j.errorMessage === 'string') return j.errorMessage;
    } catch {
      // plain text
    }
    return cause;
  }
  if (cause && typeof cause === 'object' && typeof (cause as { errorMessage?: unknown }).errorMessage === 'string') return (cause as { errorMessage: string }).errorMessage;
  return cause === undefined ? '' : JSON.stringify(cause);
}

export async function summarize(input: unknown, extras: SummarizeExtras = {}): Promise<Summary> {
  const t0 = performance.now();
  const si: SummarizeInput = parseContract(summarizeInputSchema, JSON.stringify(input), '(summarize input)');
  const { run, plan: ref } = si;
  const results = guardResults(openStorage(run.results.uri), run);
  let aggregation: Summary['aggregation'];
  if (aggregationOf(run).mode === 'fmi') {
    const picked = await pickUpAggregated(results, run, ref, si.outcomes, extras, t0);
    if ('summary' in picked) return picked.summary;
    aggregation = picked.fallback;
  }
  const plan: Plan = await readPlan(results, run.runId, ref.planKey);
  const rows = await loadRows(results, run, plan, ref, si.outcomes);
  return writeSummary({ run, plan, ranThisTime: ref.pending.length, reused: ref.reused, initializeMs: ref.initializeMs, rows, extras, t0, aggregation });
}

/** Every rank of the plan read back from storage, or the failure that left it without results. */
async function loadRows(results: Storage, run: RunConfig, plan: Plan, ref: PlanRef, outcomeList: readonly RankOutcome[]): Promise<RankRow[]> {
  const outcomes = new Map<number, RankOutcome>(outcomeList.map((o) => [o.rank, o]));
  const reusedSet = new Set(ref.reused);
  const rows: RankRow[] = [];
  for (const a of plan.ranks) {
    const reused = reusedSet.has(a.rank);
    const o = outcomes.get(a.rank);
    const row: RankRow = { rank: a.rank, reused };
    if (o?.status === 'failed') row.failure = { error: o.error, cause: causeText(o.cause) };
    else if (!o && !reused) row.failure = { error: 'Missing', cause: `rank ${a.rank} was neither run nor kept from an earlier attempt` };
    else if (run.mode === 'no-data') row.noDataMs = o?.status === 'succeeded' ? o.totalMs : 0;
    else {
      try {
        row.loaded = await readRankResult(results, run.runId, a);
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        row.failure = { error: 'DataError', cause: e.message };
      }
    }
    rows.push(row);
  }
  return rows;
}

/**
 * An FMI run's summary as the root rank wrote it, completed with what only the platform knows; or, when
 * the aggregation did not finish, why (Summarize then reads the rank objects, as a storage run does).
 */
async function pickUpAggregated(
  results: Storage,
  run: RunConfig,
  ref: PlanRef,
  outcomes: readonly RankOutcome[],
  extras: SummarizeExtras,
  t0: number,
): Promise<{ summary: Summary } | { fallback: NonNullable<Summary['aggregation']> }> {
  const agg = aggregationOf(run) as Extract<AggregationConfig, { mode: 'fmi' }>;
  const errors: { rank: number; error: string; message: string }[] = [];
  for (const o of outcomes) if (o.status === 'succeeded' && o.aggregation?.status === 'failed') errors.push({ rank: o.rank, error: o.aggregation.error ?? 'Error', message: o.aggregation.message ?? '' });
  const root = ref.pending[0]?.rank;
  const fallback = (status: 'fell-back' | 'skipped'): { fallback: NonNullable<Summary['aggregation']> } => ({
    fallback: {
      mode: 'fmi',
      channel: agg.chosen?.channel ?? (agg.channel === 'auto' ? 'tcp' : agg.channel),
      attempt: ref.aggregation?.attempt ?? '',
      status,
      summarizedBy: 'Summarize',
      ranks: ref.pending.length,
      bytesGathered: null,
      gatherMs: null,
      errors: errors.sort((a, b) => a.rank - b.rank),
    },
  });
  if (root === undefined) return fallback('skipped');
  const rootOutcome = outcomes.find((o) => o.rank === root);
  if (!ref.aggregation) {
    errors.push({ rank: root, error: 'DataError', message: 'Initialize wrote no aggregation plan for this fmi run' });
    return fallback('fell-back');
  }
  if (rootOutcome?.status === 'failed') errors.push({ rank: root, error: rootOutcome.error, message: `the root rank failed: ${causeText(rootOutcome.cause)}` });
  if (rootOutcome?.status !== 'succeeded' || rootOutcome.aggregation?.status !== 'written') return fallback('fell-back');

  const where = describeKey(results, resultKeys.summary(run.runId));
  let summary: Summary;
  try {
    summary = await readSummary(results, run.runId);
    if (summary.runId !== run.runId || summary.aggregation?.attempt !== ref.aggregation.attempt) throw new DataError(where, `is not the summary of run ${run.runId} attempt ${ref.aggregation.attempt}`);
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    errors.push({ rank: root, error: 'DataError', message: e.message });
    return fallback('fell-back');
  }
  // The root knew every rank's result but not the platform's record of invocations (retries, crashes,
  // the durations it bills): those, and the cost that follows from them, come from the engine.
  summary.configuration.backend = extras.backend ?? summary.configuration.backend;
  if (extras.invocations) {
    const ranThisTime = ref.pending.length;
    summary.invocations = invocationFigures(extras.invocations, ranThisTime, ref.reused.length, 0);
    summary.cost = runCost(run, {
      ranThisTime,
      initializeMs: ref.initializeMs,
      rankDurationsMs: extras.invocations.map((x) => x.durationMs),
      summarizeMs: performance.now() - t0,
      retries: summary.invocations.retries,
    });
  }
  await putSummary(results, summary);
  return { summary };
}

