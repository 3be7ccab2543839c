// summary.json in a run's results: written last by Summarize (or the root rank of an FMI run), read back
// by the Report task, by Summarize when it picks an FMI summary up, and by `cai aws run` at the end.
import { describeKey } from '../../data/dataset.js';
import { openStorage, type Storage } from '../../storage/index.js';
import { MAX_SUMMARY_BYTES, parseContract, resultKeys, summarySchema, type RunConfig, type Summary } from '../contracts.js';

export async function readSummary(results: Storage, runId: string): Promise<Summary> {
  const key = resultKeys.summary(runId);
  return parseContract(summarySchema, await results.get(key, { maxBytes: MAX_SUMMARY_BYTES }), describeKey(results, key));
}

export async function putSummary(results: Storage, summary: Summary): Promise<void> {
  await results.put(resultKeys.summary(summary.runId), JSON.stringify(summary, null, 2) + '\n');
}

/** A finished run's summary, from its results location. */
export function readRunSummary(run: Pick<RunConfig, 'runId' | 'results'>): Promise<Summary> {
  return readSummary(openStorage(run.results.uri), run.runId);
}
