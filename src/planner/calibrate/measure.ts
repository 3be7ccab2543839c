// `cai calibrate`'s measurements on this machine and device: samples/s of one instance by thread count and
// batch size (data in memory, the engine's own predict path), the first model session (the cold start's
// model load), a synthesized partition read and verified from disk, and a whole one-rank run through the
// local-processes backend (worker start, the run's fixed cost, the rank's per-partition time, its memory).
// Everything runs on temporary files that are removed afterwards; the result is plain numbers for
// profile-of.ts.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { DatasetWriter, openLocalDataset } from '../../data/dataset.js';
import { slicePartition, type Partition } from '../../data/partition.js';
import { synthesize } from '../../data/synth/generator.js';
import { InferenceEngine } from '../../inference/engine.js';
import { median } from '../../metrics/statistics.js';
import type { Device, DeviceChoice } from '../../runtime/devices.js';
import { openStorage } from '../../storage/index.js';
import type { ThroughputPoint } from '../profile.js';
import type { CalibrationMeasurements, OneRankRun } from './profile-of.js';

export interface CalibrateOptions {
  device?: DeviceChoice;
  /** ONNX model to measure (default: the built-in calibrated model). */
  model?: string;
  /** Two batch sizes, one round of fewer samples and one run instead of two: under a minute on two cores. */
  quick?: boolean;
  /** The command line, recorded in the profile's `source`. */
  command?: string;
  onProgress?: (p: CalibrationProgress) => void;
}

export interface CalibrationProgress {
  step: string;
  done: number;
  total: number;
  /** Seconds left, from the pace so far; null before the first step ends. */
  etaS: number | null;
}

/** What one calibration does: the thread counts, batch sizes and sample counts it measures. */
export interface CalibrationPlan {
  threads: number[];
  batchSizes: number[];
  samplesPerPoint: number;
  /**
   * Every point is measured this many times, the points taking turns, and its median counts: a burst of
   * other work on a shared machine then moves every point alike instead of bending the thread curve.
   */
  rounds: number;
  /** Samples of the synthesized data set the read and the one-rank runs use, and its partitions. */
  runSamples: number;
  runPartitions: number;
  runs: number;
}

/** 1, 2, 4, ... up to the cores, and the cores themselves. */
export function threadSteps(cores: number): number[] {
  const out: number[] = [];
  for (let t = 1; t < cores; t *= 2) out.push(t);
  out.push(cores);
  return out;
}

export function calibrationPlan(device: string, cores: number, quick: boolean): CalibrationPlan {
  // A GPU wants larger batches; its CPU threads matter little, so it is measured at one.
  const gpu = device !== 'cpu';
  const batchSizes = gpu ? (quick ? [256, 1024] : [256, 512, 1024]) : quick ? [64, 256] : [64, 256, 512];
  return {
    threads: gpu ? [1] : threadSteps(cores),
    batchSizes,
    samplesPerPoint: gpu ? 4096 : quick ? 256 : 1024,
    rounds: quick ? 1 : 3,
    runSamples: quick ? 256 : 1024,
    runPartitions: 2,
    runs: quick ? 1 : 2,
  };
}

/** Tracks the steps and their expected share of the time, for the ETA. */
class Steps {
  private readonly t0 = performance.now();
  private doneWeight = 0;
  private done = 0;
  constructor(
    private readonly weights: number[],
    private readonly onProgress?: (p: CalibrationProgress) => void,
  ) {}
  start(step: string): void {
    const total = this.weights.reduce((s, w) => s + w, 0);
    const elapsed = (performance.now() - this.t0) / 1000;
    const etaS = this.doneWeight > 0 ? (elapsed / this.doneWeight) * (total - this.doneWeight) : null;
    this.onProgress?.({ step, done: this.done, total: this.weights.length, etaS });
  }
  end(): void {
    this.doneWeight += this.weights[this.done] ?? 0;
    this.done++;
  }
}

export async function measureCalibration(opts: CalibrateOptions = {}): Promise<CalibrationMeasurements> {
  const loadBefore = loadavg()[0]!;
  const cores = availableParallelism();
  const choice = opts.device ?? 'cpu';
  let model = opts.model !== undefined ? resolve(opts.model) : undefined;
  let modelName = model ? basename(model) : 'astromae-calibrated (built-in)';
  if (model === undefined) {
    const { ensureBuiltinModel } = await import('../../model/builtin.js');
    model = await ensureBuiltinModel();
    modelName = 'astromae-calibrated (built-in)';
  }
  const sha256 = createHash('sha256').update(await readFile(model)).digest('hex');

  // The first session opened in this process pays the runtime's load, as a fresh instance does; it also
  // settles which device `auto` gets, and so which plan applies.
  const firstOpen = performance.now();
  const probe = await InferenceEngine.open(model, { batchSize: 256, threads: 1, device: choice, onFallback: () => undefined });
  const modelLoadS = (performance.now() - firstOpen) / 1000;
  const device = probe.device;
  await probe.close();
  const plan = calibrationPlan(device, cores, opts.quick === true);

  // Expected seconds of each step at a nominal 300 samples/s per thread, for the ETA only.
  const points = plan.threads.flatMap((threads) => plan.batchSizes.map((batchSize) => ({ threads, batchSize })));
  const perRound = (b: number) => Math.max(Math.ceil(plan.samplesPerPoint / plan.rounds), b);
  // A CPU of several cores is also measured with every core busy: one one-thread instance per core at once.
  const allCoresBatch = 256;
  const withAllCores = device === 'cpu' && cores > 1;
  const roundWeights = [...points.map((q) => 1 + perRound(q.batchSize) / (300 * q.threads ** 0.8)), ...(withAllCores ? [1 + perRound(allCoresBatch) / 300] : [])];
  const pointWeights = Array.from({ length: plan.rounds }, () => roundWeights).flat();
  const runWeight = 3 + plan.runSamples / 300;
  const steps = new Steps([...pointWeights, 1, ...Array.from({ length: plan.runs }, () => runWeight)], opts.onProgress);

  const dir = await mkdtemp(join(tmpdir(), 'cai-calibrate-'));
  try {
    const all = synthesize({ samples: Math.max(...plan.batchSizes.map(perRound)), seed: 11, startIndex: 0 });
    const rates = points.map((): number[] => []);
    const allCoresRates: number[] = [];
    for (let round = 1; round <= plan.rounds; round++) {
      for (const [i, { threads, batchSize }] of points.entries()) {
        steps.start(`samples/s at ${threads} thread${threads === 1 ? '' : 's'}, batch ${batchSize} (round ${round}/${plan.rounds})`);
        rates[i]!.push(await measureRate(model, device, threads, batchSize, all, perRound(batchSize)));
        steps.end();
      }
      if (withAllCores) {
        steps.start(`samples/s of ${cores} one-thread instances at once, batch ${allCoresBatch} (round ${round}/${plan.rounds})`);
        allCoresRates.push(await measureAllCores(model, cores, allCoresBatch, all, perRound(allCoresBatch)));
        steps.end();
      }
    }
    const throughput: ThroughputPoint[] = points.map((q, i) => ({ ...q, samplesPerS: median(rates[i]!) }));
    const allCores = withAllCores ? { instances: cores, batchSize: allCoresBatch, samplesPerS: median(allCoresRates) } : undefined;

    steps.start('reading a partition back (sha256 included)');
    const data = join(dir, 'data');
    const writer = await DatasetWriter.create(data, { labelled: true, partitionSamples: Math.ceil(plan.runSamples / plan.runPartitions), name: 'calibrate' });
    await writer.append(synthesize({ samples: plan.runSamples, seed: 12, startIndex: 0 }));
    const manifest = await writer.finish();
    const readBytesPerS = await measureReads(data, 2);
    steps.end();

    const runs: OneRankRun[] = [];
    for (let i = 0; i < plan.runs; i++) {
      steps.start(`one-rank run ${i + 1}/${plan.runs} through the local worker processes (${manifest.samples} samples)`);
      runs.push(await oneRankRun(data, model, join(dir, 'results'), `calibrate-${i + 1}`, manifest.bytes / manifest.samples));
      steps.end();
    }
    const loadAfter = loadavg()[0]!;
    return {
      measuredAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      command: opts.command ?? `cai calibrate --device ${choice}${opts.quick ? ' --quick' : ''}`,
      machine: { cpuModel: cpus()[0]?.model.trim() || 'unknown CPU', cores, memoryGB: totalmem() / 2 ** 30, loadAverage: (loadBefore + loadAfter) / 2 },
      device: device === 'cpu' ? { kind: 'cpu' } : { kind: device, ...adapterOf() },
      model: { name: modelName, sha256 },
      throughput,
      ...(allCores ? { allCores } : {}),
      modelLoadS,
      readBytesPerS,
      runs,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Samples/s of one fresh instance at `threads` and `batchSize` over `n` samples, after a warm-up batch. */
async function measureRate(model: string, device: Device, threads: number, batchSize: number, all: Partition, n: number): Promise<number> {
  // Each measurement opens its own session: an idle session's thread pool would compete with the one measured.
  const engine = await InferenceEngine.open(model, { batchSize, threads, device, onFallback: () => undefined });
  try {
    // One batch first: the first call's allocations are a cold start's, not the rate's.
    await engine.predict(slicePartition(all, 0, batchSize));
    const t0 = performance.now();
    await engine.predict(slicePartition(all, 0, n));
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await engine.close();
  }
}

/** Samples/s of each of `instances` one-thread instances predicting at once (the mean over them). */
async function measureAllCores(model: string, instances: number, batchSize: number, all: Partition, n: number): Promise<number> {
  const engines: InferenceEngine[] = [];
  try {
    for (let i = 0; i < instances; i++) engines.push(await InferenceEngine.open(model, { batchSize, threads: 1, device: 'cpu', onFallback: () => undefined }));
    for (const e of engines) await e.predict(slicePartition(all, 0, batchSize));
    const seconds = await Promise.all(
      engines.map(async (e) => {
        const t0 = performance.now();
        await e.predict(slicePartition(all, 0, n));
        return (performance.now() - t0) / 1000;
      }),
    );
    return seconds.reduce((sum, t) => sum + n / t, 0) / seconds.length;
  } finally {
    await Promise.all(engines.map((e) => e.close()));
  }
}

/** Bytes/s of reading every partition `times` times, as a rank reads it: size check, sha256, decode. */
async function measureReads(dir: string, times: number): Promise<number> {
  const ds = await openLocalDataset(dir);
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < times; i++) {
    for (const entry of ds.manifest.partitions) {
      await ds.readPartition(entry, { verify: 'sha256' });
      bytes += entry.bytes;
    }
  }
  return bytes / ((performance.now() - t0) / 1000);
}

/** A whole run of one rank on one thread: the state machine, a fresh worker process, Summarize. */
async function oneRankRun(data: string, model: string, out: string, runId: string, bytesPerSample: number): Promise<OneRankRun> {
  const { makeRunConfig } = await import('../../workflow/run-config.js');
  const { runLocalWorkflow } = await import('../../workflow/local-engine.js');
  const { parseContract, rankResultSchema, resultKeys } = await import('../../workflow/contracts.js');
  const run = makeRunConfig({ data, model, out, worldSize: 1, concurrency: 1, threads: 1, batchSize: 256, report: false, runId });
  const { summary } = await runLocalWorkflow({ run });
  if (summary.status !== 'complete') throw new Error(`the calibration run ${runId} ended ${summary.status}`);
  const r = parseContract(rankResultSchema, await openStorage(run.results.uri).get(resultKeys.rank(runId, 0)), `${runId} rank 0`);
  return {
    wallS: summary.wallTimeS,
    initS: r.timings.initMs / 1000,
    rankS: r.timings.totalMs / 1000,
    modelLoadS: r.timings.modelLoadMs / 1000,
    uploadS: r.timings.uploadMs / 1000,
    inferenceS: r.timings.inferenceMs / 1000,
    samples: r.samples,
    partitions: r.partitions.length,
    // As stored (what the rank read), the measure the local model divides by the read bandwidth.
    bytes: r.samples * bytesPerSample,
    threads: run.threads,
    batchSize: run.batchSize,
    peakRssMB: r.memory.peakRssMB,
  };
}

/** The GPU's name as the driver reports it, when nvidia-smi is there (the gpu model scales by the name's FP32 peak). */
function adapterOf(): { adapter?: string } {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const name = out.split('\n')[0]?.trim();
    return name ? { adapter: name.slice(0, 200) } : {};
  } catch {
    return {};
  }
}
