// The accounting of a run: which ranks failed with which partitions, whether every sample of the manifest
// was predicted exactly once, the sentence that says so, and the run's status. Pure.
//
// A failed accounting (duplicate object ids, partitions whose ids disagree with the manifest, more or fewer
// rows than expected) fails the run whatever the tolerance: failed ranks lose samples the summary names,
// but rows that do not add up cannot be trusted as a set, so no part of them is "partial".
import { ExitCode } from '../../errors.js';
import type { Plan, RunConfig, Summary } from '../contracts.js';
import type { RankRow } from './inputs.js';

export interface Accounting {
  failed: Summary['ranks']['failed'];
  accounting: Summary['accounting'];
  status: Summary['status'];
}

function countDuplicates(ids: BigInt64Array): number {
  const s = ids.slice().sort();
  let d = 0;
  for (let i = 1; i < s.length; i++) if (s[i] === s[i - 1]) d++;
  return d;
}

const n = (v: number): string => v.toLocaleString('en-US');
const plural = (v: number, word: string): string => `${n(v)} ${word}${v === 1 ? '' : 's'}`;

/** Account for the merged object ids against the plan; `mismatched` are partitions whose ids disagree. */
export function accountFor(run: RunConfig, plan: Plan, rows: readonly RankRow[], mergedIds: BigInt64Array, mismatched: string[]): Accounting {
  const total = mergedIds.length;
  const failedRows = rows.filter((r) => r.failure);
  const failed = failedRows.map((r) => {
    const a = plan.ranks[r.rank]!;
    return { rank: r.rank, error: r.failure!.error, cause: r.failure!.cause, partitions: a.partitions.map((p) => p.path), samples: a.samples };
  });
  const missingSamples = failed.reduce((s, f) => s + f.samples, 0);
  const duplicates = countDuplicates(mergedIds);
  const expected = run.mode === 'inference' ? plan.manifest.samples - missingSamples : 0;
  const exactlyOnce = duplicates === 0 && mismatched.length === 0 && total === expected;
  const statement =
    run.mode === 'no-data'
      ? `no-data run: ${plan.ranks.length - failed.length} of ${plan.ranks.length} ranks answered; no samples were read`
      : exactlyOnce
        ? failed.length === 0
          ? `all ${plural(plan.manifest.samples, 'sample')} of ${plural(plan.manifest.partitions, 'partition')} were predicted exactly once (object ids unique; counts and first/last object ids match the manifest)`
          : `${n(total)} of ${n(plan.manifest.samples)} samples were predicted exactly once; the ${plural(missingSamples, 'sample')} in ${plural(failed.reduce((s, f) => s + f.partitions.length, 0), 'partition')} of failed rank(s) ${failed.map((f) => f.rank).join(', ')} are missing`
        : `accounting FAILED: ${n(total)} rows predicted, ${n(expected)} expected; ${n(duplicates)} duplicate object ids; ${mismatched.length} partitions disagree with the manifest${mismatched.length ? ` (${mismatched.slice(0, 5).join(', ')}${mismatched.length > 5 ? ', ...' : ''})` : ''}`;
  const failedPct = (failed.length / plan.ranks.length) * 100;
  const accounted = run.mode !== 'inference' || exactlyOnce;
  const status: Summary['status'] = !accounted ? 'failed' : failed.length === 0 ? 'complete' : failedPct <= run.toleratedFailurePercentage ? 'partial' : 'failed';
  return {
    failed,
    status,
    accounting: {
      manifestSamples: plan.manifest.samples,
      predictedSamples: total,
      missingSamples,
      duplicateObjectIds: duplicates,
      mismatchedPartitions: mismatched,
      exactlyOnce: run.mode === 'inference' ? exactlyOnce : failed.length === 0,
      statement,
    },
  };
}

/**
 * The exit code of a finished run: 0 complete; 3 when its accounting failed (the rows do not add up to the
 * data set: duplicate ids, mismatched partitions); 5 when ranks failed (partial results written).
 */
export function runExitCode(summary: Pick<Summary, 'status' | 'accounting' | 'configuration'>): ExitCode {
  if (summary.status === 'complete') return ExitCode.ok;
  if (summary.configuration.mode === 'inference' && !summary.accounting.exactlyOnce) return ExitCode.data;
  return ExitCode.partial;
}
