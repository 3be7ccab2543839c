// Where each platform wins: for data sizes from 10 MB to 10 TB, the best candidate of every platform and
// overall, by time and by cost, from the same model and candidates `cai plan` uses. Pure.
import { enumerateCandidates, type Candidate } from './search.js';
import type { DataLocation, PlanEnv, PlatformName, Workload } from './types.js';

/** 10 MB to 10 TB, three steps a decade (1, 2, 5). */
export const SWEEP_SIZES_GB: readonly number[] = (() => {
  const out: number[] = [];
  for (let e = -2; e <= 4; e++) for (const m of [1, 2, 5]) if (!(e === 4 && m > 1)) out.push(Number((m * 10 ** e).toPrecision(3)));
  return out;
})();

export interface SweepPick {
  platform: PlatformName;
  label: string;
  wall_s: number;
  cost_usd: number;
}

export interface SweepRow {
  dataGB: number;
  samples: number;
  byTime: SweepPick;
  byCost: SweepPick;
  /** Each platform's fastest and cheapest candidate that can run (absent when none can). */
  platforms: Partial<Record<PlatformName, { byTime: SweepPick; byCost: SweepPick }>>;
}

const pickOf = (c: Candidate): SweepPick => ({ platform: c.platform, label: c.label, wall_s: c.wall_s, cost_usd: c.cost_usd });
const fastest = (cs: Candidate[]) => cs.reduce((b, c) => (c.wall_s < b.wall_s || (c.wall_s === b.wall_s && c.cost_usd < b.cost_usd) ? c : b));
const cheapest = (cs: Candidate[]) => cs.reduce((b, c) => (c.cost_usd < b.cost_usd || (c.cost_usd === b.cost_usd && c.wall_s < b.wall_s) ? c : b));

/** A workload of `dataGB` stored in `partitionMB` partitions at `location`. */
export function workloadOfSize(dataGB: number, location: DataLocation, bytesPerSample: number, partitionMB = 25): Workload {
  const samples = Math.max(1, Math.round((dataGB * 1e9) / bytesPerSample));
  return { samples, bytesPerSample, partitionSamples: Math.max(1, Math.floor((partitionMB * 1e6) / bytesPerSample)), location, description: `${dataGB} GB` };
}

export function sweep(env: PlanEnv, location: DataLocation, bytesPerSample: number, sizesGB: readonly number[] = SWEEP_SIZES_GB): SweepRow[] {
  return sizesGB.map((dataGB) => {
    const w = workloadOfSize(dataGB, location, bytesPerSample);
    const ok = enumerateCandidates(w, env).filter((c) => c.feasible);
    const platforms: SweepRow['platforms'] = {};
    for (const name of new Set(ok.map((c) => c.platform))) {
      const mine = ok.filter((c) => c.platform === name);
      platforms[name] = { byTime: pickOf(fastest(mine)), byCost: pickOf(cheapest(mine)) };
    }
    return { dataGB, samples: w.samples, byTime: pickOf(fastest(ok)), byCost: pickOf(cheapest(ok)), platforms };
  });
}

/** The sizes at which the winner changes: "lambda from 0.2 GB", per objective. */
export function crossovers(rows: readonly SweepRow[], by: 'byTime' | 'byCost'): { fromGB: number; platform: PlatformName; label: string }[] {
  const out: { fromGB: number; platform: PlatformName; label: string }[] = [];
  for (const r of rows) if (!out.length || out[out.length - 1].platform !== r[by].platform) out.push({ fromGB: r.dataGB, platform: r[by].platform, label: r[by].label });
  return out;
}
