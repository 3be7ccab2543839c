// Writing a run's summary from its rank rows: merge the predictions (merge.ts), account for every sample
// (accounting.ts), score the predictions (inference/metrics), measure (performance.ts) and price
// (cost.ts); then write the merged predictions and summary.json, last. The parts are pure; this is the only
// one that reads or writes.
import { describeKey } from '../../data/dataset.js';
import { accuracyMetrics } from '../../metrics/accuracy.js';
import { formatPredictionsCsv, type Predictions } from '../../inference/predictions.js';
import { openStorage, type Storage } from '../../storage/index.js';
import { CONTRACT_VERSION, aggregationOf, resultKeys, type RunConfig, type Summary } from '../contracts.js';
import { openPlannedDataset } from '../plan-file.js';
import { guardResults } from '../run-lock.js';
import { accountFor } from './accounting.js';
import { runCost } from './cost.js';
import type { SummaryInputs } from './inputs.js';
import { mergeRankPredictions } from './merge.js';
import { coldStartsOfResults, coldStartsSummary, invocationFigures, rankDurations, rankPerformance, totalPerformance } from './performance.js';
import { putSummary } from './store.js';

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

/** Where the outputs are, as the summary names them; the report's page once the Report task has written it. */
function outputs(results: Storage, run: RunConfig): Summary['outputs'] {
  const inference = run.mode === 'inference';
  return {
    summary: describeKey(results, resultKeys.summary(run.runId)),
    predictions: inference ? describeKey(results, resultKeys.predictions(run.runId)) : '',
    report: run.report && inference ? describeKey(results, resultKeys.reportPage(run.runId)) : null,
  };
}

/** The summary of the inputs and their merged predictions, finished `finishedAt`. Pure. */
export function buildSummary(inp: SummaryInputs, merged: Predictions, mismatched: string[], labelled: boolean, results: Storage, finishedAt: Date, summarizeMs: number): Summary {
  const { run, plan, rows, extras, ranThisTime } = inp;
  const total = merged.zPred.length;
  const { failed, accounting, status } = accountFor(run, plan, rows, merged.objectId, mismatched);
  const wallTimeS = Math.max(0, (finishedAt.getTime() - Date.parse(run.submittedAt)) / 1000);
  // Invocations: the engine's own record when it has one, else one per rank that ran.
  const invocations = invocationFigures(extras.invocations, ranThisTime, inp.reused.length, coldStartsOfResults(rows));
  const coldStarts = coldStartsSummary(rows);
  const cost = runCost(run, { ranThisTime, initializeMs: inp.initializeMs, rankDurationsMs: rankDurations(extras.invocations, rows), summarizeMs, retries: invocations.retries });
  return {
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
      device: run.device ?? 'cpu',
      ...(run.gpus !== undefined ? { gpus: run.gpus } : {}),
      ...(run.sessionsPerGpu !== undefined ? { sessionsPerGpu: run.sessionsPerGpu } : {}),
      aggregation: aggregationSetting(run),
    },
    dataset: { samples: plan.manifest.samples, partitions: plan.manifest.partitions, bytes: plan.manifest.bytes, labelled },
    accuracy: run.mode === 'inference' && labelled && total > 0 ? accuracyMetrics(merged.zTrue!, merged.zPred) : null,
    performance: { ...(coldStarts ? { coldStarts } : {}), total: totalPerformance(rows, total, wallTimeS), ...rankPerformance(plan, rows) },
    invocations,
    cost,
    ranks: {
      succeeded: rows.filter((r) => !r.failure).map((r) => r.rank),
      reused: [...inp.reused],
      failed,
    },
    accounting,
    outputs: outputs(results, run),
    ...(inp.aggregation ? { aggregation: inp.aggregation } : {}),
    ...(run.prediction ? { prediction: run.prediction } : {}),
  };
}

/** Merge, account, score, measure and price the rows; write the merged predictions, then summary.json. */
export async function writeSummary(inp: SummaryInputs): Promise<Summary> {
  const { run, plan } = inp;
  const results = guardResults(openStorage(run.results.uri), run);
  let labelled = plan.manifest.labelled;
  let manifestIndex = new Map<string, number>();
  if (run.mode === 'inference') {
    const dataset = inp.dataset ?? (await openPlannedDataset(run, plan));
    manifestIndex = new Map(dataset.manifest.partitions.map((e, i) => [e.path, i]));
    labelled = dataset.manifest.labelled;
  }
  const { merged, mismatched } = mergeRankPredictions(plan, inp.rows, manifestIndex, labelled);
  if (run.mode === 'inference') await results.put(resultKeys.predictions(run.runId), formatPredictionsCsv(merged));
  const finishedAt = new Date();
  const summary = buildSummary(inp, merged, mismatched, labelled, results, finishedAt, performance.now() - inp.t0);
  await putSummary(results, summary);
  return summary;
}
