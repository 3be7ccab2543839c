// EC2 GPU instances from the price catalog, one or several in parallel. Throughput comes from a GPU
// profile (`cai calibrate --device cuda|webgpu` on a machine with a GPU) when one is given; otherwise it
// is modelled: the study's A100 rate scaled by each GPU's FP32 peak (a modelled figure, and labelled so).
import { ec2Instances, type CatalogInstance } from '../../cost/index.js';
import { UsageError } from '../../errors.js';
import type { Profile } from '../profile.js';
import type { PlanEnv, PlatformModel } from '../types.js';
import { estimateFleet, fleetSizes, type FleetRate, type FleetSettings } from './fleet.js';

/**
 * The study's A100 rate: 12.6 GB (660,461 samples) in 140.8 s of GPU time at batch 512 on the university
 * HPC A100 node (reference/cai/platforms_vary_datasize.csv) = 4,690 samples/s, PyTorch end to end.
 */
export const STUDY_A100_SAMPLES_PER_S = 660_461 / 140.8;
/** NVIDIA A100 SXM4 FP32 peak, TFLOPS (https://www.nvidia.com/en-us/data-center/a100/). */
export const A100_FP32_TFLOPS = 19.5;
/** Opening the model on a GPU when no GPU profile says: runtime and CUDA context start (modelled). */
export const MODELLED_GPU_START_S = 5;

export type GpuSettings = FleetSettings;

/** One GPU instance's rate: measured (profile) or modelled, scaled by FP32 peak from the GPU it was measured on. */
export function gpuRate(inst: CatalogInstance, env: PlanEnv): FleetRate {
  const gpus = inst.spec.gpus ?? 1;
  const tflops = inst.spec.gpuFp32Tflops ?? A100_FP32_TFLOPS;
  const p = env.gpuProfile;
  if (env.perSampleOverrideS !== undefined) return { samplesPerS: 1 / env.perSampleOverrideS, startS: p ? p.workerStartS + p.modelLoadS : MODELLED_GPU_START_S, notes: [`per-sample ${(env.perSampleOverrideS * 1000).toFixed(3)} ms per instance as given`] };
  if (p) {
    const measured = Math.max(...p.throughput.map((t) => t.samplesPerS));
    const base = profileGpuTflops(p, env);
    const perGpu = base ? (measured * tflops) / base.tflops : measured;
    return {
      samplesPerS: perGpu * gpus,
      startS: p.workerStartS + p.modelLoadS,
      notes: [base ? `GPU rate measured on ${base.model} (${measured.toFixed(0)} samples/s, profile "${p.label}"), scaled by FP32 peak ${tflops}/${base.tflops} TFLOPS` : `GPU rate measured (${measured.toFixed(0)} samples/s, profile "${p.label}"); its GPU is not in the catalog, so it is used unscaled`],
    };
  }
  const perGpu = (STUDY_A100_SAMPLES_PER_S * tflops) / A100_FP32_TFLOPS;
  return {
    samplesPerS: perGpu * gpus,
    startS: MODELLED_GPU_START_S,
    notes: [`GPU rate modelled: the study's A100 ${STUDY_A100_SAMPLES_PER_S.toFixed(0)} samples/s x ${tflops}/${A100_FP32_TFLOPS} TFLOPS FP32 = ${perGpu.toFixed(0)} samples/s per ${inst.spec.gpuModel}; model load ${MODELLED_GPU_START_S} s (modelled)`],
  };
}

function profileGpuTflops(p: Profile, env: PlanEnv): { model: string; tflops: number } | undefined {
  const adapter = (p.device.adapter ?? '').toLowerCase();
  for (const i of ec2Instances(env.catalog, 'gpu')) {
    const model = i.spec.gpuModel ?? '';
    if (model && adapter.includes(model.toLowerCase()) && i.spec.gpuFp32Tflops) return { model, tflops: i.spec.gpuFp32Tflops };
  }
  return undefined;
}

export const gpuPlatform: PlatformModel<GpuSettings> = {
  name: 'gpu',
  summary: 'EC2 GPU instances (1..K in parallel): GPU profile throughput, or the study A100 rate scaled by FP32 peak (modelled)',
  candidates(w, env) {
    return ec2Instances(env.catalog, 'gpu').flatMap((i) => fleetSizes(w, i, env).map((instances) => ({ instance: i.type, instances, batchSize: 512 })));
  },
  estimate(w, s, env) {
    const inst = instanceOf(env, s.instance, 'gpu');
    return estimateFleet('gpu', w, inst, s.instances, gpuRate(inst, env), env, s);
  },
};

/** The catalog's instance of that type, or a usage error listing the types it has. */
export function instanceOf(env: PlanEnv, type: string, kind: 'gpu' | 'cpu'): CatalogInstance {
  const all = ec2Instances(env.catalog, kind);
  const found = all.find((i) => i.type === type);
  if (!found) throw new UsageError(`--instance ${type}: not a ${kind.toUpperCase()} instance of the price catalog (${all.map((i) => i.type).join(', ')})`);
  return found;
}
