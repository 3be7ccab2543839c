// K EC2 instances of one type, each with an equal share of the partitions: boot, model load, the share's
// download from S3 at the instance's network bandwidth (overlapped with inference, as the pipeline reads
// ahead), inference at the instance's rate, per-second billing with its 60 s minimum. The gpu and ec2
// platforms differ only in where an instance's rate comes from.
import type { CatalogInstance } from '../../cost/index.js';
import type { Estimate, PlanEnv, PlatformName, Workload } from '../types.js';
import { breakdown, catalogSource, datasetBytes, EC2_BOOT_S, EC2_LAUNCH_BURST, EC2_LAUNCH_REFILL_PER_S, instanceItem, partitionsOf, s3RequestItems, S3_MAX_GBPS_PER_INSTANCE, uploadFirstS, uploadItems } from './shared.js';

/** A fleet's settings: which instance type, how many, the batch size. */
export interface FleetSettings extends Record<string, number | string> {
  instance: string;
  instances: number;
  batchSize: number;
}

export interface FleetRate {
  /** Samples per second of one instance. */
  samplesPerS: number;
  /** Opening the model once the instance is up. */
  startS: number;
  notes: string[];
}

export function estimateFleet(platform: PlatformName, w: Workload, inst: CatalogInstance, count: number, rate: FleetRate, env: PlanEnv, settings: Record<string, number | string>): Estimate {
  const partitions = partitionsOf(w, w.partitionSamples);
  const instances = Math.max(1, Math.min(count, partitions));
  const infeasible: string[] = [];
  if (instances * inst.spec.vcpus > env.ec2VcpuQuota) infeasible.push(`${instances} x ${inst.type} run ${instances * inst.spec.vcpus} vCPUs, over the ${env.ec2VcpuQuota} vCPU quota assumed (--ec2-vcpu-quota)`);
  const share = Math.ceil(partitions / instances) * w.partitionSamples;
  const samples = Math.min(w.samples, share);
  const netBps = (Math.min(inst.spec.networkGbps, S3_MAX_GBPS_PER_INSTANCE) * 1e9) / 8;
  const firstS = (Math.min(w.partitionSamples, samples) * w.bytesPerSample) / netBps;
  const restDownloadS = ((samples - Math.min(w.partitionSamples, samples)) * w.bytesPerSample) / netBps;
  const inferS = samples / rate.samplesPerS;
  const workS = firstS + Math.max(restDownloadS, inferS);
  const orchestration = env.cpuProfile.orchestrationS ?? 1;
  const instanceS = EC2_BOOT_S + rate.startS + workS + orchestration;
  // The last instance launches once RunInstances' rate limit lets it; the fleet waits for it.
  const launchS = Math.max(0, instances - EC2_LAUNCH_BURST) / EC2_LAUNCH_REFILL_PER_S;
  const upload = uploadFirstS(w, env);
  const wall = upload + launchS + instanceS;
  const cost = breakdown([instanceItem(inst.type, instances, instanceS, inst.usdPerHour), ...s3RequestItems(env.catalog, partitions, instances), ...uploadItems(w, env, partitions)], catalogSource(env.catalog));
  const notes = [...rate.notes, `boot ${EC2_BOOT_S} s (modelled), network ${inst.spec.networkGbps} Gbit/s (${inst.source})`];
  if (w.location === 'local') notes.push(`uploading ${(datasetBytes(w) / 1e9).toFixed(2)} GB first at ${((env.uplinkBytesPerS * 8) / 1e6).toFixed(0)} Mbit/s`);
  return {
    platform,
    settings: { ...settings, instances },
    label: `${platform} ${instances} x ${inst.type}`,
    wall_s: wall,
    cost_usd: cost.totalUsd,
    feasible: infeasible.length === 0,
    infeasible,
    invocations: instances,
    waves: 1,
    wallParts: { upload, launch: launchS, boot: EC2_BOOT_S, 'model load': rate.startS, download: firstS + Math.max(0, restDownloadS - inferS), inference: inferS, orchestration },
    cost,
    notes,
  };
}

/** Instance counts tried: powers of two, and the largest fleet the vCPU quota allows, up to the number of partitions. */
export function fleetSizes(w: Workload, inst: CatalogInstance, env: PlanEnv): number[] {
  const partitions = partitionsOf(w, w.partitionSamples);
  const most = Math.min(partitions, Math.floor(env.ec2VcpuQuota / inst.spec.vcpus));
  const out: number[] = [];
  for (let k = 1; k <= most; k *= 2) out.push(k);
  if (most >= 1 && out[out.length - 1] !== most) out.push(most);
  return out;
}
