// The per-rank charts of a workflow run: the timeline (one row per rank, a segment per phase) and each
// rank's throughput (samples per second of its own time, and of its model time alone).
import type * as vl from 'vega-lite';
import { CONFIG, plural, round6, type PlotSpec } from './common.js';

export interface RankTimes {
  rank: number;
  startedAt: number;
  endedAt: number;
  coldStartMs?: number;
  downloadMs?: number;
  inferenceMs?: number;
  uploadMs?: number;
  samples: number;
  status: string;
}

export const PHASES = ['cold start', 'download', 'inference', 'upload', 'other', 'failed'] as const;
const PHASE_COLORS = ['#9467bd', '#ff7f0e', '#2ca02c', '#1f77b4', '#c7c7c7', '#d62728'];

export function isOk(status: string): boolean {
  return /^(ok|succeeded|success|done|completed|complete|reused)$/i.test(status);
}

/** A rank that failed before reporting has no start/end (given as 0 or NaN): it is listed, not drawn. */
export function hasTimes(r: RankTimes): boolean {
  return Number.isFinite(r.startedAt) && Number.isFinite(r.endedAt) && r.startedAt > 0 && r.endedAt >= r.startedAt;
}

/** One bar segment per rank phase, seconds since the first rank started. */
export function timelineSegments(all: readonly RankTimes[]): { rank: number; phase: string; start: number; end: number }[] {
  const ranks = all.filter(hasTimes);
  if (ranks.length === 0) return [];
  const t0 = ranks.reduce((m, r) => Math.min(m, r.startedAt), Infinity);
  const out: { rank: number; phase: string; start: number; end: number }[] = [];
  for (const r of ranks) {
    let t = r.startedAt;
    const end = Math.max(r.endedAt, r.startedAt);
    const parts: [string, number | undefined][] = [
      ['cold start', r.coldStartMs],
      ['download', r.downloadMs],
      ['inference', r.inferenceMs],
      ['upload', r.uploadMs],
    ];
    for (const [phase, ms] of parts) {
      if (!ms || !(ms > 0)) continue;
      out.push({ rank: r.rank, phase, start: (t - t0) / 1000, end: (t + ms - t0) / 1000 });
      t += ms;
    }
    // Whatever the phases do not account for: bookkeeping, or the time a failed rank ran before failing.
    const failed = !isOk(r.status);
    if (end > t + 0.5 || failed) out.push({ rank: r.rank, phase: failed ? 'failed' : 'other', start: (t - t0) / 1000, end: (Math.max(t, end) - t0) / 1000 });
  }
  return out;
}

/** The rank axis of both charts: failed ranks keep their row (empty) so that numbers line up with the table. */
function rankAxis(ranks: readonly RankTimes[]): { y: object; height: number } {
  const max = ranks.length ? ranks.reduce((m, r) => Math.max(m, r.rank), -Infinity) : 0;
  const min = ranks.length ? ranks.reduce((m, r) => Math.min(m, r.rank), Infinity) : 0;
  const y = { field: 'y0', type: 'quantitative', title: 'rank', scale: { domain: [min - 0.5, max + 0.5], nice: false, zero: false }, axis: { tickMinStep: 1, format: 'd' } };
  return { y, height: Math.min(640, Math.max(120, (max - min + 1) * 16)) };
}

/** Gantt chart: one row per rank, segments for cold start, download, inference, upload. */
export function timelinePlot(ranks: readonly RankTimes[]): PlotSpec {
  const segs = timelineSegments(ranks);
  const values = segs.map((s) => ({ ...s, y0: s.rank - 0.4, y1: s.rank + 0.4 }));
  const axis = rankAxis(ranks);
  const spec = {
    width: 620,
    height: axis.height,
    config: CONFIG,
    layer: [
      {
        name: 'segments',
        data: { values },
        mark: { type: 'rect', aria: true },
        encoding: {
          x: { field: 'start', type: 'quantitative', title: 'seconds since the first rank started' },
          x2: { field: 'end' },
          y: axis.y,
          y2: { field: 'y1' },
          color: { field: 'phase', type: 'nominal', title: 'phase', scale: { domain: [...PHASES], range: PHASE_COLORS } },
          description: { field: 'rank', type: 'quantitative' },
        },
      },
    ],
  } as unknown as vl.TopLevelSpec;
  const failed = ranks.filter((r) => !isOk(r.status)).length;
  const untimed = ranks.filter((r) => !hasTimes(r)).length;
  return {
    spec,
    aggregation: 'bars',
    samples: ranks.reduce((s, r) => s + r.samples, 0),
    dropped: 0,
    marks: values.length,
    caption: `${plural(ranks.length, 'rank')}${failed ? `, ${failed} failed` : ''}; bars show cold start, download, inference and upload of each rank${untimed ? ` (${untimed} without timings not drawn)` : ''}.`,
  };
}

/** A rank's samples per second of its own time (start to end) and of its model time. */
export function rankThroughput(ranks: readonly RankTimes[]): { rank: number; samples: number; endToEnd: number; model: number | null; status: string }[] {
  return ranks
    .filter((r) => hasTimes(r) && r.samples > 0 && r.endedAt > r.startedAt)
    .map((r) => ({
      rank: r.rank,
      samples: r.samples,
      endToEnd: round6(r.samples / ((r.endedAt - r.startedAt) / 1000)),
      model: r.inferenceMs && r.inferenceMs > 0 ? round6(r.samples / (r.inferenceMs / 1000)) : null,
      status: r.status,
    }));
}

/** One bar per rank: samples/s of its whole time; a tick at its model-only rate. */
export function rankThroughputPlot(ranks: readonly RankTimes[]): PlotSpec {
  const values = rankThroughput(ranks);
  const axis = rankAxis(ranks);
  const ticks = values.filter((v) => v.model !== null);
  const spec = {
    width: 620,
    height: axis.height,
    config: CONFIG,
    layer: [
      {
        name: 'throughput',
        data: { values: values.map((v) => ({ ...v, y0: v.rank - 0.35, y1: v.rank + 0.35 })) },
        mark: { type: 'rect', aria: true, color: '#2ca02c', opacity: 0.85 },
        encoding: {
          x: { field: 'endToEnd', type: 'quantitative', title: 'samples per second', scale: { zero: true } },
          x2: { datum: 0 },
          y: axis.y,
          y2: { field: 'y1' },
          description: { field: 'endToEnd', type: 'quantitative' },
        },
      },
      {
        name: 'model_rate',
        data: { values: ticks.map((v) => ({ ...v, y0: v.rank - 0.45, y1: v.rank + 0.45 })) },
        mark: { type: 'rule', color: '#333', strokeWidth: 2 },
        encoding: { x: { field: 'model', type: 'quantitative' }, y: axis.y, y2: { field: 'y1' } },
      },
    ],
  } as unknown as vl.TopLevelSpec;
  const slowest = values.reduce<(typeof values)[number] | undefined>((m, v) => (!m || v.endToEnd < m.endToEnd ? v : m), undefined);
  const fastest = values.reduce<(typeof values)[number] | undefined>((m, v) => (!m || v.endToEnd > m.endToEnd ? v : m), undefined);
  const spread = slowest && fastest ? `; slowest rank ${slowest.rank} (${slowest.endToEnd.toFixed(0)}/s), fastest rank ${fastest.rank} (${fastest.endToEnd.toFixed(0)}/s)` : '';
  return {
    spec,
    aggregation: 'bars',
    samples: values.reduce((s, v) => s + v.samples, 0),
    dropped: 0,
    marks: values.length,
    caption: `Samples per second of each rank's whole time, start to end (bars), and of its model time alone (black ticks)${spread}.`,
  };
}
