// A profile: what one machine and device measured for this project's inference code — samples/s by thread
// count and batch size, model load, worker start, partition read bandwidth — as versioned JSON with a zod
// schema, and the per-sample time the planner derives from it. `cai calibrate` writes profiles; the
// built-in default (DEFAULT_PROFILE) stands in when none is given and says so.
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DataError, UsageError } from '../errors.js';

export const PROFILE_FORMAT = 'cai-profile';
export const PROFILE_VERSION = 1;
/** A profile is a few KB; refuse anything far larger before reading it. */
export const MAX_PROFILE_BYTES = 1 << 20;
/** Runs a profile keeps for refitting (the most recent; older ones drop out). */
export const MAX_PROFILE_RUNS = 200;

const count = z.number().int().positive().max(1 << 20);
const seconds = z.number().finite().nonnegative().max(86_400);
const bigCount = z.number().int().positive().max(1e12);

export const throughputPointSchema = z
  .object({
    /** Intra-op threads of one instance (for a GPU: the worker's CPU threads, usually 1). */
    threads: count,
    batchSize: count,
    /** Samples per second of one instance, model input to predictions, data already in memory. */
    samplesPerS: z.number().finite().positive().max(1e9),
  })
  .strict();

/**
 * One finished AWS run as the serverless run model sees it (src/cost/time-model.ts RunConfig) with its
 * measured wall time: what `cai calibrate --from-run` keeps so that the orchestration figures can be
 * refitted on this account's own runs.
 */
export const lambdaRunSchema = z
  .object({
    runId: z.string().min(1).max(200),
    wallS: z.number().finite().positive().max(86_400 * 7),
    samples: bigCount,
    worldSize: count,
    concurrency: count,
    partitionSamples: bigCount,
    memoryMB: z.number().int().min(128).max(10_240),
    perSampleS: z.number().finite().nonnegative().max(60),
    partitionOverheadS: seconds,
    coldStartS: seconds,
    s3BytesPerS: z.number().finite().positive().max(1e12),
    bytesPerSample: z.number().finite().positive().max(1e9),
  })
  .strict();

/**
 * What finished AWS Lambda runs measured (`cai calibrate --from-run` on an AWS run's results): the rank
 * function's own rate at the memory it ran with, its cold start, S3 bandwidth and per-partition overhead;
 * and the runs, from which the orchestration figures are refitted. The lambda platform uses these in place
 * of this machine's figures when they are there.
 */
export const lambdaFiguresSchema = z
  .object({
    memoryMB: z.number().int().min(128).max(10_240),
    batchSize: count,
    /** Samples per second of one rank function at `memoryMB`, model time only. */
    samplesPerS: z.number().finite().positive().max(1e9),
    coldStartS: seconds,
    s3BytesPerS: z.number().finite().positive().max(1e12),
    partitionOverheadS: seconds,
    /** Orchestration figures fitted on `runs` (absent until they pin them down). */
    timeParams: z.object({ orchestrationS: seconds, resultReadS: seconds }).strict().optional(),
    runs: z.array(lambdaRunSchema).min(1).max(MAX_PROFILE_RUNS),
  })
  .strict();

export const deviceSchema = z
  .object({
    kind: z.enum(['cpu', 'cuda', 'webgpu']),
    /** The adapter or GPU name as the runtime reported it ("NVIDIA A10G", a WebGPU adapter's description). */
    adapter: z.string().min(1).max(200).optional(),
  })
  .strict();

export const profileSchema = z
  .object({
    format: z.literal(PROFILE_FORMAT),
    version: z.literal(PROFILE_VERSION),
    /** One line a person reads: what this is and whether it was measured. */
    label: z.string().min(1).max(300),
    /** True for built-in defaults that were not measured on the machine that uses them. */
    isDefault: z.boolean().optional(),
    measuredAt: z.string().regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/, 'measuredAt must be an ISO date'),
    /** The command(s) that produced the figures, or where they were taken from. */
    source: z.string().min(1).max(2000),
    machine: z
      .object({
        cpuModel: z.string().min(1).max(200),
        cores: count,
        memoryGB: z.number().finite().positive().max(1 << 20).optional(),
        /** Load average while measuring, when the machine was shared. */
        loadAverage: z.number().finite().nonnegative().max(10_000).optional(),
      })
      .strict(),
    device: deviceSchema,
    model: z.object({ name: z.string().min(1).max(200), sha256: z.string().regex(/^[0-9a-f]{64}$/).optional() }).strict(),
    throughput: z.array(throughputPointSchema).min(1).max(256),
    /**
     * Samples/s of each of `instances` one-thread instances running at once, one per core (all cores busy):
     * what instances on the same machine cost each other (shared caches, memory bandwidth).
     */
    allCores: z.object({ instances: count, batchSize: count, samplesPerS: z.number().finite().positive().max(1e9) }).strict().optional(),
    /** Opening the model in a fresh instance: runtime start and session creation (the cold start). */
    modelLoadS: seconds,
    /** Starting one worker process (or function runtime) before the model is opened. */
    workerStartS: seconds,
    /** Reading one partition from this machine's storage, bytes/s (checks included). */
    readBytesPerS: z.number().finite().positive().max(1e12),
    /** Per-partition time besides its samples (decode, first batch). */
    partitionOverheadS: seconds.optional(),
    /** Fixed time of a run on this machine outside the ranks (state machine, Initialize, Summarize). */
    orchestrationS: seconds.optional(),
    /** Peak memory of one instance with the model open, MB. */
    instanceMemoryMB: z.number().finite().positive().max(1 << 24).optional(),
    /** Finished runs this profile was refined from (`cai calibrate --from-run`). */
    refinedFrom: z.array(z.string().min(1).max(1000)).max(1000).optional(),
    /** Figures of this project's rank function on AWS Lambda, from finished AWS runs. */
    lambda: lambdaFiguresSchema.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.throughput.forEach((t, i) => {
      const key = `${t.threads}/${t.batchSize}`;
      if (seen.has(key)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['throughput', i], message: `threads ${t.threads} with batch ${t.batchSize} appears twice` });
      seen.add(key);
    });
  });

export type Profile = z.infer<typeof profileSchema>;
export type ThroughputPoint = z.infer<typeof throughputPointSchema>;
export type LambdaFigures = z.infer<typeof lambdaFiguresSchema>;
export type LambdaRun = z.infer<typeof lambdaRunSchema>;
export type ProfileDevice = Profile['device']['kind'];

/** Where `cai calibrate` writes a device's profile and `estimate`/`plan` look for it: $CAI_PROFILE_DIR, else build/profiles/ under the working directory (beside the built-in model's build/models/). */
export const DEFAULT_PROFILE_DIR = join('build', 'profiles');

export function profileDir(): string {
  return resolve(process.env.CAI_PROFILE_DIR || DEFAULT_PROFILE_DIR);
}

/** build/profiles/cpu.json, cuda.json, webgpu.json. */
export function defaultProfilePath(device: ProfileDevice): string {
  return join(profileDir(), `${device}.json`);
}

export const PROFILE_DEVICES: readonly ProfileDevice[] = deviceSchema.shape.kind.options;

/** Parse profile text; any problem is one DataError line naming `file` and the first offending field. */
export function parseProfile(text: string, file: string): Profile {
  if (text.length > MAX_PROFILE_BYTES) throw new DataError(file, `profile is ${text.length} bytes, more than the ${MAX_PROFILE_BYTES} allowed`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DataError(file, `not valid JSON (${(err as Error).message})`);
  }
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DataError(file, `invalid profile at ${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The built-in CPU profile, used when no profile is given. Its figures are this project's own
 * measurements on its 2-core reference machine (README, Benchmarks): `cai bench workflow --samples 4096
 * --partitions 8` ran the model alone on one thread over 4,096 samples in 9.73 s (421 samples/s) with a
 * 0.50 s cold start, and `cai bench infer --samples 4096 --repeats 5` ran 700.5 samples/s on two threads at
 * batch 256 with partition loads of 0.34 s for 84 MB (247 MB/s, sha256 included); docs/workflow.md gives
 * 466-485 MB peak memory per instance and about 0.17 s to start one more worker process; the run's fixed
 * cost outside the ranks is the 14.8% overhead of the W=1 run (1.69 s of 11.41 s) less its 0.50 s cold start.
 */
export const DEFAULT_PROFILE: Readonly<Profile> = Object.freeze({
  format: PROFILE_FORMAT,
  version: PROFILE_VERSION,
  label: 'default (built-in figures from the 2-core reference machine; measure yours with `cai calibrate`)',
  isDefault: true,
  measuredAt: '2026-11-26',
  source:
    'README Benchmarks: `cai bench workflow --samples 4096 --partitions 8` (1 thread, model alone: 421 samples/s; cold start 0.50 s; W=1 overhead 1.69 s) and `cai bench infer --samples 4096 --repeats 5` (2 threads, batch 256: 700.5 samples/s; partition loads 0.34 s for 84 MB); docs/workflow.md (peak RSS 466-485 MB per instance, 0.17 s per extra worker at 16)',
  machine: { cpuModel: 'Intel Xeon (2 cores, project reference machine)', cores: 2, memoryGB: 24 },
  device: { kind: 'cpu' },
  model: { name: 'astromae-calibrated (built-in)' },
  throughput: [
    { threads: 1, batchSize: 256, samplesPerS: 421 },
    { threads: 2, batchSize: 256, samplesPerS: 700.5 },
  ],
  modelLoadS: 0.33,
  workerStartS: 0.17,
  readBytesPerS: 247e6,
  partitionOverheadS: 0,
  orchestrationS: 1.19,
  instanceMemoryMB: 485,
}) as Profile;

/** Serial share assumed when a profile measured a single thread count (the default profile's own fit). */
export const DEFAULT_SERIAL_FRACTION = 0.2;

/**
 * Per-sample seconds of one instance with `threads` threads (fractional for a CPU share, as a Lambda
 * function below 1,769 MB gets) at `batchSize`: the profile's points at the nearest measured batch size,
 * fitted to Amdahl's law t(n) = t1 (s + (1 - s) / n); below one thread the time grows as 1 / n.
 */
export function perSampleSeconds(profile: Profile, threads: number, batchSize?: number): number {
  if (!(threads > 0) || !Number.isFinite(threads)) throw new UsageError(`threads must be a positive number, got ${threads}`);
  const curve = threadCurve(profile, batchSize);
  if (threads < 1) return curve.t1 / threads;
  return curve.t1 * (curve.serial + (1 - curve.serial) / threads);
}

export interface ThreadCurve {
  batchSize: number;
  /** Seconds per sample on one thread. */
  t1: number;
  /** Amdahl serial fraction. */
  serial: number;
}

/** The Amdahl fit of the profile's points at the batch size nearest `batchSize` (the fastest batch size when not given). */
export function threadCurve(profile: Profile, batchSize?: number): ThreadCurve {
  const batches = [...new Set(profile.throughput.map((p) => p.batchSize))];
  const chosen =
    batchSize === undefined
      ? batches.reduce((best, b) => (bestRate(profile, b) > bestRate(profile, best) ? b : best), batches[0])
      : batches.reduce((best, b) => (Math.abs(Math.log(b / batchSize)) < Math.abs(Math.log(best / batchSize)) ? b : best), batches[0]);
  const pts = profile.throughput.filter((p) => p.batchSize === chosen);
  if (pts.length === 1) {
    // One thread count: take the default serial share and solve for t1.
    const p = pts[0];
    const t = 1 / p.samplesPerS;
    const s = p.threads === 1 ? 1 : DEFAULT_SERIAL_FRACTION;
    const t1 = t / (s + (1 - s) / p.threads);
    return { batchSize: chosen, t1, serial: p.threads === 1 ? DEFAULT_SERIAL_FRACTION : s };
  }
  // Least squares of t = a + b / n (a = t1 s, b = t1 (1 - s)), a and b kept non-negative.
  const xs = pts.map((p) => 1 / p.threads);
  const ys = pts.map((p) => 1 / p.samplesPerS);
  const mx = xs.reduce((s, x) => s + x, 0) / xs.length;
  const my = ys.reduce((s, y) => s + y, 0) / ys.length;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  let b = sxx > 0 ? sxy / sxx : my / mx;
  let a = my - b * mx;
  if (a < 0) {
    a = 0;
    b = ys.reduce((s, y, i) => s + y * xs[i], 0) / xs.reduce((s, x) => s + x * x, 0);
  }
  if (b < 0) {
    b = 0;
    a = my;
  }
  const t1 = a + b;
  return { batchSize: chosen, t1, serial: t1 > 0 ? a / t1 : 0 };
}

function bestRate(profile: Profile, batch: number): number {
  return Math.max(...profile.throughput.filter((p) => p.batchSize === batch).map((p) => p.samplesPerS));
}

/**
 * How much slower each of C instances of T threads runs than one alone, on a machine of `cores` cores:
 * time-slicing once the threads outnumber the cores, and the instances' cost to each other, measured with
 * every core busy (`allCores`) and taken in proportion to the cores the other instances keep busy.
 */
export function instanceSlowdown(p: Profile, concurrency: number, threads: number, cores: number): number {
  const oversubscribed = Math.max(1, (concurrency * threads) / cores);
  const a = p.allCores;
  if (!a || concurrency <= 1 || cores <= 1) return oversubscribed;
  const alone = 1 / perSampleSeconds(p, 1, a.batchSize);
  const full = Math.max(1, alone / a.samplesPerS);
  const others = (Math.min(concurrency * threads, cores) - Math.min(threads, cores)) / (cores - 1);
  return oversubscribed * (1 + (full - 1) * Math.max(0, others));
}

/** What a prediction says it was based on about its profile. */
export function profileRef(profile: Profile): { label: string; measuredAt: string; isDefault: boolean; device: string; machine: string } {
  return {
    label: profile.label,
    measuredAt: profile.measuredAt,
    isDefault: profile.isDefault === true,
    device: profile.device.adapter ? `${profile.device.kind} (${profile.device.adapter})` : profile.device.kind,
    machine: `${profile.machine.cpuModel}, ${profile.machine.cores} cores`,
  };
}
