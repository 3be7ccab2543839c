// The exact command that resumes a run which did not complete: the same run id and settings, so that
// Initialize keeps every rank whose results verify and only the failed ranks run again. One builder per
// compute backend, registered by the name run summaries record in configuration.backend.
import type { Summary } from '../workflow/contracts.js';

type Configuration = Summary['configuration'];

/** The results root a run was given (--out): its results URI less the trailing results/<run id>/. */
export function resultsRoot(results: string, runId: string): string {
  const tail = `results/${runId}`;
  const trimmed = results.replace(/\/+$/, '');
  if (trimmed === tail) return '.';
  if (trimmed.endsWith(`/${tail}`)) return trimmed.slice(0, -tail.length - 1) || '/';
  return trimmed;
}

/** A shell word: left bare when it is safe, else single-quoted. */
export function shellWord(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** The flags every run request takes, as `cai run` and `cai aws run` spell them (cli/flags/run-flags.ts). */
function requestFlags(c: Configuration, runId: string): string[] {
  const flags = [
    ['--world-size', c.worldSize],
    ['--concurrency', c.concurrency],
    ['--batch-size', c.batchSize],
    ['--threads', c.threadsPerInstance],
    ['--memory-mb', c.memoryMb],
    ['--timeout-s', c.timeoutS],
    ['--tolerated-failure-percent', c.toleratedFailurePercentage],
    ['--run-id', runId],
  ] as const;
  return flags.flatMap(([f, v]) => [f, String(v)]);
}

function aggregationFlags(c: Configuration): string[] {
  const a = c.aggregation;
  if (!a || a.mode !== 'fmi') return [];
  const out = ['--aggregation', 'fmi'];
  if (a.requestedChannel ?? a.channel) out.push('--fmi-channel', (a.requestedChannel ?? a.channel)!);
  if (a.hint) out.push('--fmi-hint', a.hint);
  if (a.timeoutS !== undefined) out.push('--fmi-timeout-s', String(a.timeoutS));
  return out;
}

const RERUN: Record<string, (c: Configuration, runId: string) => string[]> = {
  'local-processes': (c, runId) => ['cai', 'run', '--data', c.data, '--model', c.model, '--out', resultsRoot(c.results, runId), ...requestFlags(c, runId), ...aggregationFlags(c)],
  // The state machine is the deployed one: `cai aws run` reads its ARN from $CAI_STATE_MACHINE_ARN.
  'aws-lambda': (c, runId) => ['cai', 'aws', 'run', '--data', c.data, '--model', c.model, '--out', resultsRoot(c.results, runId), ...requestFlags(c, runId)],
};

/** The command that resumes the run, or null for a backend that has no command here. */
export function rerunCommand(summary: Pick<Summary, 'configuration' | 'runId'>): string | null {
  const build = RERUN[summary.configuration.backend];
  return build ? build(summary.configuration, summary.runId).map(shellWord).join(' ') : null;
}
