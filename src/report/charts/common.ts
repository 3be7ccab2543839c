// What every chart of the report shares: the built-plot shape, one look (font, axes), and the number
// functions the chart builders use. Pure: no vega here, only the specs' ingredients.
import type * as vl from 'vega-lite';

/** A built plot: its vega-lite spec and what its marks stand for (for captions and checks). */
export interface PlotSpec {
  spec: vl.TopLevelSpec;
  /** 'points': one mark per sample; 'density': one rect per non-empty cell, aria-label = its sample count; 'bins'; 'bars'; 'lines': series of a few points. */
  aggregation: 'points' | 'density' | 'bins' | 'bars' | 'lines';
  /** Samples drawn (finite values only). */
  samples: number;
  /** Samples left out because a value was not finite. */
  dropped: number;
  /** Marks in the data layer: points, non-empty cells, bins, bars or line points. */
  marks: number;
  caption: string;
}

export const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
export const CONFIG = {
  aria: false,
  font: FONT,
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  legend: { labelFontSize: 10, titleFontSize: 11 },
} as const;

/** The report's series colours (colour-blind safe order, Tableau 10). */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
export const ACCENT = '#d62728';

export function minOf(a: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] < m) m = a[i];
  return a.length ? m : 0;
}

export function maxOf(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
  return a.length ? m : 1;
}

/** A round upper bound for an axis (0.1 steps below 1, 0.5 steps above). */
export function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const step = x <= 1 ? 0.1 : 0.5;
  return Math.ceil(x / step - 1e-9) * step;
}

export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Three significant digits, no exponent for everyday magnitudes. */
export function fmt3(x: number): string {
  return Number(x.toPrecision(3)).toString();
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

export function droppedText(n: number): string {
  return n ? `; ${plural(n, 'non-finite value')} left out` : '';
}

/** The pairs where both values are finite, as float64. */
export function finitePairs(a: ArrayLike<number>, b: ArrayLike<number>): { xs: Float64Array; ys: Float64Array; dropped: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < b.length; i++) {
    if (Number.isFinite(a[i]) && Number.isFinite(b[i])) {
      xs.push(a[i]);
      ys.push(b[i]);
    }
  }
  return { xs: Float64Array.from(xs), ys: Float64Array.from(ys), dropped: b.length - xs.length };
}

/** Counts per cell of an n x n grid over the domains; values outside go to the nearest edge cell. */
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
      if (count) out.push({ x0: round6(xl + cx * wx), x1: round6(xl + (cx + 1) * wx), y0: round6(yl + cy * wy), y1: round6(yl + (cy + 1) * wy), count });
    }
  }
  return out;
}
