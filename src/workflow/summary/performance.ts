// Performance figures of a run: per rank (times of each phase, memory, rate), in total over the run's wall
// time, the slowest rank, and the invocations the platform made. Pure: rows and numbers in, objects out.
import { INPUT_BYTES_PER_SAMPLE } from '../../data/manifest.js';
import type { ColdStartParts, ColdStartPartsSeconds, ColdStartsSummary, Plan, RankResult, Summary } from '../contracts.js';
import type { InvocationRecord, RankRow } from './inputs.js';

type Performance = Summary['performance'];

/** Per-rank figures of every rank that did not fail, and the slowest of those that ran this time. */
export function rankPerformance(plan: Plan, rows: readonly RankRow[]): Pick<Performance, 'ranks' | 'slowestRank'> {
  const ranks = rows
    .filter((r) => !r.failure)
    .map((row) => {
      const r = row.loaded?.result;
      const a = plan.ranks[row.rank]!;
      const totalS = r ? r.timings.totalMs / 1000 : (row.noDataMs ?? 0) / 1000;
      return {
        rank: row.rank,
        samples: r?.samples ?? 0,
        partitions: a.partitions.length,
        coldStart: r?.timings.coldStart ?? false,
        coldStartS: (r?.timings.coldStartMs ?? 0) / 1000,
        downloadS: (r?.timings.downloadMs ?? 0) / 1000,
        inferenceS: (r?.timings.inferenceMs ?? 0) / 1000,
        uploadS: (r?.timings.uploadMs ?? 0) / 1000,
        totalS,
        peakRssMB: r?.memory.peakRssMB ?? 0,
        samplesPerS: r?.performance.samplesPerS ?? null,
        reused: row.reused,
        ...(r ? { device: r.performance.device, adapter: r.performance.adapter?.name ?? null } : {}),
        ...(r?.instance.slot !== undefined ? { slot: r.instance.slot } : {}),
        ...(r?.timings.coldStartParts ? { coldStartWaitS: r.timings.coldStartParts.waitedMs / 1000, coldStartParts: partsInSeconds(r.timings.coldStartParts) } : {}),
      };
    });
  const ranAgain = ranks.filter((p) => !p.reused);
  const slowestRank = (ranAgain.length ? ranAgain : ranks).reduce<{ rank: number; totalS: number } | null>((m, p) => (m === null || p.totalS > m.totalS ? { rank: p.rank, totalS: p.totalS } : m), null);
  return { ranks, slowestRank };
}

function partsInSeconds(p: ColdStartParts): ColdStartPartsSeconds {
  return {
    processS: p.processMs / 1000,
    codeS: p.codeMs / 1000,
    sessionHostS: p.sessionHostMs / 1000,
    modelReadS: p.modelReadMs / 1000,
    sessionCreateS: p.sessionCreateMs / 1000,
    waitedS: p.waitedMs / 1000,
    cache: p.cache,
    prestarted: p.prestarted,
  };
}

/** The cold starts of the ranks that ran this time (each one instance's first invocation), averaged part by part; undefined without one. */
export function coldStartsSummary(rows: readonly RankRow[]): ColdStartsSummary | undefined {
  const cold = rows.flatMap((row) => {
    const r = row.loaded?.result;
    return r && !row.reused && r.timings.coldStart && r.timings.coldStartParts ? [{ totalMs: r.timings.coldStartMs, parts: r.timings.coldStartParts }] : [];
  });
  if (!cold.length) return undefined;
  const mean = (f: (c: (typeof cold)[number]) => number): number => cold.reduce((a, c) => a + f(c), 0) / cold.length / 1000;
  const cache: ColdStartsSummary['cache'] = {};
  for (const c of cold) cache[c.parts.cache] = (cache[c.parts.cache] ?? 0) + 1;
  return {
    instances: cold.length,
    meanS: mean((c) => c.totalMs),
    meanPartsS: {
      processS: mean((c) => c.parts.processMs),
      codeS: mean((c) => c.parts.codeMs),
      sessionHostS: mean((c) => c.parts.sessionHostMs),
      modelReadS: mean((c) => c.parts.modelReadMs),
      sessionCreateS: mean((c) => c.parts.sessionCreateMs),
      waitedS: mean((c) => c.parts.waitedMs),
    },
    cache,
  };
}

/** Totals over the ranks with results: sums of phase times, rates over the run's wall time, peak memory. */
export function totalPerformance(rows: readonly RankRow[], samples: number, wallTimeS: number): Performance['total'] {
  const results = rows.filter((r) => r.loaded).map((r) => r.loaded!.result);
  const sum = (f: (r: RankResult) => number): number => results.reduce((s, r) => s + f(r), 0);
  return {
    samples,
    inferenceS: sum((r) => r.timings.inferenceMs) / 1000,
    downloadS: sum((r) => r.timings.downloadMs) / 1000,
    uploadS: sum((r) => r.timings.uploadMs) / 1000,
    coldStartS: sum((r) => r.timings.coldStartMs) / 1000,
    coldStartWaitS: sum((r) => r.timings.coldStartParts?.waitedMs ?? 0) / 1000,
    samplesPerS: wallTimeS > 0 ? samples / wallTimeS : null,
    throughputBps: wallTimeS > 0 ? (samples * INPUT_BYTES_PER_SAMPLE * 8) / wallTimeS : null,
    peakRssMB: results.reduce((m, r) => Math.max(m, r.memory.peakRssMB), 0),
  };
}

/** The invocations block: from the platform's records when there are any, else one per rank that ran. */
export function invocationFigures(recs: readonly InvocationRecord[] | undefined, ranThisTime: number, reusedRanks: number, coldStartsWithoutRecords: number): Summary['invocations'] {
  return recs
    ? {
        total: recs.length,
        ranks: ranThisTime,
        retries: Math.max(0, recs.length - ranThisTime),
        coldStarts: recs.filter((x) => x.cold).length,
        reusedRanks,
        crashed: recs.filter((x) => x.outcome === 'crash' || x.outcome === 'timeout' || x.outcome === 'memory').length,
      }
    : { total: ranThisTime, ranks: ranThisTime, retries: 0, coldStarts: coldStartsWithoutRecords, reusedRanks, crashed: 0 };
}

/** Cold starts as the rank results report them, for platforms that keep no record of their own. */
export function coldStartsOfResults(rows: readonly RankRow[]): number {
  return rows.filter((r) => r.loaded && !r.reused && r.loaded.result.timings.coldStart).length;
}

/** Durations to bill: the platform's record when it has one, else each rank that ran this time. */
export function rankDurations(recs: readonly InvocationRecord[] | undefined, rows: readonly RankRow[]): number[] {
  return recs ? recs.map((x) => x.durationMs) : rows.filter((r) => !r.reused && !r.failure).map((r) => r.loaded?.result.timings.totalMs ?? r.noDataMs ?? 0);
}
