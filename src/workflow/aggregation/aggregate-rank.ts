// A rank's part in an FMI aggregation. The rank joins the aggregation channel when its invocation starts
// (joinAggregation), so that while it works the others can tell whether it is there; after its own results
// are stored it gathers every rank's result object and predictions to the first of the attempt's ranks
// (the root), and there the merged predictions, the report and summary.json are written with Summarize's
// own code. The root watches who is present while it waits: a member that never joined within the join
// deadline, or that left (its process died), ends the gather at once, naming it. The root then tells
// every member how the gather ended (verdict.ts), so all ranks report the same outcome. Any failure here
// ends this rank's part with the error, not the rank: its results are already stored, and Summarize falls
// back to reading them.
// A rank whose own work failed for good (a data or model error) still joins, with a failure payload in
// place of its results, so that nobody waits for it; the root then writes the summary with that rank
// failed, as Summarize would. A failed root gathers too but writes nothing: its invocation fails, and
// Summarize falls back to storage (which gives the same summary).
import { CaiError, DataError, DeadlineError, oneLine } from '../../errors.js';
import { describeKey, type Dataset } from '../../data/dataset.js';
import type { Predictions } from '../../inference/predictions.js';
import { openStorage } from '../../storage/index.js';
import type { InvocationContext } from '../../compute/context.js';
import type { Absence, Channel } from '../../fmi/channel.js';
import type { Communicator } from '../../fmi/communicator.js';
import { MAX_RESULT_BYTES, aggregationOf, aggregationPlanSchema, parseContract, resultKeys, type AggregationPlan, type Plan, type RankAggregation, type RankResult, type RunConfig, type Summary } from '../contracts.js';
import { checkRankResult, readRankResult } from '../rank-results.js';
import type { RankRow } from '../summary/inputs.js';
import { writeSummary } from '../summary/write.js';
import { openRankChannel } from './channel.js';
import { FmiDeadlineError } from '../../fmi/errors.js';
import { asReadBack, decodeGatheredPayload, encodeRankFailure, encodeRankPayload, type RankFailure } from './rank-payload.js';
import { decodeVerdict, encodeVerdict, type Verdict } from './verdict.js';

/** Part of the invocation's remaining time kept for the root to write the summary (within these bounds). */
const RESERVE_SHARE = 0.25;
const MIN_RESERVE_MS = 1000;
const MAX_RESERVE_MS = 60_000;
/** How long a rank waits for its own presence to be recorded before it starts its work anyway. */
const JOIN_WAIT_MS = 5000;
/** The point-to-point tag of the root's verdict (collectives never use point-to-point tags). */
const VERDICT_TAG = 1;
/** The root looks at who is present while it waits: first after this long, then twice as long, up to the cap. */
const WATCH_FIRST_MS = 50;
const WATCH_MAX_MS = 1000;
/** Time the root gives its verdicts to reach the members when its own wait has already ended. */
const VERDICT_SEND_MS = 2000;

interface Planned {
  ap: AggregationPlan;
  /** This rank's place among the attempt's members (0: the root). */
  index: number;
}

interface Joined extends Planned {
  channel: Channel;
  /** By then every member should have joined; one that has not is named. */
  joinDeadline: number;
}

/** This rank's place in the aggregation, joined (or joining) while it works. */
export interface AggregationJoin {
  readonly planned: Promise<Planned>;
  /** Resolves once the channel is open (tcp: every rank has registered); rejects with why it could not be. */
  readonly joined: Promise<Joined>;
  /** Leave without taking part: the rank's work failed in a way that is retried, not reported to the others. */
  leave(): Promise<void>;
}

export interface JoinArgs {
  run: RunConfig;
  rank: number;
  ctx: InvocationContext;
  env?: NodeJS.ProcessEnv;
}

export interface RankAggregationArgs {
  run: RunConfig;
  plan: Plan;
  rank: number;
  /** Open already when the rank got that far; the root opens it otherwise. */
  dataset?: Dataset;
  /** This rank's results, or the failure it will end with. */
  own: { kind: 'result'; result: RankResult; predictions: Predictions } | { kind: 'failed'; failure: RankFailure };
  ctx: InvocationContext;
  /** What joinAggregation returned when the invocation started. */
  join: AggregationJoin;
}

/** How long this rank may wait for the others: the run's limit, and never into the invocation's own end. */
export function aggregationDeadline(now: number, timeoutS: number, remainingMs: number): number {
  const reserve = Math.min(MAX_RESERVE_MS, Math.max(MIN_RESERVE_MS, remainingMs * RESERVE_SHARE));
  return now + Math.max(0, Math.min(timeoutS * 1000, remainingMs - reserve));
}

async function readAggregationPlan(run: RunConfig, rank: number): Promise<Planned> {
  const results = openStorage(run.results.uri);
  const key = resultKeys.aggregation(run.runId);
  const where = describeKey(results, key);
  const ap: AggregationPlan = parseContract(aggregationPlanSchema, await results.get(key, { maxBytes: MAX_RESULT_BYTES }), where);
  if (ap.runId !== run.runId) throw new DataError(where, `belongs to run ${ap.runId}, not ${run.runId}`);
  const index = ap.members.indexOf(rank);
  if (index < 0) throw new DataError(where, `does not list rank ${rank} among this attempt's ranks`);
  return { ap, index };
}

/**
 * Join this attempt's aggregation channel at the start of the rank's invocation. Returns once this rank's
 * presence is recorded (or after JOIN_WAIT_MS, or when joining failed: the error comes back from
 * aggregateRank); meeting the other ranks goes on while the rank works. Never throws.
 */
export async function joinAggregation(a: JoinArgs): Promise<AggregationJoin> {
  const agg = aggregationOf(a.run);
  if (agg.mode !== 'fmi') throw new CaiError('joinAggregation called for a storage-aggregation run');
  let registered = (): void => {};
  const inNow = new Promise<void>((resolve) => (registered = resolve));
  const giveUp = new AbortController();
  const planned = readAggregationPlan(a.run, a.rank);
  const joined = planned.then(async (p): Promise<Joined> => {
    const joinDeadline = aggregationDeadline(Date.now(), agg.timeoutS, a.ctx.remainingMs());
    const channel = await openRankChannel({ kind: p.ap.channel, run: a.run, attempt: p.ap.attempt, index: p.index, size: p.ap.members.length, env: a.env ?? process.env, deadline: joinDeadline, onJoined: registered, signal: giveUp.signal });
    return { ...p, channel, joinDeadline };
  });
  joined.then(registered, registered);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([inNow, new Promise<void>((resolve) => (timer = setTimeout(resolve, JOIN_WAIT_MS)))]);
  clearTimeout(timer);
  return {
    planned,
    joined,
    async leave() {
      giveUp.abort();
      await (await joined.catch(() => undefined))?.channel.close();
    },
  };
}

export async function aggregateRank(a: RankAggregationArgs): Promise<RankAggregation> {
  const t0 = performance.now();
  const agg = aggregationOf(a.run);
  if (agg.mode !== 'fmi') throw new CaiError('aggregateRank called for a storage-aggregation run');
  let role: RankAggregation['role'] = 'member';
  let members: readonly number[] = [];
  let channelName = agg.chosen?.channel ?? agg.channel;
  let channel: Channel | undefined;
  try {
    const { ap, index } = await a.join.planned;
    members = ap.members;
    channelName = ap.channel;
    role = index === 0 ? 'root' : 'member';
    const joined = await a.join.joined;
    channel = joined.channel;
    const deadline = aggregationDeadline(Date.now(), agg.timeoutS, a.ctx.remainingMs());
    const { Communicator } = await import('../../fmi/communicator.js');
    const comm = new Communicator(channel, { name: `${a.run.runId} aggregation`, timeoutMs: Math.max(1, deadline - Date.now()) });
    const mine = a.own.kind === 'result' ? encodeRankPayload(a.own.result, a.own.predictions) : encodeRankFailure(a.own.failure);
    if (role === 'member') {
      await memberPart(comm, channel, mine, deadline);
      return { role, status: 'sent', ms: performance.now() - t0 };
    }
    const items = await rootPart(comm, channel, mine, joined.joinDeadline, deadline);
    await channel.close();
    channel = undefined;
    if (a.own.kind === 'failed') return { role, status: 'failed', error: a.own.failure.error, message: 'the root rank failed before the gather; Summarize reads the stored results', ms: performance.now() - t0 };

    const gatherMs = performance.now() - t0;
    const rows = await rowsFromGather(a, ap, items);
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
      aggregation: aggregationRecord(ap, a.rank, items, gatherMs),
    });
    return { role, status: 'written', ms: performance.now() - t0 };
  } catch (err) {
    const e = inPlanRanks(err, a.rank, channelName, members);
    return { role, status: 'failed', error: e.name, message: oneLine(e).slice(0, 4000), ms: performance.now() - t0 };
  } finally {
    await channel?.close();
  }
}

/**
 * The root's gather, ended early when a member is known to be absent; then every member present is told
 * how it ended. Returns every rank's payload, or throws the gather's failure.
 */
async function rootPart(comm: Communicator, channel: Channel, mine: Uint8Array, joinDeadline: number, deadline: number): Promise<Uint8Array[]> {
  const stop = new AbortController();
  const gathered = comm.gather(mine, 0, { deadline });
  gathered.catch(() => undefined);
  let outcome: { items: Uint8Array[] } | { error: unknown };
  try {
    outcome = await Promise.race([
      gathered.then(
        (items) => ({ items: items! }),
        (error: unknown) => ({ error }),
      ),
      absentMembers(channel, joinDeadline, deadline, stop.signal).then((error) => (error ? { error } : gathered.then((items) => ({ items: items! }), (e: unknown) => ({ error: e })))),
    ]);
  } finally {
    stop.abort();
  }
  const verdict: Verdict =
    'items' in outcome ? { kind: 'gathered' } : outcome.error instanceof FmiDeadlineError ? { kind: 'missing', ranks: [...outcome.error.ranks], absent: outcome.error.allAbsent } : { kind: 'root-failed' };
  const gone = 'error' in outcome && outcome.error instanceof FmiDeadlineError ? outcome.error.absence : new Map<number, Absence>();
  const sendBy = Math.max(deadline, Date.now() + VERDICT_SEND_MS);
  const word = encodeVerdict(verdict);
  await Promise.allSettled(Array.from({ length: comm.size - 1 }, (_, i) => i + 1).filter((r) => !gone.has(r)).map((r) => comm.send(word, r, { tag: VERDICT_TAG, deadline: sendBy })));
  if ('error' in outcome) throw outcome.error;
  return outcome.items;
}

/**
 * Resolves with the error naming the members known to be absent (left, or not joined by `joinDeadline`),
 * watching with growing pauses; with undefined at `until` or once `stop` fires.
 */
async function absentMembers(channel: Channel, joinDeadline: number, until: number, stop: AbortSignal): Promise<FmiDeadlineError | undefined> {
  let pause = WATCH_FIRST_MS;
  while (!stop.aborted && Date.now() < until) {
    const absent = await channel.absentRanks(Math.min(until, Date.now() + WATCH_MAX_MS)).catch(() => undefined);
    const now = Date.now();
    // A member that has not joined yet may still come until the join deadline; one that left will not.
    const named = new Map([...(absent ?? [])].filter(([, why]) => why === 'left' || now >= joinDeadline));
    if (named.size > 0 && !stop.aborted) return new FmiDeadlineError(`fmi gather on rank 0/${channel.worldSize}`, [...named.keys()], [], { absence: named, early: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(pause, Math.max(0, until - Date.now())));
      stop.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
    pause = Math.min(2 * pause, WATCH_MAX_MS);
  }
  return undefined;
}

/** A member sends its part, then waits for the root's verdict and ends with it. */
async function memberPart(comm: Communicator, channel: Channel, mine: Uint8Array, deadline: number): Promise<void> {
  const word = comm.recv(0, { tag: VERDICT_TAG, deadline });
  word.catch(() => undefined);
  const sent = comm.gather(mine, 0, { deadline }).then(
    () => undefined,
    (err: unknown) => err,
  );
  let verdict: Verdict;
  try {
    verdict = decodeVerdict(await word, comm.size, "the root's verdict");
  } catch (err) {
    // No word from the root. If the root is known to be gone, that is the news; else this rank's own failure.
    if (err instanceof FmiDeadlineError) {
      const why = err.absence.get(0) ?? (await channel.absentRanks(Date.now() + WATCH_MAX_MS).catch(() => undefined))?.get(0);
      if (why) throw new FmiDeadlineError('fmi gather', [0], [], { absence: new Map([[0, why]]) });
    }
    throw (await sent) ?? err;
  }
  if (verdict.kind === 'gathered') return;
  if (verdict.kind === 'root-failed') throw new CaiError('the root could not complete the gather; Summarize reads the stored results');
  throw new FmiDeadlineError('fmi gather', verdict.ranks, [], verdict.absent ? { absence: new Map(verdict.ranks.map((r) => [r, 'never joined or left' as Absence])) } : {});
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

/**
 * Deadline errors name communicator ranks; say which ranks of the plan they are. Ranks known to be absent
 * are said to be so, in words that do not depend on how this rank learnt it (the rendezvous, a departure
 * notice, a presence record, the root's verdict).
 */
function inPlanRanks(err: unknown, rank: number, channel: string, members: readonly number[]): Error {
  if (err instanceof FmiDeadlineError) {
    const missing = err.ranks.map((r) => members[r] ?? r);
    const what = `rank ${rank}: fmi aggregation over ${channel}`;
    const e = new DeadlineError(what, missing.length ? missing.map((r) => `rank ${r}`) : [...err.waitingFor]);
    if (err.allAbsent) e.message = `${what}: ${missing.map((r) => `rank ${r}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in the run (never joined, or left)`;
    return e;
  }
  return err instanceof Error ? err : new Error(String(err));
}
