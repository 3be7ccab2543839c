// The Report task: after Summarize, render the plots and the HTML page of a run from what it stored
// (summary.json, predictions.csv, the rank results) and write them next to them, through the same Storage,
// so a run on S3 gets its report on S3. It runs as its own state, on a compute instance like a rank (a
// worker process locally, a Lambda function on AWS). A report that cannot be made never fails a run whose
// summary is written: the page is taken out of summary.json and the error is recorded in the output.
// Storage that cannot be reached is the exception: the state retries it.
import { UnavailableError, oneLine } from '../errors.js';
import type { InvocationContext } from '../compute/context.js';
import { openStorage } from '../storage/index.js';
import { parseContract, reportInputSchema, resultKeys, type ReportOutput } from '../workflow/contracts.js';
import { putSummary, readSummary } from '../workflow/summary/store.js';
import { loadRun, storedRunFiles } from './load-run.js';
import { writeRunReport } from './run-report.js';

export async function handleReport(event: unknown, _ctx?: InvocationContext): Promise<ReportOutput> {
  const { run, summary: written } = parseContract(reportInputSchema, JSON.stringify(event), '(report input)');
  // A run without a report, or without predictions to show, has nothing to do here.
  if (!run.report || run.mode !== 'inference') return { ...written, report: null };
  const results = openStorage(run.results.uri);
  try {
    const loaded = await loadRun(storedRunFiles(results, resultKeys.dir(run.runId)));
    const files = await writeRunReport({ ...loaded, storage: results, outDir: resultKeys.report(run.runId) });
    return { ...written, report: files.html };
  } catch (err) {
    if (err instanceof UnavailableError) throw err;
    const error = err instanceof Error ? err.name : 'Error';
    const summary = await readSummary(results, run.runId);
    summary.outputs.report = null;
    await putSummary(results, summary);
    return { ...written, report: null, reportError: { error, cause: oneLine(err) } };
  }
}
