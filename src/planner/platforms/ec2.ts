// EC2 CPU instances from the price catalog, one or several in parallel: one worker process per vCPU (as
// many as the instance's memory holds), each at the rate the profile measured per core with all of its
// cores busy, assuming an EC2 vCPU runs like one of the profiled machine's cores.
import { perSampleSeconds, type Profile } from '../profile.js';
import { ec2Instances } from '../../cost/index.js';
import type { PlatformModel } from '../types.js';
import { estimateFleet, fleetSizes, type FleetSettings } from './fleet.js';
import { instanceOf } from './gpu.js';

export type Ec2Settings = FleetSettings;

/** Share of an instance's memory worker processes may take. */
const USABLE_MEMORY = 0.9;

export const ec2Platform: PlatformModel<Ec2Settings> = {
  name: 'ec2',
  summary: "EC2 CPU instances (1..K in parallel): one worker per vCPU at the profile's all-cores rate per core",
  candidates(w, env) {
    return ec2Instances(env.catalog, 'cpu').flatMap((i) => fleetSizes(w, i, env).map((instances) => ({ instance: i.type, instances, batchSize: 256 })));
  },
  estimate(w, s, env) {
    const inst = instanceOf(env, s.instance, 'cpu');
    const p = env.cpuProfile;
    const byMemory = Math.floor((inst.spec.memoryGiB * 1024 * USABLE_MEMORY) / (p.instanceMemoryMB ?? 500));
    const workers = Math.max(1, Math.min(inst.spec.vcpus, byMemory));
    // With every vCPU busy a worker runs at the profile's all-cores rate per core, not its one-thread rate.
    const perWorker = env.perSampleOverrideS !== undefined ? 1 / env.perSampleOverrideS / workers : allCoresRatePerCore(p, s.batchSize);
    // Workers start one after another on the instance's cores, then each opens the model.
    const startS = p.workerStartS * Math.ceil(workers / inst.spec.vcpus) + p.modelLoadS;
    return estimateFleet('ec2', w, inst, s.instances, { samplesPerS: workers * perWorker, startS, notes: [`${workers} workers x ${perWorker.toFixed(0)} samples/s (profile "${p.label}": its all-cores rate per core)`] }, env, { ...s, workers });
  },
};

/**
 * Samples/s per core with every core of the profiled machine busy: one one-thread instance per core as
 * `cai calibrate` measured it (`allCores`), else its rate at as many threads as cores, over the cores.
 */
export function allCoresRatePerCore(p: Profile, batchSize?: number): number {
  const cores = p.machine.cores;
  if (p.allCores && p.allCores.instances === cores) return p.allCores.samplesPerS;
  return 1 / (perSampleSeconds(p, cores, batchSize) * cores);
}
