// Performance metrics of an inference run, with the meanings of the original CAI result fields: numbers
// in, numbers out (the peak memory defaults to this process's). The accuracy metrics live in
// metrics/accuracy.ts, below both inference and model building.
import { INPUT_BYTES_PER_SAMPLE } from '../data/manifest.js';
import { peakRssBytes } from '../util/peak-memory.js';
import type { AdapterInfo } from '../runtime/adapters.js';
import type { EngineLayout } from './engine.js';


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
  /** How the engine opened (adapters, sessions, warm-up); absent: one CPU session. */
  layout?: EngineLayout;
}

/** Where the model ran: the adapter, how many sessions on how many GPUs, and what opening them cost. */
export interface PlacementMetrics {
  /** Every GPU slot's adapter, in slot order (one entry per GPU in use; the first is performance.adapter). */
  adapters: AdapterInfo[];
  /** How the adapter is known: read from vulkaninfo, as the adapter Dawn's high-performance order opens. */
  adapterSource: string | null;
  gpus: number;
  sessionsPerGpu: number;
  sessions: number;
  /** What `--device auto` chose and why; null for an explicit device. */
  deviceChoice: string | null;
  /** Session creation and the warm-up batch (shader compilation on a GPU): first session, then the others. */
  firstSessionOpenS: number;
  firstSessionWarmUpS: number;
  laterSessionsOpenS: number[];
  laterSessionsWarmUpS: number[];
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
  /** The (first) GPU adapter the model ran on: name, type, backend, ids, driver, limits; null on CPU and CUDA. */
  adapter: AdapterInfo | null;
  placement: PlacementMetrics;
}

const ADAPTER_SOURCE = "vulkaninfo (Vulkan physical devices), as the adapter Dawn's high-performance order opens";

export function placementMetrics(layout: EngineLayout | undefined): PlacementMetrics {
  const s = (ms: number): number => ms / 1000;
  return {
    adapters: layout?.adapters ?? [],
    adapterSource: layout?.adapters.length ? ADAPTER_SOURCE : null,
    gpus: layout?.gpus ?? 0,
    sessionsPerGpu: layout?.sessionsPerGpu ?? 1,
    sessions: layout?.lanes ?? 1,
    deviceChoice: layout?.choice ?? null,
    firstSessionOpenS: s(layout?.firstOpenMs ?? 0),
    firstSessionWarmUpS: s(layout?.firstWarmUpMs ?? 0),
    laterSessionsOpenS: (layout?.laterOpenMs ?? []).map(s),
    laterSessionsWarmUpS: (layout?.laterWarmUpMs ?? []).map(s),
  };
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
    adapter: p.layout?.adapters[0] ?? null,
    placement: placementMetrics(p.layout),
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
