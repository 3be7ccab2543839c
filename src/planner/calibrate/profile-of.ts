// From what `cai calibrate` measured to a profile: the throughput points as measured, the cold start split
// into worker start and model load, and the two figures a one-rank run pins down — the run's fixed cost
// outside its rank, and the per-partition time the rank spent beyond reading, inference and writing.
// Pure: numbers in, a profile (checked against its schema) out.
import { PROFILE_FORMAT, PROFILE_VERSION, perSampleSeconds, profileSchema, type Profile, type ProfileDevice, type ThroughputPoint } from '../profile.js';

/** What one rank's result says about its time. */
export interface RankTimes {
  /** The rank handler's own time, model load included (`timings.totalMs`). */
  rankS: number;
  modelLoadS: number;
  /** Predictions written back. */
  uploadS: number;
  samples: number;
  partitions: number;
  bytes: number;
  threads: number;
  batchSize: number;
  /** The rank's time inside the model. */
  inferenceS: number;
}

/** One rank run alone (W=1, C=1) through the local compute backend: what its summary and result say. */
export interface OneRankRun extends RankTimes {
  /** The run's wall time (submitted to summary written). */
  wallS: number;
  /** The worker process's start to its first message (`timings.initMs`). */
  initS: number;
  peakRssMB: number;
}

export interface CalibrationMeasurements {
  measuredAt: string;
  /** The command line as run, for `source`. */
  command: string;
  machine: { cpuModel: string; cores: number; memoryGB: number; loadAverage: number };
  device: { kind: ProfileDevice; adapter?: string };
  model: { name: string; sha256: string };
  throughput: ThroughputPoint[];
  /** Each of `instances` one-thread instances at once (a CPU of several cores). */
  allCores?: { instances: number; batchSize: number; samplesPerS: number };
  /** First session of the model in a fresh inference thread: runtime load and session creation. */
  modelLoadS: number;
  /** Bytes/s of reading a partition from this machine's disk, checksum included. */
  readBytesPerS: number;
  /** The one-rank runs (one in --quick); their figures are averaged. */
  runs: OneRankRun[];
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** The profile of a set of measurements. */
export function profileOfMeasurements(m: CalibrationMeasurements): Profile {
  if (!m.runs.length) throw new Error('calibration needs at least one one-rank run');
  const draft: Profile = {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    label: `${m.machine.cpuModel}, ${m.machine.cores} cores, ${m.device.adapter ?? m.device.kind}, measured`,
    isDefault: false,
    measuredAt: m.measuredAt,
    source: m.command,
    machine: { cpuModel: m.machine.cpuModel, cores: m.machine.cores, memoryGB: round(m.machine.memoryGB, 3), loadAverage: round(m.machine.loadAverage, 3) },
    device: m.device.adapter ? { kind: m.device.kind, adapter: m.device.adapter } : { kind: m.device.kind },
    model: m.model,
    throughput: m.throughput.map((p) => ({ ...p, samplesPerS: round(p.samplesPerS, 5) })),
    ...(m.allCores ? { allCores: { ...m.allCores, samplesPerS: round(m.allCores.samplesPerS, 5) } } : {}),
    modelLoadS: round(m.modelLoadS, 4),
    workerStartS: round(mean(m.runs.map((r) => r.initS)), 4),
    readBytesPerS: Math.round(m.readBytesPerS),
    partitionOverheadS: 0,
    orchestrationS: 0,
    instanceMemoryMB: Math.round(Math.max(...m.runs.map((r) => r.peakRssMB))),
  };
  // What the run spent outside its rank, and what its rank spent beyond the modelled parts, per partition.
  const orchestration = mean(m.runs.map((r) => Math.max(0, r.wallS - r.initS - r.rankS)));
  const overhead = mean(m.runs.map((r) => Math.max(0, partitionResidualS(draft, r))));
  return profileSchema.parse({ ...draft, orchestrationS: round(orchestration, 4), partitionOverheadS: round(overhead, 5) });
}

/**
 * Per partition, what a rank took beyond its model load, its reads at the profile's bandwidth, its
 * samples at the profile's rate (`slowdown` times slower when instances outnumbered the cores; the rank's
 * own model time on an accelerator, whose profile has no CPU rate) and its upload: decoding, batching,
 * the first call's warm-up. Negative when reads overlapped with the model.
 */
export function partitionResidualS(p: Profile, r: RankTimes, slowdown = 1): number {
  const compute = p.device.kind === 'cpu' ? r.samples * perSampleSeconds(p, r.threads, r.batchSize) * slowdown : r.inferenceS;
  return (r.rankS - r.modelLoadS - r.bytes / p.readBytesPerS - compute - r.uploadS) / Math.max(1, r.partitions);
}

/** `x` to `digits` significant digits: figures as precise as a measurement on a shared machine is. */
function round(x: number, digits: number): number {
  return Number(x.toPrecision(digits));
}
