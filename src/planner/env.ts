// The planning environment from plain numbers, with the stated defaults: link speeds, the price of an
// hour of this machine, the account's concurrency quota. Pure: the commands read the files.
import { DEFAULT_TIME_PARAMS, LAMBDA_LIMITS, ec2Instances, pricesFromCatalog, type PriceCatalog, type TimeModelParams } from '../cost/index.js';
import { DEFAULT_PROFILE, type Profile } from './profile.js';
import type { PlanEnv } from './types.js';

/** Upload speed from this machine to S3 when not told: 100 Mbit/s, a typical office or campus uplink. */
export const DEFAULT_UPLINK_MBPS = 100;
/** Download speed from S3 to this machine when not told: 500 Mbit/s. */
export const DEFAULT_DOWNLINK_MBPS = 500;
/**
 * EC2 on-demand vCPU quotas are set per account (Service Quotas, "Running On-Demand ... instances", counted
 * in vCPUs) and no default is documented for every account. The planner assumes as many vCPUs as Lambda's
 * default quota of 1,000 concurrent functions gets at 10,240 MB (1,000 x 10,240 / 1,769 = 5,789), so that
 * both are compared at the same scale; --ec2-vcpu-quota sets the account's own.
 */
export const DEFAULT_EC2_VCPU_QUOTA = Math.floor((LAMBDA_LIMITS.accountConcurrency * LAMBDA_LIMITS.memoryMaxMB) / LAMBDA_LIMITS.mbPerVcpu);
/** The catalog entry whose per-vCPU price prices an hour of this machine by default. */
export const LOCAL_PRICE_REFERENCE = 'c7i.xlarge';

export interface EnvOptions {
  cpuProfile?: Profile;
  gpuProfile?: Profile;
  catalog: PriceCatalog;
  timeParams?: TimeModelParams;
  uplinkMbps?: number;
  downlinkMbps?: number;
  /** Default: renting as many vCPUs (LOCAL_PRICE_REFERENCE's on-demand price per vCPU x cores). */
  localUsdPerHour?: number;
  accountConcurrency?: number;
  ec2VcpuQuota?: number;
  localCores?: number;
  localMemoryGB?: number;
  perSampleOverrideS?: number;
}

export function planEnv(o: EnvOptions): PlanEnv {
  const cpuProfile = o.cpuProfile ?? DEFAULT_PROFILE;
  const localCores = o.localCores ?? cpuProfile.machine.cores;
  return {
    cpuProfile,
    gpuProfile: o.gpuProfile,
    catalog: o.catalog,
    lambdaPrices: pricesFromCatalog(o.catalog),
    // Orchestration figures refitted on this account's own AWS runs, when the profile has them.
    timeParams: o.timeParams ?? cpuProfile.lambda?.timeParams ?? DEFAULT_TIME_PARAMS,
    uplinkBytesPerS: ((o.uplinkMbps ?? DEFAULT_UPLINK_MBPS) * 1e6) / 8,
    downlinkBytesPerS: ((o.downlinkMbps ?? DEFAULT_DOWNLINK_MBPS) * 1e6) / 8,
    localUsdPerHour: o.localUsdPerHour ?? defaultLocalUsdPerHour(o.catalog, localCores),
    accountConcurrency: o.accountConcurrency ?? LAMBDA_LIMITS.accountConcurrency,
    ec2VcpuQuota: o.ec2VcpuQuota ?? DEFAULT_EC2_VCPU_QUOTA,
    localCores,
    localMemoryGB: o.localMemoryGB ?? cpuProfile.machine.memoryGB ?? 8,
    perSampleOverrideS: o.perSampleOverrideS,
  };
}

/** What renting as many vCPUs as this machine has cores costs an hour (0 when the catalog lacks the reference). */
export function defaultLocalUsdPerHour(catalog: PriceCatalog, cores: number): number {
  const ref = ec2Instances(catalog, 'cpu').find((i) => i.type === LOCAL_PRICE_REFERENCE);
  return ref ? (ref.usdPerHour / ref.spec.vcpus) * cores : 0;
}
