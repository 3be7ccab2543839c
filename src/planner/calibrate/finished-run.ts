// A finished run as `cai calibrate --from-run` reads it: summary.json and the result object of every rank
// that ran in its last attempt, from its results directory on any storage (a local directory or an
// s3:// prefix, through openStorage). Every object is size-checked and parsed with its contract.
import { DataError } from '../../errors.js';
import { describeKey } from '../../data/dataset.js';
import { openStorage } from '../../storage/index.js';
import { MAX_RESULT_BYTES, MAX_SUMMARY_BYTES, RESULT_FILES, parseContract, rankResultSchema, summarySchema, type RankResult, type Summary } from '../../workflow/contracts.js';

export interface FinishedRun {
  /** The results directory as given. */
  location: string;
  summary: Summary;
  /** Ranks that ran in the attempt the summary describes (kept ones are left out: their times belong to another attempt). */
  ranks: RankResult[];
}

/** Read results/<run-id>/ of a finished run. */
export async function readFinishedRun(dir: string): Promise<FinishedRun> {
  const storage = openStorage(dir);
  const where = (name: string) => describeKey(storage, name);
  if (!(await storage.head(RESULT_FILES.summary))) throw new DataError(where(RESULT_FILES.summary), 'not found: give the run\'s results directory (<out>/results/<run-id>)');
  const summary = parseContract(summarySchema, await storage.get(RESULT_FILES.summary, { maxBytes: MAX_SUMMARY_BYTES }), where(RESULT_FILES.summary));
  if (summary.configuration.mode !== 'inference') throw new DataError(where(RESULT_FILES.summary), `is a ${summary.configuration.mode} run: it measured no inference to refine from`);
  const kept = new Set(summary.ranks.reused);
  const ranks: RankResult[] = [];
  for (const rank of summary.ranks.succeeded) {
    if (kept.has(rank)) continue;
    const name = RESULT_FILES.rank(rank);
    const r = parseContract(rankResultSchema, await storage.get(name, { maxBytes: MAX_RESULT_BYTES }), where(name));
    if (r.runId !== summary.runId || r.rank !== rank) throw new DataError(where(name), `is the result of run ${r.runId} rank ${r.rank}, expected run ${summary.runId} rank ${rank}`);
    ranks.push(r);
  }
  if (!ranks.length) throw new DataError(where(RESULT_FILES.summary), 'lists no rank that ran in this attempt: nothing to refine from');
  return { location: dir, summary, ranks };
}
