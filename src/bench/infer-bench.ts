// The inference benchmark: how close the end-to-end pipeline (fetch + verify + decode + batches + model)
// comes to the model alone. Both run in the same process, on the same model, batch size, threads and
// samples: (a) onnxruntime directly on pre-built input tensors, (b) inferPartitions over a synthesized data
// set on disk. The ratio (b)/(a) shows what the pipeline costs; the target is >= 0.9.
// With precision int8 the measured model is the int8 one, and (c) the fp32 model alone is measured in the
// same loop: int8 raw / fp32 raw is the int8 speed-up (target >= 1.5), and both models predict the same
// held-out synthetic galaxies for the accuracy comparison. Every figure is also set against the CPU's
// arithmetic peak (cpu-peak.ts).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetWriter, openLocalDataset } from '../data/dataset.js';
import { IMAGE_SIZE, INPUT_BYTES_PER_SAMPLE, N_BANDS } from '../data/manifest.js';
import { PIXELS_PER_SAMPLE, concatPartitions, type Partition } from '../data/partition.js';
import { synthesize } from '../data/synth/generator.js';
import type { VerifyMode } from '../data/verify-mode.js';
import { UsageError } from '../errors.js';
import { InferenceEngine, inferPartitions, type GpuCount } from '../inference/engine.js';
import { placementMetrics, type PlacementMetrics } from '../inference/metrics.js';
import { openSession } from '../inference/session.js';
import { accuracyMetrics } from '../metrics/accuracy.js';
import { median } from '../metrics/statistics.js';
import { analyseGraph } from '../model/onnx/analysis.js';
import { decodeModel } from '../model/onnx/schema.js';
import { describeAdapter } from '../runtime/adapters.js';
import type { DeviceChoice } from '../runtime/devices.js';
import { float32Tensor, type Feeds, type RuntimeSession } from '../runtime/onnxruntime.js';
import { peakRssBytes } from '../util/peak-memory.js';
import { fractionOfPeak, parseCpuPeak, peakFp32Gflops, peakInt8Gops, type CpuPeak } from './cpu-peak.js';

export const INFER_BENCH_TARGET_RATIO = 0.9;
export const INT8_SPEEDUP_TARGET = 1.5;
export const INT8_MAX_DZ_TARGET = 0.005;
export const INT8_NMAD_DIFF_TARGET = 0.001;
/** Seed of the held-out galaxies of the int8 accuracy comparison: not the calibration seed (1000) nor the fp32 build's held-out (1001). */
export const INT8_ACCURACY_SEED = 1002;

export interface InferBenchOptions {
  /** Model path; default: the built-in AstroMAE model. */
  model?: string;
  samples: number;
  /** Default: the device's (engine.ts). */
  batchSize?: number;
  threads?: number;
  device?: DeviceChoice;
  /** GPUs and sessions per GPU of the engine (the raw measurement is one session on the first GPU). */
  gpus?: GpuCount;
  sessionsPerGpu?: number;
  /** Samples per partition of the synthesized data set; default 2 x batch size. */
  partitionSamples?: number;
  /** Each measurement is repeated; the best run counts (least disturbed by other load). */
  repeats?: number;
  readAhead?: number;
  verify?: VerifyMode;
  seed?: number;
  /** int8: measure the int8 model (built-in, or `model` quantized with the defaults, or `int8Model`) against fp32. */
  precision?: 'fp32' | 'int8';
  int8Model?: string;
  /** Held-out galaxies both models predict for the accuracy comparison (int8 only). Default 4096. */
  accuracySamples?: number;
  /** /proc/cpuinfo and cpufreq text, for tests; default: read from the machine. */
  cpuInfo?: { cpuinfo: string; maxFreqKHz?: string };
  onStatus?: (text: string) => void;
}

/** How far a model's measured rate is from the CPU's peak. */
export interface LimitFigures {
  precision: 'fp32' | 'int8';
  /** 2 x MACs per sample, and the part of them done by integer kernels. */
  gflopsPerSample: number;
  int8GopsPerSample: number;
  samplesPerS: number;
  /** All multiply-adds (float and integer) per second, x2. */
  achievedGops: number;
  /** The peak of the cores used for this model's mix of float and integer work. */
  peakGops: number;
  fractionOfPeak: number;
}

export interface Int8Comparison {
  fp32Model: string;
  int8Model: string;
  fp32Raw: Measurement;
  /** int8 raw samples/s / fp32 raw samples/s (best repeat of each). */
  speedup: number;
  /** Median over repeats of fp32 raw time / int8 raw time of the same repeat. */
  pairedSpeedup: number;
  target: number;
  meetsTarget: boolean;
  accuracy: {
    samples: number;
    seed: number;
    maxAbsDiff: number;
    meanAbsDiff: number;
    fp32SigmaNmad: number;
    int8SigmaNmad: number;
    sigmaNmadDiff: number;
    maxAbsDiffTarget: number;
    sigmaNmadDiffTarget: number;
    meetsTarget: boolean;
  };
}

export interface Measurement {
  /** Seconds of each repeat. */
  seconds: number[];
  bestSeconds: number;
  samplesPerS: number;
  bitsPerS: number;
}

export interface InferBenchResult {
  model: string;
  device: string;
  samples: number;
  batchSize: number;
  threads: number;
  partitions: number;
  partitionSamples: number;
  readAhead: number;
  verify: VerifyMode;
  raw: Measurement;
  endToEnd: Measurement & {
    /** Of the best repeat: time inside the model, partition load time, and load time the model waited for. */
    inferenceS: number;
    loadS: number;
    waitS: number;
    /** Share of the end-to-end wall time the model was running: what the pipeline lets the model do, robust to load from other processes. */
    modelBusy: number;
  };
  /** endToEnd.samplesPerS / raw.samplesPerS (best repeat of each) */
  ratio: number;
  /** Median over repeats of raw time / end-to-end time of the same repeat: adjacent runs see similar load from other processes. */
  pairedRatio: number;
  /** The engine's adapter, sessions and warm-up; with several sessions the pipeline can pass the one raw session. */
  placement: PlacementMetrics;
  /** Seconds of the raw session's first batch: its kernels compiled in a second process, after the engine's. */
  rawFirstBatchS: number;
  target: number;
  meetsTarget: boolean;
  peakMemoryMB: number;
  precision: 'fp32' | 'int8';
  /** Against the limit: the CPU's peak and each model's fraction of it (cpu is null when /proc/cpuinfo is unreadable). */
  limit: { cpu: CpuPeak | null; coresUsed: number; models: LimitFigures[] };
  int8?: Int8Comparison;
}

async function readCpuPeak(given?: { cpuinfo: string; maxFreqKHz?: string }): Promise<CpuPeak | null> {
  try {
    if (given) return parseCpuPeak(given.cpuinfo, given.maxFreqKHz);
    const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
    const maxFreq = await readFile('/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq', 'utf8').catch(() => undefined);
    return parseCpuPeak(cpuinfo, maxFreq);
  } catch {
    return null;
  }
}

async function modelFlops(path: string): Promise<{ flops: number; int8: number }> {
  const a = analyseGraph(decodeModel(new Uint8Array(await readFile(path))).graph);
  return { flops: a.flopsPerSample, int8: a.int8FlopsPerSample };
}

function limitFigures(cpu: CpuPeak | null, cores: number, precision: 'fp32' | 'int8', f: { flops: number; int8: number }, samplesPerS: number): LimitFigures {
  // The time the peak needs per sample for this mix of float and integer work; its inverse is the mix's peak rate.
  const peakSecondsPerSample = cpu ? (f.flops - f.int8) / (peakFp32Gflops(cpu, cores) * 1e9) + f.int8 / (peakInt8Gops(cpu, cores) * 1e9) : NaN;
  return {
    precision,
    gflopsPerSample: f.flops / 1e9,
    int8GopsPerSample: f.int8 / 1e9,
    samplesPerS,
    achievedGops: (f.flops * samplesPerS) / 1e9,
    peakGops: f.flops / peakSecondsPerSample / 1e9,
    fractionOfPeak: cpu ? fractionOfPeak(cpu, cores, samplesPerS, f.flops - f.int8, f.int8) : NaN,
  };
}

/** Predict every sample of `p` with `session`, in batches. */
async function predictAll(session: RuntimeSession, p: Partition, batchSize: number): Promise<Float32Array> {
  const z = new Float32Array(p.count);
  for (let s = 0; s < p.count; s += batchSize) {
    const e = Math.min(p.count, s + batchSize);
    const out = await session.run({
      image: float32Tensor(p.image.subarray(s * PIXELS_PER_SAMPLE, e * PIXELS_PER_SAMPLE), [e - s, N_BANDS, IMAGE_SIZE, IMAGE_SIZE]),
      magnitude: float32Tensor(p.magnitude.subarray(s * N_BANDS, e * N_BANDS), [e - s, N_BANDS]),
    });
    const t = Object.values(out)[0]!;
    z.set(t.data as Float32Array, s);
    t.dispose();
  }
  return z;
}

function measurement(samples: number, seconds: number[]): Measurement {
  const best = Math.min(...seconds);
  return { seconds, bestSeconds: best, samplesPerS: samples / best, bitsPerS: (samples * INPUT_BYTES_PER_SAMPLE * 8) / best };
}

export async function runInferBench(options: InferBenchOptions): Promise<InferBenchResult> {
  const samples = options.samples;
  if (options.partitionSamples !== undefined && options.partitionSamples < 1) throw new UsageError(`--partition-samples must be at least 1`);
  if (options.readAhead !== undefined && options.readAhead < 0) throw new UsageError(`--read-ahead must be 0 or more`);
  if (!Number.isSafeInteger(samples) || samples < 1) throw new UsageError(`--samples must be a positive integer, got ${samples}`);
  if (options.batchSize !== undefined && (!Number.isSafeInteger(options.batchSize) || options.batchSize < 1)) throw new UsageError(`--batch-size must be a positive integer, got ${options.batchSize}`);
  const threads = options.threads ?? availableParallelism();
  const repeats = options.repeats ?? 2;
  const readAhead = options.readAhead ?? 1;
  const verify = options.verify ?? 'sha256';
  if (!Number.isSafeInteger(repeats) || repeats < 1) throw new UsageError(`--repeats must be a positive integer, got ${repeats}`);
  const status = options.onStatus ?? (() => undefined);
  const precision = options.precision ?? 'fp32';
  const accuracySamples = options.accuracySamples ?? 4096;
  if (!Number.isSafeInteger(accuracySamples) || accuracySamples < 1) throw new UsageError(`--accuracy-samples must be a positive integer, got ${accuracySamples}`);
  if (options.int8Model && precision !== 'int8') throw new UsageError('--int8-model applies to --precision int8');

  const dir = await mkdtemp(join(tmpdir(), 'cai-bench-infer-'));
  try {
    let model = options.model;
    let fp32Model: string | undefined;
    if (model === undefined) {
      status('preparing the built-in model');
      const { ensureBuiltinModel, ensureBuiltinInt8Model } = await import('../model/builtin.js');
      model = await ensureBuiltinModel();
      if (precision === 'int8') {
        status('preparing the built-in int8 model');
        fp32Model = model;
        model = options.int8Model ?? (await ensureBuiltinInt8Model(model));
      }
    } else if (precision === 'int8') {
      fp32Model = model;
      if (options.int8Model) model = options.int8Model;
      else {
        status(`quantizing ${model}`);
        const { quantizeOnnxFile } = await import('../model/quantize/quantize-file.js');
        const out = join(dir, 'int8.onnx');
        await quantizeOnnxFile(model, out);
        model = out;
      }
    }

    // Every contender is opened and warmed first (the engine decides the device and the batch size the
    // raw sessions then use), then measured alternately, so that other load on the machine affects them
    // alike; the best repeat of each counts.
    status('opening the model (in the engine, and alone)');
    const engine = await InferenceEngine.open(model, { batchSize: options.batchSize, threads, device: options.device ?? 'cpu', gpus: options.gpus, sessionsPerGpu: options.sessionsPerGpu });
    const batchSize = engine.batchSize;
    const partitionSamples = options.partitionSamples ?? 2 * batchSize;
    let session: RuntimeSession;
    let device: string;
    let baseline: Awaited<ReturnType<typeof openSession>> | undefined;
    try {
      ({ session, device } = await openSession(model, { device: engine.device, threads }));
      baseline = fp32Model
        ? await openSession(fp32Model, { device: engine.device, threads }).catch(async (err: unknown) => {
            await session.release();
            throw err;
          })
        : undefined;
    } catch (err) {
      await engine.close();
      throw err;
    }

    status(`synthesizing ${samples} samples`);
    const writer = await DatasetWriter.create(dir, { labelled: true, partitionSamples, name: 'bench-infer' });
    const parts: Partition[] = [];
    for (let start = 0; start < samples; start += partitionSamples) {
      const p = synthesize({ samples: Math.min(partitionSamples, samples - start), seed: options.seed ?? 1, startIndex: start });
      parts.push(p);
      await writer.append(p);
    }
    const manifest = await writer.finish();
    const all = parts.length === 1 ? parts[0]! : concatPartitions(parts);
    parts.length = 0;

    let rawFirstBatchS = 0;
    const rawSeconds: number[] = [];
    const fp32Seconds: number[] = [];
    let accuracy: Int8Comparison['accuracy'] | undefined;
    const e2eSeconds: number[] = [];
    let best: { inferenceMs: number; downloadMs: number; waitMs: number; wallMs: number } | undefined;
    try {
      // (a) the model alone: every batch's tensors built before the clock starts.
      const feeds: Feeds[] = [];
      for (let s = 0; s < samples; s += batchSize) {
        const e = Math.min(samples, s + batchSize);
        feeds.push({
          image: float32Tensor(all.image.subarray(s * PIXELS_PER_SAMPLE, e * PIXELS_PER_SAMPLE), [e - s, N_BANDS, IMAGE_SIZE, IMAGE_SIZE]),
          magnitude: float32Tensor(all.magnitude.subarray(s * N_BANDS, e * N_BANDS), [e - s, N_BANDS]),
        });
      }
      // Warm-up: first-run allocations and kernel selection, in every session (the engine warmed up at open on a GPU).
      const tw = performance.now();
      await session.run(feeds[0]!);
      rawFirstBatchS = (performance.now() - tw) / 1000;
      if (baseline) await baseline.session.run(feeds[0]!);
      const w = Math.min(batchSize, samples);
      await engine.predict({ count: w, image: all.image.subarray(0, w * PIXELS_PER_SAMPLE), magnitude: all.magnitude.subarray(0, w * N_BANDS), objectId: all.objectId.subarray(0, w) });
      const dataset = await openLocalDataset(dir);
      for (let r = 0; r < repeats; r++) {
        let t0: number;
        if (baseline) {
          status(`repeat ${r + 1}/${repeats}: onnxruntime alone, fp32 model`);
          t0 = performance.now();
          for (const f of feeds) await baseline.session.run(f);
          fp32Seconds.push((performance.now() - t0) / 1000);
        }
        status(`repeat ${r + 1}/${repeats}: onnxruntime alone${baseline ? ', int8 model' : ''}`);
        t0 = performance.now();
        for (const f of feeds) await session.run(f);
        rawSeconds.push((performance.now() - t0) / 1000);

        // (b) the pipeline: partitions read from disk, verified, decoded and predicted with read-ahead.
        status(`repeat ${r + 1}/${repeats}: end-to-end pipeline`);
        t0 = performance.now();
        const res = await inferPartitions({ dataset, engine, readAhead, verify });
        const wallMs = performance.now() - t0;
        e2eSeconds.push(wallMs / 1000);
        if (!best || wallMs < best.wallMs) best = { inferenceMs: res.inferenceMs, downloadMs: res.downloadMs, waitMs: res.waitMs, wallMs };
      }
      if (baseline) {
        status(`accuracy: ${accuracySamples} held-out galaxies (seed ${INT8_ACCURACY_SEED}) through both models`);
        const held = synthesize({ samples: accuracySamples, seed: INT8_ACCURACY_SEED });
        const zFp32 = await predictAll(baseline.session, held, batchSize);
        const zInt8 = await predictAll(session, held, batchSize);
        let maxAbs = 0;
        let sumAbs = 0;
        for (let i = 0; i < held.count; i++) {
          const d = Math.abs(zInt8[i]! - zFp32[i]!);
          if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? Infinity : d;
          sumAbs += d;
        }
        const fp32SigmaNmad = accuracyMetrics(held.redshift!, zFp32).sigmaNmad!;
        const int8SigmaNmad = accuracyMetrics(held.redshift!, zInt8).sigmaNmad!;
        const sigmaNmadDiff = int8SigmaNmad - fp32SigmaNmad;
        accuracy = {
          samples: held.count,
          seed: INT8_ACCURACY_SEED,
          maxAbsDiff: maxAbs,
          meanAbsDiff: sumAbs / held.count,
          fp32SigmaNmad,
          int8SigmaNmad,
          sigmaNmadDiff,
          maxAbsDiffTarget: INT8_MAX_DZ_TARGET,
          sigmaNmadDiffTarget: INT8_NMAD_DIFF_TARGET,
          meetsTarget: maxAbs <= INT8_MAX_DZ_TARGET && Math.abs(sigmaNmadDiff) <= INT8_NMAD_DIFF_TARGET,
        };
      }
    } finally {
      await session.release();
      await baseline?.session.release();
      await engine.close();
    }
    const placement = placementMetrics(engine.layout);

    const raw = measurement(samples, rawSeconds);
    const e2e = measurement(samples, e2eSeconds);
    const ratio = e2e.samplesPerS / raw.samplesPerS;
    const pairedRatio = median(rawSeconds.map((r, i) => r / e2eSeconds[i]!));
    const cpu = await readCpuPeak(options.cpuInfo);
    const coresUsed = cpu ? Math.min(threads, cpu.cores) : threads;
    const models: LimitFigures[] = [];
    let int8: Int8Comparison | undefined;
    if (fp32Model) {
      const fp32Raw = measurement(samples, fp32Seconds);
      models.push(limitFigures(cpu, coresUsed, 'fp32', await modelFlops(fp32Model), fp32Raw.samplesPerS));
      models.push(limitFigures(cpu, coresUsed, 'int8', await modelFlops(model), raw.samplesPerS));
      const speedup = raw.samplesPerS / fp32Raw.samplesPerS;
      int8 = {
        fp32Model,
        int8Model: model,
        fp32Raw,
        speedup,
        pairedSpeedup: median(fp32Seconds.map((f, i) => f / rawSeconds[i]!)),
        target: INT8_SPEEDUP_TARGET,
        meetsTarget: speedup >= INT8_SPEEDUP_TARGET,
        accuracy: accuracy!,
      };
    } else models.push(limitFigures(cpu, coresUsed, 'fp32', await modelFlops(model), raw.samplesPerS));
    return {
      model,
      device,
      samples,
      batchSize,
      threads,
      partitions: manifest.partitions.length,
      partitionSamples,
      readAhead,
      verify,
      raw,
      endToEnd: { ...e2e, inferenceS: best!.inferenceMs / 1000, loadS: best!.downloadMs / 1000, waitS: best!.waitMs / 1000, modelBusy: best!.inferenceMs / best!.wallMs },
      ratio,
      pairedRatio,
      placement,
      rawFirstBatchS,
      target: INFER_BENCH_TARGET_RATIO,
      meetsTarget: ratio >= INFER_BENCH_TARGET_RATIO,
      peakMemoryMB: peakRssBytes() / 1e6,
      precision,
      limit: { cpu, coresUsed, models },
      ...(int8 ? { int8 } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatInferBench(r: InferBenchResult): string {
  const f = (v: number): string => v.toFixed(1);
  return [
    `inference benchmark: ${r.samples} samples, batch ${r.batchSize}, ${r.threads} threads, ${r.device}; ${r.partitions} partitions of ${r.partitionSamples} (read-ahead ${r.readAhead}, verify ${r.verify})`,
    `  onnxruntime alone     ${f(r.raw.samplesPerS).padStart(10)} samples/s  ${(r.raw.bitsPerS / 1e6).toFixed(1).padStart(8)} Mbit/s   best of ${r.raw.seconds.map((s) => s.toFixed(2)).join(', ')} s`,
    `  end to end (pipeline) ${f(r.endToEnd.samplesPerS).padStart(10)} samples/s  ${(r.endToEnd.bitsPerS / 1e6).toFixed(1).padStart(8)} Mbit/s   best of ${r.endToEnd.seconds.map((s) => s.toFixed(2)).join(', ')} s`,
    `    model busy ${(r.endToEnd.modelBusy * 100).toFixed(1)}% of the wall time (model ${r.endToEnd.inferenceS.toFixed(2)} s; partition loads ${r.endToEnd.loadS.toFixed(2)} s, of which the model waited ${r.endToEnd.waitS.toFixed(2)} s)`,
    `  ratio end-to-end / raw: ${r.ratio.toFixed(3)} (target >= ${r.target}) ${r.meetsTarget ? 'ok' : 'BELOW TARGET'}; median of per-repeat ratios ${r.pairedRatio.toFixed(3)}`,
    `  peak memory ${r.peakMemoryMB.toFixed(0)} MB`,
    ...placementLines(r),
    ...formatInt8(r),
    ...formatLimit(r),
  ].join('\n');
}

function formatInt8(r: InferBenchResult): string[] {
  const c = r.int8;
  if (!c) return [];
  const a = c.accuracy;
  return [
    `int8 vs fp32 (onnxruntime alone, same samples, batch ${r.batchSize}, measured alternately):`,
    `  fp32 ${c.fp32Raw.samplesPerS.toFixed(1).padStart(10)} samples/s   best of ${c.fp32Raw.seconds.map((s) => s.toFixed(2)).join(', ')} s   ${c.fp32Model}`,
    `  int8 ${r.raw.samplesPerS.toFixed(1).padStart(10)} samples/s   best of ${r.raw.seconds.map((s) => s.toFixed(2)).join(', ')} s   ${c.int8Model}`,
    `  speed-up int8 / fp32: ${c.speedup.toFixed(2)}x (target >= ${c.target}) ${c.meetsTarget ? 'ok' : 'BELOW TARGET'}; median of per-repeat ratios ${c.pairedSpeedup.toFixed(2)}x`,
    `  accuracy on ${a.samples} held-out synthetic galaxies (seed ${a.seed}): max |z_int8 - z_fp32| ${a.maxAbsDiff.toFixed(5)} (target <= ${a.maxAbsDiffTarget}), mean ${a.meanAbsDiff.toFixed(5)}`,
    `    sigma_NMAD fp32 ${a.fp32SigmaNmad.toFixed(5)}, int8 ${a.int8SigmaNmad.toFixed(5)}, difference ${a.sigmaNmadDiff >= 0 ? '+' : ''}${a.sigmaNmadDiff.toFixed(5)} (target within ${a.sigmaNmadDiffTarget}) ${a.meetsTarget ? 'ok' : 'OUTSIDE TARGET'}`,
  ];
}

function formatLimit(r: InferBenchResult): string[] {
  const { cpu, coresUsed, models } = r.limit;
  if (!cpu) return ['against the limit: /proc/cpuinfo not readable, peak unknown'];
  const lines = [
    `against the limit: ${cpu.model}, ${coresUsed} of ${cpu.cores} cores used; peak fp32 ${peakFp32Gflops(cpu, coresUsed).toFixed(0)} GFLOP/s, int8 ${peakInt8Gops(cpu, coresUsed).toFixed(0)} GOP/s`,
    `  (machine peak: ${cpu.how})`,
  ];
  for (const m of models) {
    const mix = m.int8GopsPerSample > 0 ? `, ${((100 * m.int8GopsPerSample) / m.gflopsPerSample).toFixed(0)}% of it on int8` : '';
    lines.push(`  ${m.precision}: ${m.achievedGops.toFixed(1)} G ops/s, 2 per multiply-add (${m.gflopsPerSample.toFixed(3)} G per sample${mix}) = ${(100 * m.fractionOfPeak).toFixed(1)}% of the ${m.peakGops.toFixed(0)} G/s peak for this mix`);
  }
  return lines;
}

/** Adapter, sessions and the first-session cost, where the device is a GPU. */
function placementLines(r: InferBenchResult): string[] {
  const p = r.placement;
  if (!p.gpus) return [];
  const where = p.adapters[0] ? describeAdapter(p.adapters[0]) : 'adapter not listed';
  const later = p.laterSessionsWarmUpS.length ? `; later sessions ${p.laterSessionsWarmUpS.map((s) => s.toFixed(1)).join(', ')} s` : '';
  return [
    `  ${where}: ${p.sessions} session(s) on ${p.gpus} GPU slot(s)`,
    `  first batch: engine's first session ${p.firstSessionWarmUpS.toFixed(1)} s (after ${p.firstSessionOpenS.toFixed(1)} s to open)${later}; raw session ${r.rawFirstBatchS.toFixed(1)} s`,
  ];
}
