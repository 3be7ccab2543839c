// Reading a finished run's summary.json back from its results location.
import { describeKey, MAX_MANIFEST_BYTES } from '../../data/dataset.js';
import { openStorage } from '../../storage/index.js';
import { parseContract, resultKeys, summarySchema, type RunConfig, type Summary } from '../../workflow/contracts.js';

export async function readRunSummary(run: Pick<RunConfig, 'runId' | 'results'>): Promise<Summary> {
  const results = openStorage(run.results.uri);
  const key = resultKeys.summary(run.runId);
  return parseContract(summarySchema, await results.get(key, { maxBytes: MAX_MANIFEST_BYTES }), describeKey(results, key));
}
