// Charts of a few figures rather than of samples: lines of (x, y) points per series, and horizontal bars
// (optionally stacked). The compare page, the cost breakdown and the study's experiments draw with these.
// A series' kind sets its line style, so measured, modelled and published figures never look alike.
import type * as vl from 'vega-lite';
import { CONFIG, PALETTE, round6, type PlotSpec } from './common.js';

/** Where a figure comes from: measured here, predicted by a model, or published by others. */
export type FigureKind = 'measured' | 'modelled' | 'published';
export const FIGURE_KINDS: readonly FigureKind[] = ['measured', 'modelled', 'published'];
const KIND_DASH: Record<FigureKind, number[]> = { measured: [], modelled: [6, 3], published: [2, 2] };
const KIND_SHAPE: Record<FigureKind, string> = { measured: 'circle', modelled: 'triangle-up', published: 'square' };

export interface SeriesPoint {
  series: string;
  x: number;
  y: number;
  kind?: FigureKind;
}

export interface Axis {
  title: string;
  log?: boolean;
}

export interface LineOptions {
  x: Axis;
  y: Axis;
  caption: string;
  width?: number;
  height?: number;
  /** Where the legends go: below (default; a few short series) or to the right (many or long names). */
  legend?: 'bottom' | 'right';
}

/** One line per series through its points (sorted by x); colour per series, dash and shape per kind. */
export function linePlot(points: readonly SeriesPoint[], o: LineOptions): PlotSpec {
  const usable = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!o.x.log || p.x > 0) && (!o.y.log || p.y > 0));
  const values = usable.map((p) => ({ series: p.series, kind: p.kind ?? 'measured', x: round6(p.x), y: p.y }));
  const series = [...new Set(values.map((v) => v.series))];
  const kinds = FIGURE_KINDS.filter((k) => values.some((v) => v.kind === k));
  const axis = (a: Axis, field: string) => ({ field, type: 'quantitative', title: a.title, scale: a.log ? { type: 'log' } : { zero: false } });
  // Dash and shape show the same field: vega-lite merges them into one legend, so both say the same.
  const orient = o.legend ?? 'bottom';
  const kindLegend = kinds.length > 1 ? { orient } : null;
  const seriesLegend = orient === 'bottom' ? { orient, columns: Math.min(2, series.length), labelLimit: 420 } : { orient, labelLimit: 480 };
  const color = { field: 'series', type: 'nominal', title: null, scale: { domain: series, range: PALETTE.slice(0, Math.max(1, series.length)) }, legend: seriesLegend };
  const spec = {
    width: o.width ?? 460,
    height: o.height ?? 300,
    config: CONFIG,
    layer: [
      {
        name: 'lines',
        data: { values },
        mark: { type: 'line', strokeWidth: 1.8 },
        encoding: {
          x: axis(o.x, 'x'),
          y: axis(o.y, 'y'),
          color,
          detail: { field: 'series' },
          strokeDash: { field: 'kind', type: 'nominal', title: null, scale: { domain: kinds, range: kinds.map((k) => KIND_DASH[k]) }, legend: kindLegend },
          order: { field: 'x', type: 'quantitative' },
        },
      },
      {
        name: 'points',
        data: { values },
        mark: { type: 'point', filled: true, size: 36, aria: true },
        encoding: {
          x: axis(o.x, 'x'),
          y: axis(o.y, 'y'),
          color,
          shape: { field: 'kind', type: 'nominal', title: null, scale: { domain: kinds, range: kinds.map((k) => KIND_SHAPE[k]) }, legend: kindLegend },
          description: { field: 'y', type: 'quantitative' },
        },
      },
    ],
  } as unknown as vl.TopLevelSpec;
  return { spec, aggregation: 'lines', samples: values.length, dropped: points.length - usable.length, marks: values.length, caption: o.caption };
}

export interface Bar {
  /** The row (a run, a cost item). */
  label: string;
  value: number;
  /** Stacked segments of one row share its label; absent: one segment. */
  segment?: string;
  /** Text at the bar's end; default the value. */
  text?: string;
}

export interface BarOptions {
  x: Axis;
  caption: string;
  width?: number;
  /** Row order (default: as given). */
  labels?: string[];
  /** A second mark per row, e.g. a predicted value, drawn as a black tick. */
  ticks?: { label: string; value: number; title: string }[];
}

/** Horizontal bars, one row per label; rows with segments are stacked in the order given. */
export function barPlot(bars: readonly Bar[], o: BarOptions): PlotSpec {
  const usable = bars.filter((b) => Number.isFinite(b.value) && b.value >= 0);
  const labels = o.labels ?? [...new Set(usable.map((b) => b.label))];
  const segments = [...new Set(usable.map((b) => b.segment ?? ''))];
  const stacked = segments.length > 1 || segments[0] !== '';
  // Stack by hand: vega-lite's stack would also do it, but explicit x0/x1 keep the marks' order fixed.
  const ends = new Map<string, number>();
  const values = usable.map((b, i) => {
    const x0 = ends.get(b.label) ?? 0;
    ends.set(b.label, x0 + b.value);
    return { label: b.label, segment: b.segment ?? '', x0, x1: x0 + b.value, value: b.value, order: i };
  });
  const totals = [...ends].map(([label, total]) => ({ label, total, text: usable.find((b) => b.label === label && b.text)?.text ?? fmtBar(total) }));
  const y = { field: 'label', type: 'nominal', title: null, sort: labels, axis: { labelLimit: 280 } };
  const layer: object[] = [
    {
      name: 'bars',
      data: { values },
      mark: { type: 'bar', aria: true, height: { band: 0.7 } },
      encoding: {
        y,
        x: { field: 'x0', type: 'quantitative', title: o.x.title, scale: { zero: true, nice: true } },
        x2: { field: 'x1' },
        ...(stacked ? { color: { field: 'segment', type: 'nominal', title: null, scale: { domain: segments, range: PALETTE.slice(0, segments.length) }, legend: { orient: 'bottom', columns: 2, labelLimit: 260 } } } : { color: { value: PALETTE[0] } }),
        description: { field: 'value', type: 'quantitative' },
      },
    },
    {
      name: 'totals',
      data: { values: totals },
      mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#333' },
      encoding: { y, x: { field: 'total', type: 'quantitative' }, text: { field: 'text' } },
    },
  ];
  if (o.ticks?.length) {
    layer.push({
      name: 'ticks',
      data: { values: o.ticks },
      mark: { type: 'tick', color: '#111', thickness: 2.5, bandSize: 22 },
      encoding: { y, x: { field: 'value', type: 'quantitative' } },
    });
  }
  const spec = { width: o.width ?? 460, height: { step: stacked ? 30 : 24 }, config: CONFIG, layer } as unknown as vl.TopLevelSpec;
  return { spec, aggregation: 'bars', samples: usable.length, dropped: bars.length - usable.length, marks: values.length, caption: o.caption };
}

function fmtBar(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toLocaleString('en-US');
  return String(Number(x.toPrecision(3)));
}

