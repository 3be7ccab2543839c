// Refining a profile from a finished run (`cai calibrate --from-run`). A run on this machine replaces the
// figures it measured under real work: the throughput point at its threads and batch size (with the
// slowdown of instances that outnumbered the cores taken out), worker start and model load from its cold
// ranks, the read bandwidth, the per-partition time its ranks spent beyond the modelled parts, its memory,
// and the fixed run cost that makes the local model reproduce its wall time. A run on AWS Lambda fills the
// profile's `lambda` figures instead (rank rate at its memory, cold start, S3 bandwidth, per-partition
// time) and keeps the run, so that the two orchestration figures are refitted on this account's own runs
// once runs of two world sizes pin them down. Pure: profile and run in, profile out.
import { DEFAULT_TIME_PARAMS, fitTimeModel, predictRun, type PriceCatalog, type RunConfig as ModelRunConfig, type TimeModelParams } from '../../cost/index.js';
import { DataError } from '../../errors.js';
import { median } from '../../metrics/statistics.js';
import type { RankResult } from '../../workflow/contracts.js';
import { planEnv } from '../env.js';
import { estimateLocal } from '../platforms/local.js';
import { MAX_PROFILE_RUNS, instanceSlowdown, profileSchema, type LambdaFigures, type LambdaRun, type Profile } from '../profile.js';
import type { Workload } from '../types.js';
import type { FinishedRun } from './finished-run.js';
import { partitionResidualS, type RankTimes } from './profile-of.js';

/** The compute backends whose runs refine which figures (their `configuration.backend`). */
export const LOCAL_BACKEND = 'local-processes';
export const LAMBDA_BACKEND = 'aws-lambda';

export interface RefineOptions {
  /** Prices are not refined; the local model needs a catalog to run. */
  catalog: PriceCatalog;
  /** When the profile was a built-in default: this machine, where the local run ran. */
  machine?: Profile['machine'];
  now?: string;
}

export interface FigureChange {
  figure: string;
  before: number | null;
  after: number;
}

export interface Refined {
  profile: Profile;
  kind: 'local' | 'lambda';
  changes: FigureChange[];
  notes: string[];
}

const sum = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0);
const sig = (x: number, digits = 5): number => Number(x.toPrecision(digits));

export function refineFromRun(base: Profile, run: FinishedRun, o: RefineOptions): Refined {
  const backend = run.summary.configuration.backend;
  if (backend === LOCAL_BACKEND) return refineLocal(base, run, o);
  if (backend === LAMBDA_BACKEND) return refineLambda(base, run, o);
  throw new DataError(run.location, `is a run on the "${backend}" backend, which refines nothing (known: ${LOCAL_BACKEND}, ${LAMBDA_BACKEND})`);
}

/** What the ranks of a run measured, summed and taken apart. */
interface RankFigures {
  samples: number;
  bytes: number;
  inferenceS: number;
  downloadS: number;
  /** Median over the ranks that started an instance (undefined when every rank ran warm). */
  initS?: number;
  modelLoadS?: number;
  coldStartS?: number;
  peakRssMB: number;
}

function rankFigures(ranks: readonly RankResult[], bytesPerSample: number): RankFigures {
  const cold = ranks.filter((r) => r.timings.coldStart);
  const med = (xs: number[]) => (xs.length ? median(xs) / 1000 : undefined);
  return {
    samples: sum(ranks.map((r) => r.samples)),
    bytes: sum(ranks.map((r) => r.samples * bytesPerSample)),
    inferenceS: sum(ranks.map((r) => r.timings.inferenceMs)) / 1000,
    downloadS: sum(ranks.map((r) => r.timings.downloadMs)) / 1000,
    initS: med(cold.filter((r) => r.timings.initMs > 0).map((r) => r.timings.initMs)),
    modelLoadS: med(ranks.filter((r) => r.timings.modelLoadMs > 0).map((r) => r.timings.modelLoadMs)),
    coldStartS: med(cold.map((r) => r.timings.coldStartMs)),
    peakRssMB: Math.max(...ranks.map((r) => r.memory.peakRssMB)),
  };
}

function rankTimes(r: RankResult, bytesPerSample: number): Omit<RankTimes, 'threads' | 'batchSize'> {
  const t = r.timings;
  return { rankS: t.totalMs / 1000, modelLoadS: t.modelLoadMs / 1000, uploadS: t.uploadMs / 1000, inferenceS: t.inferenceMs / 1000, samples: r.samples, partitions: r.partitions.length, bytes: r.samples * bytesPerSample };
}

function bytesPerSampleOf(run: FinishedRun): number {
  const d = run.summary.dataset;
  return d.samples > 0 ? d.bytes / d.samples : 0;
}

function refinedMeta(base: Profile, run: FinishedRun, o: RefineOptions): Pick<Profile, 'label' | 'isDefault' | 'measuredAt' | 'source' | 'refinedFrom' | 'machine'> {
  const from = [...(base.refinedFrom ?? []).filter((id) => id !== run.summary.runId), run.summary.runId].slice(-1000);
  const label = base.label.replace(/; refined from \d+ runs?$/, '');
  return {
    label: `${label}; refined from ${from.length} run${from.length === 1 ? '' : 's'}`.slice(0, 300),
    isDefault: false,
    measuredAt: o.now ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    source: `${base.source}; cai calibrate --from-run ${run.location}`.slice(-2000),
    refinedFrom: from,
    machine: base.isDefault && o.machine ? o.machine : base.machine,
  };
}

function change(changes: FigureChange[], figure: string, before: number | undefined, after: number): void {
  changes.push({ figure, before: before ?? null, after });
}

function refineLocal(base: Profile, run: FinishedRun, o: RefineOptions): Refined {
  const s = run.summary;
  const c = s.configuration;
  const meta = refinedMeta(base, run, o);
  const cores = meta.machine.cores;
  const bytesPerSample = bytesPerSampleOf(run);
  const f = rankFigures(run.ranks, bytesPerSample);
  const notes: string[] = [];
  const changes: FigureChange[] = [];
  // Instances that ran at once ran slower than one alone: time-slicing beyond the cores, and their cost to
  // each other as the profile measured it. The point stored is the rate of one instance alone.
  const atOnce = Math.min(c.concurrency, run.ranks.length);
  const slowdown = instanceSlowdown(base, atOnce, c.threadsPerInstance, cores);
  const rate = f.inferenceS > 0 ? (f.samples / f.inferenceS) * slowdown : undefined;
  let throughput = base.throughput;
  if (rate !== undefined) {
    const before = base.throughput.find((p) => p.threads === c.threadsPerInstance && p.batchSize === c.batchSize)?.samplesPerS;
    throughput = [...base.throughput.filter((p) => !(p.threads === c.threadsPerInstance && p.batchSize === c.batchSize)), { threads: c.threadsPerInstance, batchSize: c.batchSize, samplesPerS: sig(rate) }];
    change(changes, `samples/s at ${c.threadsPerInstance} thread(s), batch ${c.batchSize}`, before, sig(rate));
    if (slowdown > 1) notes.push(`${atOnce} instances x ${c.threadsPerInstance} threads at once on ${cores} cores: the measured rate is taken as ${slowdown.toFixed(2)}x slower than one instance alone`);
  }
  const fromS3 = /^s3:\/\//i.test(c.data);
  const readBytesPerS = !fromS3 && f.downloadS > 0 ? Math.round(f.bytes / f.downloadS) : base.readBytesPerS;
  if (fromS3) notes.push('the data set was read from S3: the read figure measured the downlink, so the disk read bandwidth is kept');
  else change(changes, 'read bytes/s', base.readBytesPerS, readBytesPerS);
  const workerStartS = f.initS !== undefined ? sig(f.initS, 4) : base.workerStartS;
  const modelLoadS = f.modelLoadS !== undefined ? sig(f.modelLoadS, 4) : base.modelLoadS;
  change(changes, 'worker start s', base.workerStartS, workerStartS);
  change(changes, 'model load s', base.modelLoadS, modelLoadS);
  let profile: Profile = { ...base, ...meta, throughput, workerStartS, modelLoadS, readBytesPerS, instanceMemoryMB: Math.round(f.peakRssMB) };
  change(changes, 'instance memory MB', base.instanceMemoryMB, Math.round(f.peakRssMB));

  // Per partition beyond the modelled parts, with the rate the ranks had while they shared the cores.
  const residuals = run.ranks.map((r) =>
    partitionResidualS(profile, { ...rankTimes(r, bytesPerSample), threads: c.threadsPerInstance, batchSize: c.batchSize }, slowdown),
  );
  const partitionOverheadS = sig(Math.max(0, sum(residuals) / residuals.length), 4);
  change(changes, 'per-partition overhead s', base.partitionOverheadS, partitionOverheadS);
  profile = { ...profile, partitionOverheadS };

  // The fixed cost that makes the local model give this run's wall time.
  const w: Workload = { samples: s.dataset.samples, bytesPerSample, partitionSamples: Math.ceil(s.dataset.samples / Math.max(1, s.dataset.partitions)), location: fromS3 ? 's3' : 'local', description: run.location };
  const env = planEnv({ cpuProfile: { ...profile, orchestrationS: 0 }, catalog: o.catalog, localCores: cores, localUsdPerHour: 0 });
  const ranksOnly = estimateLocal(w, { worldSize: c.worldSize, concurrency: c.concurrency, threads: c.threadsPerInstance, batchSize: c.batchSize }, env).wall_s;
  const orchestrationS = sig(Math.max(0, s.wallTimeS - ranksOnly), 4);
  change(changes, 'run fixed cost s', base.orchestrationS, orchestrationS);
  profile = profileSchema.parse({ ...profile, orchestrationS });
  return { profile, kind: 'local', changes, notes };
}

function refineLambda(base: Profile, run: FinishedRun, o: RefineOptions): Refined {
  const s = run.summary;
  const c = s.configuration;
  const bytesPerSample = bytesPerSampleOf(run);
  const f = rankFigures(run.ranks, bytesPerSample);
  const notes: string[] = [];
  const changes: FigureChange[] = [];
  const old = base.lambda;
  if (!(f.inferenceS > 0) || !(f.downloadS > 0)) throw new DataError(run.location, `run ${s.runId}'s ranks report no inference or download time: nothing to refine from`);
  const samplesPerS = sig(f.samples / f.inferenceS);
  const s3BytesPerS = Math.round(f.bytes / f.downloadS);
  const coldStartS = sig(f.coldStartS ?? old?.coldStartS ?? base.workerStartS + base.modelLoadS, 4);
  // Per partition beyond cold start, S3 reads at the measured bandwidth, the rank's model time and its upload.
  const residuals = run.ranks.map((r) => {
    const t = rankTimes(r, bytesPerSample);
    return (t.rankS - t.modelLoadS - t.bytes / s3BytesPerS - t.inferenceS - t.uploadS) / Math.max(1, t.partitions);
  });
  const partitionOverheadS = sig(Math.max(0, sum(residuals) / residuals.length), 4);
  const thisRun: LambdaRun = {
    runId: s.runId,
    wallS: s.wallTimeS,
    samples: s.dataset.samples,
    worldSize: c.worldSize,
    concurrency: c.concurrency,
    partitionSamples: Math.ceil(s.dataset.samples / Math.max(1, s.dataset.partitions)),
    memoryMB: c.memoryMb,
    perSampleS: 1 / samplesPerS,
    partitionOverheadS,
    coldStartS,
    s3BytesPerS,
    bytesPerSample,
  };
  const runs = [...(old?.runs ?? []).filter((r) => r.runId !== s.runId), thisRun].slice(-MAX_PROFILE_RUNS);
  const timeParams = fitOrchestration(runs, old?.timeParams);
  if (new Set(runs.map((r) => r.worldSize)).size < 2) notes.push(`one world size among the runs: the per-result read keeps ${timeParams.resultReadS} s and only the fixed orchestration is fitted; refine from a run of another world size to fit both`);
  const lambda: LambdaFigures = { memoryMB: c.memoryMb, batchSize: c.batchSize, samplesPerS, coldStartS, s3BytesPerS, partitionOverheadS, timeParams, runs };
  change(changes, `lambda samples/s per rank at ${c.memoryMb} MB`, old?.samplesPerS, samplesPerS);
  change(changes, 'lambda cold start s', old?.coldStartS, coldStartS);
  change(changes, 'lambda S3 bytes/s per rank', old?.s3BytesPerS, s3BytesPerS);
  change(changes, 'lambda per-partition overhead s', old?.partitionOverheadS, partitionOverheadS);
  change(changes, 'lambda orchestration s', (old?.timeParams ?? DEFAULT_TIME_PARAMS).orchestrationS, timeParams.orchestrationS);
  change(changes, 'lambda per-result read s', (old?.timeParams ?? DEFAULT_TIME_PARAMS).resultReadS, timeParams.resultReadS);
  // The machine's own figures stay: this run did not run here.
  const { machine: _machine, ...meta } = refinedMeta(base, run, o);
  return { profile: profileSchema.parse({ ...base, ...meta, lambda }), kind: 'lambda', changes, notes };
}

/** A kept run as the serverless run model sees it. */
export function lambdaRunModel(r: LambdaRun): ModelRunConfig {
  return {
    samples: r.samples,
    worldSize: r.worldSize,
    partitionSamples: r.partitionSamples,
    concurrency: r.concurrency,
    perSampleInferenceS: r.perSampleS,
    partitionOverheadS: r.partitionOverheadS,
    coldStartS: r.coldStartS,
    downloadBytesPerS: r.s3BytesPerS,
    memoryGB: r.memoryMB / 1024,
    bytesPerSample: r.bytesPerSample,
  };
}

/**
 * The orchestration figures for the kept runs: both fitted (fitTimeModel) once the runs have two world
 * sizes and the fit is physical (neither negative); otherwise the per-result read stays and the fixed
 * orchestration is what the runs leave over on average.
 */
export function fitOrchestration(runs: readonly LambdaRun[], previous?: TimeModelParams): TimeModelParams {
  const observations = runs.map((r) => ({ config: lambdaRunModel(r), wallS: r.wallS }));
  if (new Set(runs.map((r) => r.worldSize)).size >= 2) {
    const fit = fitTimeModel(observations).params;
    if (fit.orchestrationS >= 0 && fit.resultReadS >= 0) return { orchestrationS: sig(fit.orchestrationS, 4), resultReadS: sig(fit.resultReadS, 4) };
  }
  const resultReadS = (previous ?? DEFAULT_TIME_PARAMS).resultReadS;
  const left = observations.map((ob) => ob.wallS - predictRun(ob.config, { orchestrationS: 0, resultReadS }).wallS);
  return { orchestrationS: sig(Math.max(0, sum(left) / left.length), 4), resultReadS };
}
