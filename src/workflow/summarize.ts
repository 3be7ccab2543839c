// The Summarize task: merge every rank's predictions into one file (manifest partition order), check that
// each sample of the manifest is accounted for exactly once, compute accuracy over all samples, total and
// per-rank performance, invocations and cost, and write summary.json (last) and the report.
// writeSummary() is that work over rank rows however they were obtained: read from storage here, or
// gathered over FMI by the root rank of an FMI run (aggregation/), which then writes the summary itself
// and Summarize only picks it up (adding what only the platform knows: its invocation records).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { MAX_MANIFEST_BYTES, describeKey, type Dataset } from '../data/dataset.js';
import { INPUT_BYTES_PER_SAMPLE } from '../data/manifest.js';
import { accuracyMetrics } from '../inference/metrics.js';
import type { Predictions } from '../inference/predictions.js';
import { lambdaRunCost, memoryGBFromMB, STUDY_PRICES, type CostBreakdown, type InvocationGroup } from '../cost/lambda-cost.js';
import { LocalStorage } from '../storage/local/local-storage.js';
import { openStorage } from '../storage/index.js';
import type { Storage } from '../storage/types.js';
import {
  CONTRACT_VERSION,
  aggregationOf,
  parseContract,
  resultKeys,
  summarizeInputSchema,
  summarySchema,
  type AggregationConfig,
  type Plan,
  type PlanRef,
  type RankOutcome,
  type RankResult,
  type RunConfig,
  type Summary,
  type SummarizeInput,
} from './contracts.js';
import { formatPredictionsCsv } from './predictions-io.js';
import { openPlannedDataset, readPlan, readRankResult } from './rank-results.js';

/** A summary holds a row per rank: as large as a plan can be. */
const MAX_SUMMARY_BYTES = MAX_MANIFEST_BYTES;

/** Memory assumed for the Initialize and Summarize functions when pricing a run. */
export const CONTROL_MEMORY_MB = 1024;

/** What the engine that ran the Map knows about its invocations (the platform's own record). */
export interface InvocationRecord {
  rank: number;
  durationMs: number;
  cold: boolean;
  outcome: 'ok' | 'error' | 'crash' | 'timeout' | 'memory';
}

export interface SummarizeExtras {
  /** Name of the compute backend, for the summary. */
  backend?: string;
  /** Every rank invocation of this attempt, retries included. Without it, one per rank run is assumed. */
  invocations?: readonly InvocationRecord[];
}

/** One rank of the plan as the summary sees it: its results, or why it has none. */
export interface RankRow {
  rank: number;
  reused: boolean;
  loaded?: { result: RankResult; predictions: Predictions };
  failure?: { error: string; cause: string };
  noDataMs?: number;
}

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

function countDuplicates(ids: BigInt64Array): number {
  const s = ids.slice().sort();
  let d = 0;
  for (let i = 1; i < s.length; i++) if (s[i] === s[i - 1]) d++;
  return d;
}

const n = (v: number): string => v.toLocaleString('en-US');
const plural = (v: number, word: string): string => `${n(v)} ${word}${v === 1 ? '' : 's'}`;

export async function summarize(input: unknown, extras: SummarizeExtras = {}): Promise<Summary> {
  const t0 = performance.now();
  const si: SummarizeInput = parseContract(summarizeInputSchema, JSON.stringify(input), '(summarize input)');
  const { run, plan: ref } = si;
  const results = openStorage(run.results.uri);
  let aggregation: Summary['aggregation'];
  if (aggregationOf(run).mode === 'fmi') {
    const picked = await pickUpAggregated(results, run, ref, si.outcomes, extras, t0);
    if ('summary' in picked) return picked.summary;
    aggregation = picked.fallback;
  }
  const plan: Plan = await readPlan(results, run, ref.planKey);
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

  const key = resultKeys.summary(run.runId);
  const where = describeKey(results, key);
  let summary: Summary;
  try {
    summary = parseContract(summarySchema, await results.get(key, { maxBytes: MAX_SUMMARY_BYTES }), where);
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
    summary.cost = runCost(
      run,
      ranThisTime,
      ref.initializeMs,
      extras.invocations.map((x) => x.durationMs),
      performance.now() - t0,
      summary.invocations.retries,
    );
  }
  await results.put(key, JSON.stringify(summary, null, 2) + '\n');
  return { summary };
}

/** Everything writeSummary needs; the rows may come from storage or from an FMI gather. */
export interface SummaryInputs {
  run: RunConfig;
  plan: Plan;
  /** Ranks this attempt ran (the Map's items). */
  ranThisTime: number;
  /** Ranks whose results an earlier attempt of the run id left and this one kept. */
  reused: readonly number[];
  initializeMs: number;
  rows: RankRow[];
  extras: SummarizeExtras;
  /** When summarizing started (performance.now()), for the summarizing function's cost. */
  t0: number;
  /** The data set, when the caller has it open already. */
  dataset?: Dataset;
  aggregation?: Summary['aggregation'];
}

/** The invocations block: from the platform's records when there are any, else one per rank that ran. */
function invocationFigures(recs: readonly InvocationRecord[] | undefined, ranThisTime: number, reusedRanks: number, coldStartsWithoutRecords: number): Summary['invocations'] {
  return recs
    ? {
        total: recs.length,
        ranks: ranThisTime,
        retries: Math.max(0, recs.length - ranThisTime),
        coldStarts: recs.filter((x) => x.cold).length,
        reusedRanks,
        crashed: recs.filter((x) => x.outcome === 'crash' || x.outcome === 'timeout' || x.outcome === 'memory').length,
      }
    : { total: ranThisTime, ranks: ranThisTime, retries: 0, coldStarts: coldStartsWithoutRecords, reusedRanks, crashed: 0 };
}

/** The run priced as if on Lambda + Step Functions. */
function runCost(run: RunConfig, ranThisTime: number, initializeMs: number, rankDurations: number[], summarizeMs: number, retries: number): CostBreakdown {
  const groups: InvocationGroup[] = [
    { label: 'ranks', memoryGB: memoryGBFromMB(run.memoryMb), durationsMs: rankDurations },
    { label: 'initialize', memoryGB: memoryGBFromMB(CONTROL_MEMORY_MB), durationsMs: [initializeMs] },
    { label: 'summarize', memoryGB: memoryGBFromMB(CONTROL_MEMORY_MB), durationsMs: [summarizeMs] },
  ];
  return lambdaRunCost({ lambda: groups, stateMachine: { mapItems: ranThisTime, statesPerItem: 1, retries } }, STUDY_PRICES);
}

/** How the summary describes the run's aggregation setting. */
function aggregationSetting(run: RunConfig): NonNullable<Summary['configuration']['aggregation']> {
  const agg = aggregationOf(run);
  if (agg.mode === 'storage') return { mode: 'storage' };
  return {
    mode: 'fmi',
    ...(agg.chosen ? { channel: agg.chosen.channel, reason: agg.chosen.reason } : agg.channel !== 'auto' ? { channel: agg.channel } : {}),
    requestedChannel: agg.channel,
    hint: agg.hint,
    timeoutS: agg.timeoutS,
  };
}

/** Merge, account, measure and price the rows; write the merged predictions, the report, then summary.json. */
export async function writeSummary(inp: SummaryInputs): Promise<Summary> {
  const { run, plan, rows, extras, t0, ranThisTime } = inp;
  const results = openStorage(run.results.uri);
  // Merge in manifest order and check every partition's rows against the manifest entry.
  const mismatched: string[] = [];
  const slices: { index: number; objectId: BigInt64Array; zTrue?: Float32Array; zPred: Float32Array }[] = [];
  let labelled = plan.manifest.labelled;
  let manifestIndex = new Map<string, number>();
  if (run.mode === 'inference') {
    const dataset = inp.dataset ?? (await openPlannedDataset(run, plan));
    manifestIndex = new Map(dataset.manifest.partitions.map((e, i) => [e.path, i]));
    labelled = dataset.manifest.labelled;
  }
  for (const row of rows) {
    if (!row.loaded) continue;
    const a = plan.ranks[row.rank]!;
    const p = row.loaded.predictions;
    let at = 0;
    for (const part of a.partitions) {
      const ids = p.objectId.subarray(at, at + part.samples);
      const first = ids.length ? ids[0]!.toString() : undefined;
      const last = ids.length ? ids[ids.length - 1]!.toString() : undefined;
      if ((part.firstObjectId !== undefined && first !== part.firstObjectId) || (part.lastObjectId !== undefined && last !== part.lastObjectId)) mismatched.push(part.path);
      slices.push({ index: manifestIndex.get(part.path) ?? Number.MAX_SAFE_INTEGER, objectId: ids, zTrue: p.zTrue?.subarray(at, at + part.samples), zPred: p.zPred.subarray(at, at + part.samples) });
      at += part.samples;
    }
  }
  slices.sort((x, y) => x.index - y.index);
  const total = slices.reduce((s, x) => s + x.zPred.length, 0);
  const merged: Predictions = { objectId: new BigInt64Array(total), zTrue: labelled ? new Float32Array(total) : undefined, zPred: new Float32Array(total) };
  let at = 0;
  for (const s of slices) {
    merged.objectId.set(s.objectId, at);
    merged.zPred.set(s.zPred, at);
    if (merged.zTrue) merged.zTrue.set(s.zTrue ?? new Float32Array(s.zPred.length).fill(NaN), at);
    at += s.zPred.length;
  }

  const failed = rows.filter((r) => r.failure);
  const failedInfo = failed.map((r) => {
    const a = plan.ranks[r.rank]!;
    return { rank: r.rank, error: r.failure!.error, cause: r.failure!.cause, partitions: a.partitions.map((p) => p.path), samples: a.samples };
  });
  const missingSamples = failedInfo.reduce((s, f) => s + f.samples, 0);
  const duplicates = countDuplicates(merged.objectId);
  const expected = run.mode === 'inference' ? plan.manifest.samples - missingSamples : 0;
  const exactlyOnce = duplicates === 0 && mismatched.length === 0 && total === expected;
  const statement =
    run.mode === 'no-data'
      ? `no-data run: ${plan.ranks.length - failed.length} of ${plan.ranks.length} ranks answered; no samples were read`
      : exactlyOnce
        ? failed.length === 0
          ? `all ${plural(plan.manifest.samples, 'sample')} of ${plural(plan.manifest.partitions, 'partition')} were predicted exactly once (object ids unique; counts and first/last object ids match the manifest)`
          : `${n(total)} of ${n(plan.manifest.samples)} samples were predicted exactly once; the ${plural(missingSamples, 'sample')} in ${plural(failedInfo.reduce((s, f) => s + f.partitions.length, 0), 'partition')} of failed rank(s) ${failedInfo.map((f) => f.rank).join(', ')} are missing`
        : `accounting FAILED: ${n(total)} rows predicted, ${n(expected)} expected; ${n(duplicates)} duplicate object ids; ${mismatched.length} partitions disagree with the manifest${mismatched.length ? ` (${mismatched.slice(0, 5).join(', ')}${mismatched.length > 5 ? ', ...' : ''})` : ''}`;

  // Outputs: merged predictions, then report, then summary.json last.
  const predictionsKey = resultKeys.predictions(run.runId);
  if (run.mode === 'inference') await results.put(predictionsKey, formatPredictionsCsv(merged));

  const finishedAt = new Date();
  const wallTimeS = Math.max(0, (finishedAt.getTime() - Date.parse(run.submittedAt)) / 1000);
  const loaded = rows.filter((r) => r.loaded).map((r) => ({ row: r, r: r.loaded!.result }));
  const perRank = rows
    .filter((r) => !r.failure)
    .map((row) => {
      const r = row.loaded?.result;
      const a = plan.ranks[row.rank]!;
      const totalS = r ? r.timings.totalMs / 1000 : (row.noDataMs ?? 0) / 1000;
      return {
        rank: row.rank,
        samples: r?.samples ?? 0,
        partitions: a.partitions.length,
        coldStart: r?.timings.coldStart ?? false,
        coldStartS: (r?.timings.coldStartMs ?? 0) / 1000,
        downloadS: (r?.timings.downloadMs ?? 0) / 1000,
        inferenceS: (r?.timings.inferenceMs ?? 0) / 1000,
        uploadS: (r?.timings.uploadMs ?? 0) / 1000,
        totalS,
        peakRssMB: r?.memory.peakRssMB ?? 0,
        samplesPerS: r?.performance.samplesPerS ?? null,
        reused: row.reused,
      };
    });
  const ranAgain = perRank.filter((p) => !p.reused);
  const slowest = (ranAgain.length ? ranAgain : perRank).reduce<{ rank: number; totalS: number } | null>((m, p) => (m === null || p.totalS > m.totalS ? { rank: p.rank, totalS: p.totalS } : m), null);
  const sum = (f: (r: RankResult) => number): number => loaded.reduce((s, x) => s + f(x.r), 0);

  // Invocations: the engine's own record when it has one, else one per rank that ran.
  const recs = extras.invocations;
  const invocations = invocationFigures(recs, ranThisTime, inp.reused.length, loaded.filter((x) => !x.row.reused && x.r.timings.coldStart).length);
  const rankDurations = recs ? recs.map((x) => x.durationMs) : rows.filter((r) => !r.reused && !r.failure).map((r) => r.loaded?.result.timings.totalMs ?? r.noDataMs ?? 0);
  const cost = runCost(run, ranThisTime, inp.initializeMs, rankDurations, performance.now() - t0, invocations.retries);

  const failedPct = (failed.length / plan.ranks.length) * 100;
  const status: Summary['status'] = failed.length === 0 ? 'complete' : failedPct <= run.toleratedFailurePercentage ? 'partial' : 'failed';
  const accuracy = run.mode === 'inference' && labelled && total > 0 ? accuracyMetrics(merged.zTrue!, merged.zPred) : null;

  const summaryKey = resultKeys.summary(run.runId);
  const summary: Summary = {
    schemaVersion: CONTRACT_VERSION,
    kind: 'cai-run-summary',
    runId: run.runId,
    status,
    submittedAt: run.submittedAt,
    finishedAt: finishedAt.toISOString(),
    wallTimeS,
    configuration: {
      mode: run.mode,
      data: plan.manifest.location,
      results: describeKey(results, resultKeys.dir(run.runId)),
      model: run.model.path,
      worldSize: run.worldSize,
      concurrency: run.concurrency,
      batchSize: run.batchSize,
      threadsPerInstance: run.threads,
      memoryMb: run.memoryMb,
      timeoutS: run.timeoutS,
      toleratedFailurePercentage: run.toleratedFailurePercentage,
      backend: extras.backend ?? 'unknown',
      aggregation: aggregationSetting(run),
    },
    dataset: { samples: plan.manifest.samples, partitions: plan.manifest.partitions, bytes: plan.manifest.bytes, labelled },
    accuracy,
    performance: {
      total: {
        samples: total,
        inferenceS: sum((r) => r.timings.inferenceMs) / 1000,
        downloadS: sum((r) => r.timings.downloadMs) / 1000,
        uploadS: sum((r) => r.timings.uploadMs) / 1000,
        coldStartS: sum((r) => r.timings.coldStartMs) / 1000,
        samplesPerS: wallTimeS > 0 ? total / wallTimeS : null,
        throughputBps: wallTimeS > 0 ? (total * INPUT_BYTES_PER_SAMPLE * 8) / wallTimeS : null,
        peakRssMB: loaded.reduce((m, x) => Math.max(m, x.r.memory.peakRssMB), 0),
      },
      ranks: perRank,
      slowestRank: slowest,
    },
    invocations,
    cost,
    ranks: {
      succeeded: rows.filter((r) => !r.failure).map((r) => r.rank),
      reused: [...inp.reused],
      failed: failedInfo,
    },
    accounting: {
      manifestSamples: plan.manifest.samples,
      predictedSamples: total,
      missingSamples,
      duplicateObjectIds: duplicates,
      mismatchedPartitions: mismatched,
      exactlyOnce: run.mode === 'inference' ? exactlyOnce : failed.length === 0,
      statement,
    },
    outputs: {
      summary: describeKey(results, summaryKey),
      predictions: run.mode === 'inference' ? describeKey(results, predictionsKey) : '',
      report: null,
    },
    ...(inp.aggregation ? { aggregation: inp.aggregation } : {}),
  };

  if (run.report && run.mode === 'inference') {
    const ranksForReport = rows.map((row) => {
      const r = row.loaded?.result;
      const a = plan.ranks[row.rank]!;
      if (!r) return { rank: row.rank, startedAt: 0, endedAt: 0, samples: a.samples, status: 'failed', error: row.failure?.cause ?? '' };
      return {
        rank: row.rank,
        startedAt: Date.parse(r.timings.startedAt) - r.timings.initMs,
        endedAt: Date.parse(r.timings.finishedAt),
        coldStartMs: r.timings.coldStartMs,
        downloadMs: r.timings.waitMs,
        inferenceMs: r.timings.inferenceMs,
        uploadMs: r.timings.uploadMs,
        samples: r.samples,
        status: row.reused ? 'reused' : 'succeeded',
      };
    });
    summary.outputs.report = await writeReport(results, run.runId, summary, merged, ranksForReport);
  }

  await results.put(summaryKey, JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

/** Render the report next to the results; through a temp directory when the results are not on local disk. */
async function writeReport(results: Storage, runId: string, summary: Summary, merged: Predictions, ranks: Parameters<typeof import('../report/run-report.js').writeRunReport>[0]['ranks']): Promise<string> {
  const { writeRunReport } = await import('../report/run-report.js');
  const prefix = resultKeys.report(runId);
  const args = { summary, zTrue: merged.zTrue, zPred: merged.zPred, ranks };
  if (results instanceof LocalStorage) {
    const dir = results.pathOf(prefix.replace(/\/$/, ''));
    const files = await writeRunReport({ ...args, outDir: dir });
    return files.html;
  }
  const tmp = await mkdtemp(join(tmpdir(), 'cai-report-'));
  try {
    await writeRunReport({ ...args, outDir: tmp });
    for (const name of await readdir(tmp)) await results.put(prefix + name, await readFile(join(tmp, name)));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return describeKey(results, prefix + 'report.html');
}
