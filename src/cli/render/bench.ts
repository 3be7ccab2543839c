// The human text of `cai bench all`: a line per benchmark as it ends, and the tally. Each benchmark
// prints its own figures (the drivers in src/bench/ format them).

export interface BenchOutcome {
  name: string;
  exitCode: number;
  seconds: number;
  /** The benchmark's own --json output; absent when it failed. */
  result?: unknown;
  /** Its last line on stderr when it failed. */
  error?: string;
}

/** The stderr line when a benchmark ends; with --json a failure carries its last error line. */
export function benchDoneLine(outcome: BenchOutcome, json: boolean): string {
  const { name, exitCode, seconds, error } = outcome;
  return exitCode === 0 ? `== ${name}: done in ${seconds} s` : `== ${name}: FAILED (exit ${exitCode}) after ${seconds} s${json ? `: ${error}` : ''}`;
}

export function renderBenchOutcomes(outcomes: readonly BenchOutcome[]): string {
  const failed = outcomes.filter((o) => o.exitCode !== 0);
  return `\n${outcomes.length - failed.length} of ${outcomes.length} benchmarks finished${failed.length ? `; failed: ${failed.map((o) => `${o.name} (exit ${o.exitCode})`).join(', ')}` : ''}`;
}
