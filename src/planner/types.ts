// The planner's shapes: a workload (what is to be predicted, and where the data is), the environment the
// models read (profiles, prices, link speeds), an estimate, and the interface every platform model has.
import type { CostBreakdown, LambdaPrices, PriceCatalog, TimeModelParams } from '../cost/index.js';
import type { Profile } from './profile.js';

export type PlatformName = 'local' | 'lambda' | 'gpu' | 'ec2';
export type DataLocation = 'local' | 's3';

export interface Workload {
  samples: number;
  /** Stored bytes per sample (model input, plus the label when labelled). */
  bytesPerSample: number;
  /** Samples per partition as the data set is stored now. */
  partitionSamples: number;
  /** Where the data set is: on this machine, or already in S3. */
  location: DataLocation;
  /** For messages: the manifest path or "12.6 GB". */
  description: string;
}

export interface PlanEnv {
  /** CPU profile (local, lambda, ec2) and, when measured, a GPU profile (gpu). */
  cpuProfile: Profile;
  gpuProfile?: Profile;
  catalog: PriceCatalog;
  lambdaPrices: LambdaPrices;
  /** Fitted orchestration terms of a serverless run. */
  timeParams: TimeModelParams;
  /** This machine's upload and download speed to and from S3, bytes/s. */
  uplinkBytesPerS: number;
  downlinkBytesPerS: number;
  /** What an hour of this machine costs (0: already paid for). */
  localUsdPerHour: number;
  /** The account's Lambda concurrency quota. */
  accountConcurrency: number;
  /** vCPUs the account may run on EC2 on-demand at once (all instances of a fleet together). */
  ec2VcpuQuota: number;
  /** This machine: cores and memory (from the profile unless told otherwise). */
  localCores: number;
  localMemoryGB: number;
  /** Inference seconds per sample on one instance of the chosen size, overriding the profiles (`--per-sample-ms`). */
  perSampleOverrideS?: number;
}

/** A setting's value as tables and JSON show it. */
export type SettingValue = number | string;
export type Settings = Record<string, SettingValue>;

export interface Estimate {
  platform: PlatformName;
  settings: Settings;
  /** e.g. "lambda 10240 MB, 50 MB partitions, 259 at once" */
  label: string;
  wall_s: number;
  cost_usd: number;
  /** False when a documented limit rules the configuration out (reasons in `infeasible`). */
  feasible: boolean;
  infeasible: string[];
  /** Rank invocations, or instances started. */
  invocations: number;
  waves: number;
  /** Wall time by part, seconds (they add up to wall_s). */
  wallParts: Record<string, number>;
  cost: CostBreakdown;
  /** What a figure rests on that the reader should know ("GPU throughput modelled from ..."). */
  notes: string[];
}

/** One platform's model: the candidates worth trying for a workload, and the prediction of one of them. */
export interface PlatformModel<S extends Settings = Settings> {
  name: PlatformName;
  /** One line: what it models and from what. */
  summary: string;
  candidates(w: Workload, env: PlanEnv): S[];
  estimate(w: Workload, settings: S, env: PlanEnv): Estimate;
}
