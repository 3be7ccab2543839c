// A rank's part in an FMI aggregation, after its own results are stored: meet the other ranks of this
// attempt, gather every rank's result object and predictions to the first of them (the root), and there
// write the merged predictions, the report and summary.json with Summarize's own code. Any failure here
// (a rank that never arrives or dies mid-way, a bad payload) ends this rank's part with the error, not
// the rank: its results are already stored, and Summarize falls back to reading them.
// A rank whose own work failed for good (a data or model error) still joins, with a failure payload in
// place of its results, so that nobody waits for it; the root then writes the summary with that rank
// failed, as Summarize would. A failed root gathers too but writes nothing: its invocation fails, and
// Summarize falls back to storage (which gives the same summary).
import { CaiError, DataError, DeadlineError, oneLine } from '../../errors.js';
import { describeKey, type Dataset } from '../../data/dataset.js';
import type { Predictions } from '../../inference/predictions.js';
import { openStorage } from '../../storage/index.js';
import type { InvocationContext } from '../../compute/context.js';
import { MAX_RESULT_BYTES, aggregationOf, aggregationPlanSchema, parseContract, resultKeys, type AggregationPlan, type Plan, type RankAggregation, type RankResult, type RunConfig, type Summary } from '../contracts.js';
import { checkRankResult, readRankResult } from '../rank-results.js';
import type { RankRow } from '../summary/inputs.js';
import { writeSummary } from '../summary/write.js';
import { openRankChannel } from './channel.js';
import { FmiDeadlineError } from '../../fmi/errors.js';
import { asReadBack, decodeGatheredPayload, encodeRankFailure, encodeRankPayload, type RankFailure } from './rank-payload.js';

/** Part of the invocation's remaining time kept for the root to write the summary (within these bounds). */
const RESERVE_SHARE = 0.25;
const MIN_RESERVE_MS = 1000;
const MAX_RESERVE_MS = 60_000;

export interface RankAggregationArgs {
  run: RunConfig;
  plan: Plan;
  rank: number;
  /** Open already when the rank got that far; the root opens it otherwise. */
  dataset?: Dataset;
  /** This rank's results, or the failure it will end with. */
  own: { kind: 'result'; result: RankResult; predictions: Predictions } | { kind: 'failed'; failure: RankFailure };
  ctx: InvocationContext;
  env?: NodeJS.ProcessEnv;
}

/** How long this rank may wait for the others: the run's limit, and never into the invocation's own end. */
export function aggregationDeadline(now: number, timeoutS: number, remainingMs: number): number {
  const reserve = Math.min(MAX_RESERVE_MS, Math.max(MIN_RESERVE_MS, remainingMs * RESERVE_SHARE));
  return now + Math.max(0, Math.min(timeoutS * 1000, remainingMs - reserve));
}

export async function aggregateRank(a: RankAggregationArgs): Promise<RankAggregation> {
  const t0 = performance.now();
  const agg = aggregationOf(a.run);
  if (agg.mode !== 'fmi') throw new CaiError('aggregateRank called for a storage-aggregation run');
  let role: RankAggregation['role'] = 'member';
  let members: readonly number[] = [];
  let channelName = agg.chosen?.channel ?? agg.channel;
  try {
    const results = openStorage(a.run.results.uri);
    const key = resultKeys.aggregation(a.run.runId);
    const where = describeKey(results, key);
    const ap: AggregationPlan = parseContract(aggregationPlanSchema, await results.get(key, { maxBytes: MAX_RESULT_BYTES }), where);
    if (ap.runId !== a.run.runId) throw new DataError(where, `belongs to run ${ap.runId}, not ${a.run.runId}`);
    members = ap.members;
    channelName = ap.channel;
    const index = members.indexOf(a.rank);
    if (index < 0) throw new DataError(where, `does not list rank ${a.rank} among this attempt's ranks`);
    role = index === 0 ? 'root' : 'member';

    const deadline = aggregationDeadline(Date.now(), agg.timeoutS, a.ctx.remainingMs());
    const channel = await openRankChannel({ kind: ap.channel, run: a.run, attempt: ap.attempt, index, size: members.length, env: a.env ?? process.env, deadline });
    let items: Uint8Array[] | undefined;
    try {
      const { Communicator } = await import('../../fmi/communicator.js');
      const comm = new Communicator(channel, { name: `${a.run.runId} aggregation`, timeoutMs: Math.max(1, deadline - Date.now()) });
      const mine = a.own.kind === 'result' ? encodeRankPayload(a.own.result, a.own.predictions) : encodeRankFailure(a.own.failure);
      items = await comm.gather(mine, 0, { deadline });
    } finally {
      await channel.close();
    }
    if (role === 'member') return { role, status: 'sent', ms: performance.now() - t0 };
    if (a.own.kind === 'failed') return { role, status: 'failed', error: a.own.failure.error, message: 'the root rank failed before the gather; Summarize reads the stored results', ms: performance.now() - t0 };

    const gatherMs = performance.now() - t0;
    const rows = await rowsFromGather(a, ap, items!);
    await writeSummary({
      run: a.run,
      plan: a.plan,
      ranThisTime: members.length,
      reused: ap.reused,
      initializeMs: ap.initializeMs,
      rows,
      extras: {},
      t0: performance.now(),
      dataset: a.dataset,
      aggregation: aggregationRecord(ap, a.rank, items!, gatherMs),
    });
    return { role, status: 'written', ms: performance.now() - t0 };
  } catch (err) {
    const e = inPlanRanks(err, a.rank, channelName, members);
    return { role, status: 'failed', error: e.name, message: oneLine(e).slice(0, 4000), ms: performance.now() - t0 };
  }
}

/** The plan's ranks as the root sees them: members from what they sent, kept ranks from storage. */
async function rowsFromGather(a: RankAggregationArgs, ap: AggregationPlan, items: Uint8Array[]): Promise<RankRow[]> {
  const byRank = new Map<number, RankRow>();
  ap.members.forEach((rank, i) => {
    const where = `rank ${rank}'s aggregation payload`;
    const assignment = a.plan.ranks[rank];
    if (!assignment) throw new DataError(where, `rank ${rank} is not in the plan`);
    const got = i === 0 ? a.own : decodeGatheredPayload(items[i]!, where);
    if (got.kind === 'failed') {
      byRank.set(rank, { rank, reused: false, failure: checkFailure(got.failure, a.run.runId, assignment, where) });
      return;
    }
    const { result, predictions } = got;
    checkRankResult(result, a.run.runId, assignment, where);
    if (predictions.zPred.length !== assignment.samples) throw new DataError(where, `has ${predictions.zPred.length} predictions but rank ${rank} has ${assignment.samples} samples`);
    byRank.set(rank, { rank, reused: false, loaded: { result, predictions: i === 0 ? ownReadBack(predictions) : predictions } });
  });
  const results = openStorage(a.run.results.uri);
  const rows: RankRow[] = [];
  for (const assignment of a.plan.ranks) {
    const row = byRank.get(assignment.rank);
    if (row) {
      rows.push(row);
      continue;
    }
    // Kept from an earlier attempt: only storage has them (as Summarize would read them).
    const kept: RankRow = { rank: assignment.rank, reused: ap.reused.includes(assignment.rank) };
    if (!kept.reused) kept.failure = { error: 'Missing', cause: `rank ${assignment.rank} was neither run nor kept from an earlier attempt` };
    else {
      try {
        kept.loaded = await readRankResult(results, a.run.runId, assignment);
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        kept.failure = { error: 'DataError', cause: e.message };
      }
    }
    rows.push(kept);
  }
  return rows;
}

/** A failure report must be this run's and this rank's, and name the rank's planned partitions. */
function checkFailure(f: RankFailure, runId: string, assignment: Plan['ranks'][number], where: string): { error: string; cause: string } {
  if (f.runId !== runId) throw new DataError(where, `belongs to run ${f.runId}, not ${runId}`);
  if (f.rank !== assignment.rank) throw new DataError(where, `reports a failure of rank ${f.rank}, not ${assignment.rank}`);
  const planned = assignment.partitions.map((p) => p.path);
  if (f.partitions.length !== planned.length || f.partitions.some((p, i) => p !== planned[i])) throw new DataError(where, `lists partitions that differ from rank ${assignment.rank}'s planned ones`);
  if (f.samples !== assignment.samples) throw new DataError(where, `reports ${f.samples} samples but rank ${assignment.rank} has ${assignment.samples}`);
  return { error: f.error, cause: f.message };
}

/** The root's own predictions in the form the others' arrive in (a copy, read back as the file would be). */
function ownReadBack(p: Predictions): Predictions {
  return asReadBack({ objectId: p.objectId, zTrue: p.zTrue?.slice(), zPred: p.zPred.slice() });
}

function aggregationRecord(ap: AggregationPlan, root: number, items: Uint8Array[], gatherMs: number): NonNullable<Summary['aggregation']> {
  return {
    mode: 'fmi',
    channel: ap.channel,
    attempt: ap.attempt,
    status: 'aggregated',
    summarizedBy: `rank ${root}`,
    ranks: ap.members.length,
    bytesGathered: items.reduce((s, b, i) => s + (i === 0 ? 0 : b.length), 0),
    gatherMs,
    errors: [],
  };
}

/** Deadline errors name communicator ranks; say which ranks of the plan they are. */
function inPlanRanks(err: unknown, rank: number, channel: string, members: readonly number[]): Error {
  if (err instanceof FmiDeadlineError) {
    const missing = err.ranks.map((r) => members[r] ?? r);
    return new DeadlineError(`rank ${rank}: fmi aggregation over ${channel}`, missing.length ? missing.map((r) => `rank ${r}`) : [...err.waitingFor]);
  }
  return err instanceof Error ? err : new Error(String(err));
}
