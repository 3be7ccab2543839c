// This machine: W ranks as worker processes, C of them at once, T threads each, with the profile's
// measured throughput, worker start, model load, read bandwidth and fixed run cost. Threads beyond the
// cores share them (time-slicing), and instances cost each other what the profile measured with every
// core busy; a data set in S3 is read over the downlink and pays S3's transfer out.
import { fmtPrice, fmtUsd, type CostItem } from '../../cost/index.js';
import { instanceSlowdown, perSampleSeconds } from '../profile.js';
import type { Estimate, PlanEnv, PlatformModel, Workload } from '../types.js';
import { breakdown, catalogSource, datasetBytes, egressItem, partitionsOf } from './shared.js';

export interface LocalSettings extends Record<string, number> {
  /** Ranks (worker process runs), each a share of the partitions. */
  worldSize: number;
  /** Ranks running at once. */
  concurrency: number;
  /** Intra-op threads per instance. */
  threads: number;
  batchSize: number;
}

/** Share of this machine's memory the planner lets instances use. */
const USABLE_MEMORY = 0.8;

export const localPlatform: PlatformModel<LocalSettings> = {
  name: 'local',
  summary: "this machine's worker processes: the profile's samples/s by threads, worker start, model load, read bandwidth",
  candidates(w, env) {
    const partitions = partitionsOf(w, w.partitionSamples);
    const out: LocalSettings[] = [];
    for (let c = 1; c <= env.localCores; c *= 2) {
      for (let t = 1; c * t <= env.localCores; t *= 2) {
        for (const worldSize of new Set([Math.min(c, partitions), partitions])) out.push({ worldSize, concurrency: Math.min(c, worldSize), threads: t, batchSize: 256 });
      }
    }
    return out;
  },
  estimate(w, s, env) {
    return estimateLocal(w, s, env);
  },
};

export function estimateLocal(w: Workload, s: LocalSettings, env: PlanEnv): Estimate {
  const p = env.cpuProfile;
  const partitions = partitionsOf(w, w.partitionSamples);
  const worldSize = Math.max(1, Math.min(s.worldSize, partitions));
  const concurrency = Math.max(1, Math.min(s.concurrency, worldSize));
  // Ranks get whole partitions: the largest has ceil(partitions / W) of them.
  const partitionsPerRank = Math.ceil(partitions / worldSize);
  const samplesPerRank = Math.min(w.samples, partitionsPerRank * w.partitionSamples);
  // Instances share the cores: time-slicing beyond them, and what they cost each other (profile allCores).
  const perSample = (env.perSampleOverrideS ?? perSampleSeconds(p, s.threads, s.batchSize)) * instanceSlowdown(p, concurrency, s.threads, env.localCores);
  const readBps = w.location === 'local' ? p.readBytesPerS : Math.min(p.readBytesPerS, env.downlinkBytesPerS / concurrency);
  const warm = (samplesPerRank * w.bytesPerSample) / readBps + partitionsPerRank * (p.partitionOverheadS ?? 0) + samplesPerRank * perSample;
  const start = p.workerStartS + p.modelLoadS;
  const waves = Math.ceil(worldSize / concurrency);
  // Process starts compete for the cores: the last of C starts (C - 1) / cores worker starts after the first.
  const ramp = ((concurrency - 1) * p.workerStartS) / env.localCores;
  const orchestration = p.orchestrationS ?? 1;
  const ranks = start + warm * waves;
  const wall = orchestration + ramp + ranks;
  const infeasible: string[] = [];
  const needMB = concurrency * (p.instanceMemoryMB ?? 500);
  if (needMB > env.localMemoryGB * 1024 * USABLE_MEMORY) infeasible.push(`${concurrency} instances need about ${needMB.toFixed(0)} MB, over ${USABLE_MEMORY * 100}% of this machine's ${env.localMemoryGB} GB`);
  const items: CostItem[] = [];
  if (env.localUsdPerHour > 0) {
    const usd = (wall / 3600) * env.localUsdPerHour;
    items.push({ id: 'local.machine', label: 'this machine', quantity: wall, unit: 's', usd, arithmetic: `${wall.toFixed(1)} s x ${fmtPrice(env.localUsdPerHour)} USD/h / 3600 = ${fmtUsd(usd)} USD` });
  }
  items.push(...egressItem(w, env));
  const cost = breakdown(items, catalogSource(env.catalog));
  const notes = [`${(1 / perSample).toFixed(0)} samples/s per instance (profile "${p.label}")`];
  if (w.location === 's3') notes.push(`reading ${(datasetBytes(w) / 1e9).toFixed(2)} GB from S3 at ${((env.downlinkBytesPerS * 8) / 1e6).toFixed(0)} Mbit/s`);
  return {
    platform: 'local',
    settings: { ...s, worldSize, concurrency },
    label: `local ${worldSize} rank${worldSize === 1 ? '' : 's'}, ${concurrency} at once, ${s.threads} thread${s.threads === 1 ? '' : 's'} each`,
    wall_s: wall,
    cost_usd: cost.totalUsd,
    feasible: infeasible.length === 0,
    infeasible,
    invocations: worldSize,
    waves,
    wallParts: { orchestration, 'worker starts': ramp + start, ranks: warm * waves },
    cost,
    notes,
  };
}
