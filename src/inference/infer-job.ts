// One inference job on this machine: a data set in, predictions.csv and metrics.json out. The outputs are
// written to temp names and renamed only after every partition succeeded, metrics.json last, so a failed
// job never leaves a file that looks complete.
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { openLocalDataset } from '../data/dataset.js';
import { InferenceEngine, inferPartitions, type InferenceResult } from './engine.js';
import { accuracyMetrics, type AccuracyMetrics } from '../metrics/accuracy.js';
import { caiFields, performanceMetrics, type PerformanceMetrics } from './metrics.js';
import { PREDICTIONS_FILE, PredictionsWriter } from './predictions.js';
import { openAtomic } from '../util/atomic-file.js';
import { peakRssBytes } from '../util/peak-memory.js';
import type { GpuCount } from './engine.js';
import type { DeviceChoice } from './session.js';

export { PREDICTIONS_FILE } from './predictions.js';
/** The job's metrics file: it marks a complete `cai infer` output (written last). */
export const METRICS_FILE = 'metrics.json';

export interface InferJobOptions {
  /** Data set directory or its manifest.json. */
  data: string;
  model: string | Uint8Array;
  out: string;
  /** Default: the device's (engine.ts). */
  batchSize?: number;
  threads?: number;
  device?: DeviceChoice;
  gpus?: GpuCount;
  sessionsPerGpu?: number;
  inputNames?: { image: string; magnitude: string };
  outputName?: string;
  readAhead?: number;
  verify?: 'sha256' | 'size';
  onProgress?: (p: { samplesDone: number; partitionsDone: number; samples: number; partitions: number }) => void;
  onFallback?: (message: string) => void;
}

export interface InferReport {
  accuracy?: AccuracyMetrics;
  performance: PerformanceMetrics;
  /** The same performance figures under the original CAI field names. */
  cai: Record<string, number | string | null>;
  model: { path: string; device: string; inputs: { image: string; magnitude: string }; output: string };
  data: { manifest: string; name?: string; samples: number; partitions: number; labelled: boolean };
  config: { batchSize: number; threads: number; device: DeviceChoice; gpus: GpuCount; readAhead: number; verify: 'sha256' | 'size' };
  partitions: InferenceResult['partitions'];
  outputs: { predictions: string; metrics: string };
}

export async function runInferJob(job: InferJobOptions): Promise<InferReport> {
  const t0 = performance.now();
  const dataset = await openLocalDataset(job.data);
  // Create the output directory first: an unwritable output should fail before a long run, not after.
  await mkdir(job.out, { recursive: true });
  const threads = job.threads ?? availableParallelism();
  const readAhead = job.readAhead ?? 1;
  const verify = job.verify ?? 'sha256';
  const engine = await InferenceEngine.open(job.model, {
    batchSize: job.batchSize,
    threads,
    device: job.device ?? 'cpu',
    gpus: job.gpus,
    sessionsPerGpu: job.sessionsPerGpu,
    inputNames: job.inputNames,
    outputName: job.outputName,
    onFallback: job.onFallback,
  });
  let result: InferenceResult;
  try {
    const m = dataset.manifest;
    result = await inferPartitions({
      dataset,
      engine,
      readAhead,
      verify,
      onProgress: (p) => job.onProgress?.({ ...p, samples: m.samples, partitions: m.partitions.length }),
    });
  } finally {
    await engine.close();
  }
  const predictionsPath = join(job.out, PREDICTIONS_FILE);
  const metricsPath = join(job.out, METRICS_FILE);
  const writer = await PredictionsWriter.create(predictionsPath);
  const metricsFile = await openAtomic(metricsPath);
  try {
    await writer.append({ objectId: result.objectId, zTrue: result.zTrue, zPred: result.zPred });
    const perf = performanceMetrics({
      samples: result.samples,
      batches: result.batches,
      batchSize: result.batchSize,
      device: result.device,
      inferenceMs: result.inferenceMs,
      wallMs: performance.now() - t0,
      ioMs: result.downloadMs,
      peakMemoryBytes: peakRssBytes(),
      layout: result.layout,
    });
    const report: InferReport = {
      ...(result.zTrue ? { accuracy: accuracyMetrics(result.zTrue, result.zPred) } : {}),
      performance: perf,
      cai: caiFields(perf),
      model: {
        path: typeof job.model === 'string' ? job.model : '(model bytes)',
        device: result.device,
        inputs: job.inputNames ?? { image: 'image', magnitude: 'magnitude' },
        output: job.outputName ?? 'redshift',
      },
      data: {
        manifest: dataset.location,
        ...(dataset.manifest.name !== undefined ? { name: dataset.manifest.name } : {}),
        samples: result.samples,
        partitions: result.partitions.length,
        labelled: result.labelled,
      },
      config: { batchSize: result.batchSize, threads, device: job.device ?? 'cpu', gpus: job.gpus ?? 1, readAhead, verify },
      partitions: result.partitions,
      outputs: { predictions: predictionsPath, metrics: metricsPath },
    };
    await metricsFile.handle.writeFile(JSON.stringify(report, null, 2) + '\n');
    // predictions first, metrics.json last: metrics.json marks a complete job, so an older one goes first
    // (a crash between the renames must not pair new predictions with old metrics).
    await rm(metricsPath, { force: true });
    await writer.commit();
    await metricsFile.commit();
    return report;
  } catch (err) {
    await writer.abort();
    await metricsFile.abort();
    throw err;
  }
}
