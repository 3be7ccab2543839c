// How every command that runs the workflow ends (`cai run`, `cai demo`, `cai aws run`, `cai run --auto`):
// the summary on stdout, a failed accounting named on stderr, and the exit code the summary calls for.
import type { Summary } from '../workflow/contracts.js';
import { runExitCode } from '../workflow/summary/accounting.js';
import { emit } from './output.js';
import { renderSummary } from './render/run.js';

/** Print the summary; a run that is not complete exits non-zero (runExitCode). */
export function finishRun(flags: { json?: boolean }, summary: Summary): void {
  emit(flags, summary, () => renderSummary(summary));
  if (summary.configuration.mode === 'inference' && !summary.accounting.exactlyOnce) process.stderr.write(`cai: run ${summary.runId}: ${summary.accounting.statement}\n`);
  process.exitCode = runExitCode(summary);
}
