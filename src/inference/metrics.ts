// Performance metrics of an inference run, with the meanings of the original CAI result fields: numbers
// in, numbers out (the peak memory defaults to this process's). The accuracy metrics live in
// metrics/accuracy.ts, below both inference and model building.
import { INPUT_BYTES_PER_SAMPLE } from '../data/manifest.js';
import { peakRssBytes } from '../util/peak-memory.js';


export interface PerformanceInput {
  samples: number;
  batches: number;
  batchSize: number;
  device: string;
  /** Time spent running the model (sum over batches). */
  inferenceMs: number;
  /** Wall-clock time of the whole run, I/O included. */
  wallMs: number;
  /** Time spent fetching, verifying and decoding partitions (may overlap inference). */
  ioMs?: number;
  /** Peak resident set size in bytes; defaults to this process's. */
  peakMemoryBytes?: number;
}

/**
 * Performance with the meanings of the original CAI fields: total model time, time per batch as
 * total / (samples / batch size), throughput in bits/s of model input, samples/s, peak memory.
 */
export interface PerformanceMetrics {
  device: string;
  batchSize: number;
  numBatches: number;
  samples: number;
  /** bytes of model input (20,500 per sample) */
  inputBytes: number;
  /** CAI "total_cpu_time (seconds)": model execution time */
  totalTimeS: number;
  /** CAI "execution_time (seconds/batch)" */
  timePerBatchS: number | null;
  /** CAI "throughput_bps": bits of model input per second of model time */
  throughputBps: number | null;
  /** CAI "sample_persec" */
  samplesPerS: number | null;
  /** whole run, I/O included */
  wallTimeS: number;
  /** samples per second of wall time */
  endToEndSamplesPerS: number | null;
  ioTimeS: number | null;
  /** peak resident memory of the process, MB (10^6 bytes) */
  peakMemoryMB: number;
}


const rate = (amount: number, seconds: number): number | null => (seconds > 0 ? amount / seconds : null);

export function performanceMetrics(p: PerformanceInput): PerformanceMetrics {
  const totalTimeS = p.inferenceMs / 1000;
  const inputBytes = p.samples * INPUT_BYTES_PER_SAMPLE;
  const wallTimeS = p.wallMs / 1000;
  return {
    device: p.device,
    batchSize: p.batchSize,
    numBatches: p.batches,
    samples: p.samples,
    inputBytes,
    totalTimeS,
    timePerBatchS: p.samples > 0 && p.batchSize > 0 ? totalTimeS / (p.samples / p.batchSize) : null,
    throughputBps: rate(inputBytes * 8, totalTimeS),
    samplesPerS: rate(p.samples, totalTimeS),
    wallTimeS,
    endToEndSamplesPerS: rate(p.samples, wallTimeS),
    ioTimeS: p.ioMs === undefined ? null : p.ioMs / 1000,
    peakMemoryMB: (p.peakMemoryBytes ?? peakRssBytes()) / 1e6,
  };
}

/** The same figures under the field names of the original CAI result JSON, for side-by-side comparison. */
export function caiFields(m: PerformanceMetrics): Record<string, number | string | null> {
  return {
    'total_cpu_time (seconds)': m.totalTimeS,
    'total_cpu_memory (MB)': m.peakMemoryMB,
    'execution_time (seconds/batch)': m.timePerBatchS,
    num_batches: m.numBatches,
    batch_size: m.batchSize,
    device: m.device,
    throughput_bps: m.throughputBps,
    sample_persec: m.samplesPerS,
  };
}
