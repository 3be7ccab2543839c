// The report's plots: vega-lite specs built from numbers, rendered headless to SVG by vega, and to PNG by
// resvg. Large sample sets are aggregated here (2-D histograms, fixed bins) so that a plot's size does not
// grow with the data: vega only ever sees at most `maxPoints` marks or a fixed number of cells.
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';

/** Above this many samples, scatter-type plots become 2-D histograms. */
export const DEFAULT_MAX_POINTS = 4000;
/** Cells per axis of a 2-D histogram. */
export const DENSITY_CELLS = 60;
/** Bins of the predicted-redshift histogram. */
export const HISTOGRAM_BINS = 40;

export interface PlotOptions {
  maxPoints?: number;
}

/** A built plot: its vega-lite spec and what its marks stand for (for captions and checks). */
export interface PlotSpec {
  spec: vl.TopLevelSpec;
  /** 'points': one mark per sample; 'density': one rect per non-empty cell, aria-label = its sample count; 'bins'; 'bars'. */
  aggregation: 'points' | 'density' | 'bins' | 'bars';
  /** Samples drawn (finite values only). */
  samples: number;
  /** Samples left out because a value was not finite. */
  dropped: number;
  /** Marks in the data layer: points, non-empty cells or bins. */
  marks: number;
  caption: string;
}

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const CONFIG = {
  aria: false,
  font: FONT,
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 10, titleFontSize: 11 },
} as const;

/** Predicted vs true redshift with the y = x line. */
export function scatterPlot(zTrue: Float32Array, zPred: Float32Array, opts: PlotOptions = {}): PlotSpec {
  const { xs, ys, dropped } = finitePairs(zTrue, zPred);
  const hi = niceMax(Math.max(maxOf(xs), maxOf(ys)));
  const lo = Math.min(0, minOf(xs), minOf(ys));
  const identity = {
    name: 'identity',
    data: { values: [{ x: lo, y: lo }, { x: hi, y: hi }] },
    mark: { type: 'line', color: '#d62728', strokeWidth: 1.2, strokeDash: [5, 3] },
    encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
  };
  const base = pairPlot(xs, ys, [lo, hi], [lo, hi], 'true redshift z', 'predicted redshift z', opts);
  return finish(base, [identity], 'Predicted vs true redshift', dropped, 'y = x dashed');
}

/** Normalised residual dz = (z_pred - z_true) / (1 + z_true) against z_true, with the zero line. */
export function residualPlot(zTrue: Float32Array, zPred: Float32Array, opts: PlotOptions = {}): PlotSpec {
  const { xs, ys: preds, dropped } = finitePairs(zTrue, zPred);
  const dz = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) dz[i] = (preds[i] - xs[i]) / (1 + xs[i]);
  const xHi = niceMax(maxOf(xs));
  const xLo = Math.min(0, minOf(xs));
  const span = Math.max(Math.abs(minOf(dz)), Math.abs(maxOf(dz)), 1e-3);
  const zero = {
    name: 'zero',
    data: { values: [{ y: 0 }] },
    mark: { type: 'rule', color: '#d62728', strokeWidth: 1.2, strokeDash: [5, 3] },
    encoding: { y: { field: 'y', type: 'quantitative' } },
  };
  const base = pairPlot(xs, dz, [xLo, xHi], [-span, span], 'true redshift z', 'dz = (z_pred - z_true) / (1 + z_true)', opts);
  return finish(base, [zero], 'Residuals', dropped, 'dz = 0 dashed');
}

/** Histogram of predicted redshift, for runs without true redshifts. */
export function histogramPlot(zPred: Float32Array, bins = HISTOGRAM_BINS): PlotSpec {
  const xs = Float64Array.from(zPred).filter(Number.isFinite);
  const dropped = zPred.length - xs.length;
  const lo = xs.length ? minOf(xs) : 0;
  const hi = xs.length ? maxOf(xs) : 1;
  const width = hi > lo ? (hi - lo) / bins : 1 / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const x of xs) counts[Math.min(bins - 1, Math.floor((x - lo) / width))]++;
  const values = counts.map((count, i) => ({ x0: lo + i * width, x1: lo + (i + 1) * width, count })).filter((b) => b.count > 0);
  const spec = {
    width: 520,
    height: 300,
    config: CONFIG,
    layer: [
      {
        name: 'bins',
        data: { values },
        mark: { type: 'rect', color: '#1f77b4', aria: true },
        encoding: {
          x: { field: 'x0', type: 'quantitative', title: 'predicted redshift z', scale: { zero: false } },
          x2: { field: 'x1' },
          y: { field: 'count', type: 'quantitative', title: 'samples' },
          y2: { datum: 0 },
          description: { field: 'count', type: 'quantitative' },
        },
      },
    ],
  } as unknown as vl.TopLevelSpec;
  return {
    spec,
    aggregation: 'bins',
    samples: xs.length,
    dropped,
    marks: values.length,
    caption: `Predicted redshift of ${xs.length.toLocaleString('en-US')} samples in ${bins} bins of width ${fmt(width)}${droppedText(dropped)}.`,
  };
}

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

/** Gantt chart: one row per rank, segments for cold start, download, inference, upload. */
export function timelinePlot(ranks: readonly RankTimes[]): PlotSpec {
  const segs = timelineSegments(ranks);
  const values = segs.map((s) => ({ ...s, y0: s.rank - 0.4, y1: s.rank + 0.4 }));
  // Failed ranks keep their row (empty) so that rank numbers line up with the table.
  const maxRank = ranks.length ? ranks.reduce((m, r) => Math.max(m, r.rank), -Infinity) : 0;
  const minRank = ranks.length ? ranks.reduce((m, r) => Math.min(m, r.rank), Infinity) : 0;
  const rows = maxRank - minRank + 1;
  const spec = {
    width: 620,
    height: Math.min(640, Math.max(120, rows * 16)),
    config: CONFIG,
    layer: [
      {
        name: 'segments',
        data: { values },
        mark: { type: 'rect', aria: true },
        encoding: {
          x: { field: 'start', type: 'quantitative', title: 'seconds since the first rank started' },
          x2: { field: 'end' },
          y: { field: 'y0', type: 'quantitative', title: 'rank', scale: { domain: [minRank - 0.5, maxRank + 0.5], nice: false, zero: false }, axis: { tickMinStep: 1, format: 'd' } },
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
    caption: `${ranks.length} rank${ranks.length === 1 ? '' : 's'}${failed ? `, ${failed} failed` : ''}; bars show cold start, download, inference and upload of each rank${untimed ? ` (${untimed} without timings not drawn)` : ''}.`,
  };
}

/** Render a vega-lite spec to a standalone SVG document (no scripts, no external references). */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return compactSvg(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** Rasterise an SVG to PNG at `scale` times its size, with the system fonts. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const r = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return r.render().asPng();
}

export function isOk(status: string): boolean {
  return /^(ok|succeeded|success|done|completed|complete|reused)$/i.test(status);
}

/** A rank that failed before reporting has no start/end (given as 0 or NaN): it is listed, not drawn. */
export function hasTimes(r: RankTimes): boolean {
  return Number.isFinite(r.startedAt) && Number.isFinite(r.endedAt) && r.startedAt > 0 && r.endedAt >= r.startedAt;
}

// Geometry rounded to 0.01 px: invisible, and it roughly halves a plot with thousands of marks.
function compactSvg(svg: string): string {
  return svg.replace(/ (d|transform)="([^"]*)"/g, (_m, attr: string, value: string) => ` ${attr}="${value.replace(/-?\d+\.\d{3,}/g, (n) => String(Math.round(Number(n) * 100) / 100))}"`);
}

function pairPlot(xs: Float64Array, ys: Float64Array, xDomain: number[], yDomain: number[], xTitle: string, yTitle: string, opts: PlotOptions): Omit<PlotSpec, 'caption' | 'dropped' | 'spec'> & { layer: object; xDomain: number[]; yDomain: number[]; xTitle: string; yTitle: string } {
  const maxPoints = opts.maxPoints ?? DEFAULT_MAX_POINTS;
  const x = { field: 'x', type: 'quantitative', title: xTitle, scale: { domain: xDomain, nice: false } };
  const y = { field: 'y', type: 'quantitative', title: yTitle, scale: { domain: yDomain, nice: false } };
  if (xs.length <= maxPoints) {
    const values = Array.from(xs, (xv, i) => ({ x: round6(xv), y: round6(ys[i]) }));
    const opacity = xs.length <= 500 ? 0.7 : xs.length <= 2000 ? 0.45 : 0.3;
    return {
      layer: { name: 'points', data: { values }, mark: { type: 'circle', size: 9, opacity, color: '#1f77b4', clip: true }, encoding: { x, y } },
      aggregation: 'points',
      samples: xs.length,
      marks: xs.length,
      xDomain,
      yDomain,
      xTitle,
      yTitle,
    };
  }
  const cells = density(xs, ys, xDomain, yDomain, DENSITY_CELLS);
  return {
    layer: {
      name: 'cells',
      data: { values: cells },
      mark: { type: 'rect', aria: true },
      encoding: {
        x: { ...x, field: 'x0' },
        x2: { field: 'x1' },
        y: { ...y, field: 'y0' },
        y2: { field: 'y1' },
        color: { field: 'count', type: 'quantitative', title: 'samples', scale: { type: 'log', scheme: 'viridis' } },
        description: { field: 'count', type: 'quantitative', format: 'd' },
      },
    },
    aggregation: 'density',
    samples: xs.length,
    marks: cells.length,
    xDomain,
    yDomain,
    xTitle,
    yTitle,
  };
}

function finish(base: ReturnType<typeof pairPlot>, overlays: object[], title: string, dropped: number, overlayNote: string): PlotSpec {
  const spec = { width: 420, height: 420, config: CONFIG, layer: [base.layer, ...overlays] } as unknown as vl.TopLevelSpec;
  const n = base.samples.toLocaleString('en-US');
  const how = base.aggregation === 'points' ? `${n} samples, one dot each` : `${n} samples as a ${DENSITY_CELLS} x ${DENSITY_CELLS} 2-D histogram (${base.marks} non-empty cells, colour = samples per cell)`;
  return { spec, aggregation: base.aggregation, samples: base.samples, dropped, marks: base.marks, caption: `${title}: ${how}; ${overlayNote}${droppedText(dropped)}.` };
}

/** Counts per cell of an n x n grid over the domains; values on the upper edge go in the last cell. */
export function density(xs: Float64Array, ys: Float64Array, xDomain: number[], yDomain: number[], n: number): { x0: number; x1: number; y0: number; y1: number; count: number }[] {
  const [xl, xh] = xDomain;
  const [yl, yh] = yDomain;
  const wx = (xh - xl) / n || 1;
  const wy = (yh - yl) / n || 1;
  const counts = new Uint32Array(n * n);
  for (let i = 0; i < xs.length; i++) {
    const cx = Math.min(n - 1, Math.max(0, Math.floor((xs[i] - xl) / wx)));
    const cy = Math.min(n - 1, Math.max(0, Math.floor((ys[i] - yl) / wy)));
    counts[cy * n + cx]++;
  }
  const out: { x0: number; x1: number; y0: number; y1: number; count: number }[] = [];
  for (let cy = 0; cy < n; cy++) {
    for (let cx = 0; cx < n; cx++) {
      const count = counts[cy * n + cx];
      if (count) out.push({ x0: xl + cx * wx, x1: xl + (cx + 1) * wx, y0: yl + cy * wy, y1: yl + (cy + 1) * wy, count });
    }
  }
  return out;
}

function finitePairs(zTrue: Float32Array, zPred: Float32Array): { xs: Float64Array; ys: Float64Array; dropped: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < zPred.length; i++) {
    if (Number.isFinite(zTrue[i]) && Number.isFinite(zPred[i])) {
      xs.push(zTrue[i]);
      ys.push(zPred[i]);
    }
  }
  return { xs: Float64Array.from(xs), ys: Float64Array.from(ys), dropped: zPred.length - xs.length };
}

function minOf(a: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] < m) m = a[i];
  return a.length ? m : 0;
}
function maxOf(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return a.length ? m : 1;
}
/** A round upper bound for an axis (0.1 steps below 1, 0.5 steps above). */
function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const step = x <= 1 ? 0.1 : 0.5;
  return Math.ceil(x / step - 1e-9) * step;
}
function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
function fmt(x: number): string {
  return Number(x.toPrecision(3)).toString();
}
function droppedText(n: number): string {
  return n ? `; ${n.toLocaleString('en-US')} non-finite value${n === 1 ? '' : 's'} left out` : '';
}
