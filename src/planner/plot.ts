// Vega-lite specs of the planner's plots, built from numbers (the commands render them with the report's
// renderSvg/svgToPng): the Pareto front of one plan, and where each platform wins across data sizes.
import type { TopLevelSpec } from 'vega-lite';
import type { Candidate } from './search.js';
import type { SweepRow } from './sweep.js';
import type { PlatformName } from './types.js';

const PLATFORM_ORDER: PlatformName[] = ['local', 'lambda', 'gpu', 'ec2'];
const PLATFORM_COLORS = ['#2ca02c', '#ff7f0e', '#9467bd', '#1f77b4'];
const CONFIG = { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', view: { stroke: '#ccc' }, axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' }, legend: { labelFontSize: 10, titleFontSize: 11, symbolOpacity: 1, labelLimit: 320 } };
const color = { field: 'platform', type: 'nominal', title: 'platform', scale: { domain: PLATFORM_ORDER, range: PLATFORM_COLORS } };

/** Every candidate that can run as a point (time against cost, both log), the front as a line, the pick ringed. */
export function frontPlot(candidates: readonly Candidate[], pickIndex: number | undefined, title: string): TopLevelSpec {
  const ok = candidates.map((c, i) => ({ c, i })).filter(({ c }) => c.feasible && c.cost_usd > 0 && c.wall_s > 0);
  const values = ok.map(({ c, i }) => ({ platform: c.platform, label: c.label, wall: round(c.wall_s), cost: round(c.cost_usd), front: c.pareto ? 'on the front' : 'dominated', pick: i === pickIndex }));
  const front = values.filter((v) => v.front === 'on the front').sort((a, b) => a.wall - b.wall);
  const x = { field: 'wall', type: 'quantitative', title: 'predicted wall time (s, log)', scale: { type: 'log' } };
  const y = { field: 'cost', type: 'quantitative', title: 'predicted cost (USD, log)', scale: { type: 'log' } };
  return {
    title: { text: title, subtitle: 'modelled; solid: the Pareto front, faint: dominated, ringed: the pick', fontSize: 13 },
    width: 560,
    height: 360,
    config: CONFIG,
    layer: [
      { data: { values: front }, mark: { type: 'line', interpolate: 'step-after', color: '#444', strokeWidth: 1 }, encoding: { x, y } },
      { data: { values: values.filter((v) => v.front === 'dominated') }, mark: { type: 'point', filled: true, size: 30, opacity: 0.25 }, encoding: { x, y, color } },
      { data: { values: front }, mark: { type: 'point', filled: true, size: 60, opacity: 1 }, encoding: { x, y, color } },
      { data: { values: values.filter((v) => v.pick) }, mark: { type: 'point', shape: 'circle', size: 400, strokeWidth: 2.5, color: '#d62728', filled: false }, encoding: { x, y } },
    ],
  } as unknown as TopLevelSpec;
}

/** A measured point drawn on the sweep: the study's published runs. */
export interface MeasuredPoint {
  dataGB: number;
  wall_s?: number;
  cost_usd?: number;
  series: string;
}

/**
 * Two panels over data size (log): the best wall time and the lowest cost each platform reaches (lines),
 * the overall winner at each size (large marks), and the study's measured runs (black) with the same
 * model run on the study's own figures (dashed), which is what it was validated against.
 */
export function sweepPlot(rows: readonly SweepRow[], measured: readonly MeasuredPoint[], modelledStudy: readonly MeasuredPoint[], subtitle: string[]): TopLevelSpec {
  const panel = (by: 'byTime' | 'byCost', field: 'wall_s' | 'cost_usd', title: string) => {
    const lines = rows.flatMap((r) => PLATFORM_ORDER.filter((p) => r.platforms[p]).map((p) => ({ dataGB: r.dataGB, platform: p, v: round(r.platforms[p]![by][field]), label: r.platforms[p]![by].label })));
    const best = rows.map((r) => ({ dataGB: r.dataGB, platform: r[by].platform, v: round(r[by][field]), label: r[by].label }));
    const meas = measured.filter((m) => m[field] !== undefined && m[field]! > 0).map((m) => ({ dataGB: m.dataGB, v: m[field], series: m.series }));
    const study = modelledStudy.filter((m) => m[field] !== undefined && m[field]! > 0).map((m) => ({ dataGB: m.dataGB, v: m[field], series: m.series }));
    const x = { field: 'dataGB', type: 'quantitative', title: 'data set size (GB, log)', scale: { type: 'log' } };
    const y = { field: 'v', type: 'quantitative', title, scale: { type: 'log' } };
    return {
      width: 620,
      height: 300,
      layer: [
        { data: { values: lines }, mark: { type: 'line', strokeWidth: 1.5, opacity: 0.8 }, encoding: { x, y, color } },
        { data: { values: best }, mark: { type: 'point', filled: true, size: 90 }, encoding: { x, y, color, shape: { value: 'diamond' } } },
        ...(study.length ? [{ data: { values: study }, mark: { type: 'line', strokeDash: [4, 3], color: '#000', strokeWidth: 1 }, encoding: { x, y, detail: { field: 'series', type: 'nominal' } } }] : []),
        ...(meas.length ? [{ data: { values: meas }, mark: { type: 'point', color: '#000', size: 30, shape: 'cross', filled: true }, encoding: { x, y, shape: { field: 'series', type: 'nominal', title: 'measured (study)' } } }] : []),
      ],
    };
  };
  return {
    title: { text: 'Where each platform wins (modelled)', subtitle, fontSize: 13 },
    config: CONFIG,
    resolve: { scale: { shape: 'independent' } },
    vconcat: [panel('byTime', 'wall_s', 'fastest wall time (s, log)'), panel('byCost', 'cost_usd', 'lowest cost (USD, log)')],
  } as unknown as TopLevelSpec;
}

function round(x: number): number {
  return Number(x.toPrecision(6));
}
