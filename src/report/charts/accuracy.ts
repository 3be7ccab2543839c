// The accuracy charts of a run: predicted against true redshift with the |dz| = 0.15 outlier band, the
// residual dz against true redshift with its running median and NMAD band, the histogram of dz, and for
// unlabelled data the histogram of predictions. Large sample sets become 2-D histograms here, so that a
// chart's size does not grow with the data: vega only ever sees at most `maxPoints` marks or a fixed grid.
import type * as vl from 'vega-lite';
import { OUTLIER_DZ, accuracyMetrics } from '../../metrics/accuracy.js';
import { ACCENT, CONFIG, density, droppedText, finitePairs, fmt3, maxOf, minOf, niceMax, plural, round6, type PlotSpec } from './common.js';

/** Above this many samples, scatter-type plots become 2-D histograms. */
export const DEFAULT_MAX_POINTS = 4000;
/** Cells per axis of a 2-D histogram. */
export const DENSITY_CELLS = 60;
/** Bins of the predicted-redshift and dz histograms. */
export const HISTOGRAM_BINS = 40;
export const DZ_BINS = 60;
/** Samples per bin of the running median, at least; at most this many bins. */
const RUNNING_MIN_BIN = 25;
const RUNNING_MAX_BINS = 30;

export interface PlotOptions {
  maxPoints?: number;
}

/** dz = (z_pred - z_true) / (1 + z_true), the normalised residual of photo-z work. */
export function residuals(zTrue: Float64Array, zPred: Float64Array): Float64Array {
  const dz = new Float64Array(zTrue.length);
  for (let i = 0; i < zTrue.length; i++) dz[i] = (zPred[i] - zTrue[i]) / (1 + zTrue[i]);
  return dz;
}

/** The bars of a histogram: one rect per non-empty bin, its count in the rect's aria-label. */
function binsLayer(values: { x0: number; x1: number; count: number }[], xTitle: string, xScale: object): object {
  return {
    name: 'bins',
    data: { values },
    mark: { type: 'rect', color: '#1f77b4', aria: true },
    encoding: {
      x: { field: 'x0', type: 'quantitative', title: xTitle, scale: xScale },
      x2: { field: 'x1' },
      y: { field: 'count', type: 'quantitative', title: 'samples' },
      y2: { datum: 0 },
      description: { field: 'count', type: 'quantitative' },
    },
  };
}

/** Predicted vs true redshift: y = x, and the band |dz| <= 0.15 where predictions are not outliers. */
export function scatterPlot(zTrue: Float32Array, zPred: Float32Array, opts: PlotOptions = {}): PlotSpec {
  const { xs, ys, dropped } = finitePairs(zTrue, zPred);
  const hi = niceMax(Math.max(maxOf(xs), maxOf(ys)));
  const lo = Math.min(0, minOf(xs), minOf(ys));
  const line = (name: string, offset: number, dash: number[]) => ({
    name,
    data: { values: [lo, hi].map((x) => ({ x, y: x + offset * (1 + x) })) },
    mark: { type: 'line', color: ACCENT, strokeWidth: 1.1, strokeDash: dash, clip: true },
    encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
  });
  const band = {
    name: 'band',
    data: { values: [lo, hi].map((x) => ({ x, y0: x - OUTLIER_DZ * (1 + x), y1: x + OUTLIER_DZ * (1 + x) })) },
    mark: { type: 'area', color: ACCENT, opacity: 0.07, clip: true },
    encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y0', type: 'quantitative' }, y2: { field: 'y1' } },
  };
  const base = pairLayer(xs, ys, [lo, hi], [lo, hi], 'true redshift z', 'predicted redshift z', opts);
  const spec = square([band, base.layer, line('identity', 0, [5, 3]), line('band_upper', OUTLIER_DZ, [2, 3]), line('band_lower', -OUTLIER_DZ, [2, 3])]);
  return { spec, ...base.facts, dropped, caption: `Predicted vs true redshift: ${base.how}; y = x dashed, the shaded band is |dz| <= ${OUTLIER_DZ} (outside it a prediction is an outlier)${droppedText(dropped)}.` };
}

/** One bin of the running statistics: its samples' median true z, median dz and median +/- sigma_NMAD. */
export interface RunningBin {
  x: number;
  median: number;
  lo: number;
  hi: number;
  n: number;
}

/** Running median and NMAD of dz along true z, in bins of equal sample count (none below 2 x 25 samples). */
export function runningStats(xs: Float64Array, ys: Float64Array): RunningBin[] {
  const n = xs.length;
  const bins = Math.min(RUNNING_MAX_BINS, Math.floor(n / RUNNING_MIN_BIN));
  if (bins < 2) return [];
  const order = Array.from(xs.keys()).sort((a, b) => xs[a] - xs[b]);
  const out: RunningBin[] = [];
  for (let b = 0; b < bins; b++) {
    const idx = order.slice(Math.floor((b * n) / bins), Math.floor(((b + 1) * n) / bins));
    const zt = Float64Array.from(idx, (i) => xs[i]);
    const zp = Float64Array.from(idx, (i) => ys[i]);
    const a = accuracyMetrics(zt, zp);
    const sorted = Float64Array.from(zt).sort();
    const mid = sorted[sorted.length >> 1];
    const med = a.biasMedian ?? 0;
    const nmad = a.sigmaNmad ?? 0;
    out.push({ x: round6(mid), median: round6(med), lo: round6(med - nmad), hi: round6(med + nmad), n: idx.length });
  }
  return out;
}

/** dz against true z: the samples, dz = 0, the running median and the band median +/- sigma_NMAD. */
export function residualPlot(zTrue: Float32Array, zPred: Float32Array, opts: PlotOptions = {}): PlotSpec {
  const { xs, ys: preds, dropped } = finitePairs(zTrue, zPred);
  const dz = residuals(xs, preds);
  const xHi = niceMax(maxOf(xs));
  const xLo = Math.min(0, minOf(xs));
  const span = Math.max(Math.abs(minOf(dz)), Math.abs(maxOf(dz)), 1e-3);
  const zero = {
    name: 'zero',
    data: { values: [{ y: 0 }] },
    mark: { type: 'rule', color: '#555', strokeWidth: 1, strokeDash: [5, 3] },
    encoding: { y: { field: 'y', type: 'quantitative' } },
  };
  const running = runningStats(xs, preds);
  const overlays: object[] = [];
  if (running.length) {
    overlays.push(
      { name: 'nmad_band', data: { values: running }, mark: { type: 'area', color: ACCENT, opacity: 0.18, interpolate: 'monotone' }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
      ...(['lo', 'hi'] as const).map((edge) => ({ name: `nmad_${edge}`, data: { values: running }, mark: { type: 'line', color: ACCENT, strokeWidth: 1.2, strokeDash: [3, 2], interpolate: 'monotone' }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: edge, type: 'quantitative' } } })),
      { name: 'running_median', data: { values: running }, mark: { type: 'line', color: ACCENT, strokeWidth: 2, interpolate: 'monotone', point: { filled: true, size: 14, color: ACCENT } }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'median', type: 'quantitative' } } },
    );
  }
  const base = pairLayer(xs, dz, [xLo, xHi], [-span, span], 'true redshift z', 'dz = (z_pred - z_true) / (1 + z_true)', opts);
  const spec = square([base.layer, zero, ...overlays]);
  const runText = running.length ? `; red: running median of dz in ${running.length} bins of about ${Math.round(xs.length / running.length)} samples, dotted and shaded between: median +/- sigma_NMAD of each bin` : '';
  return { spec, ...base.facts, dropped, caption: `Residuals: ${base.how}; dz = 0 dashed${runText}${droppedText(dropped)}.` };
}

/** Histogram of dz over a symmetric range that holds all but the farthest 0.1%, with the outlier cut marked. */
export function dzHistogramPlot(zTrue: Float32Array, zPred: Float32Array, bins = DZ_BINS): PlotSpec {
  const { xs, ys, dropped } = finitePairs(zTrue, zPred);
  const dz = residuals(xs, ys);
  const abs = Float64Array.from(dz, Math.abs).sort();
  const q = abs.length ? abs[Math.min(abs.length - 1, Math.floor(abs.length * 0.999))] : 0;
  const half = Math.ceil(Math.min(1, Math.max(0.2, q * 1.05)) / 0.05 - 1e-9) * 0.05;
  const width = (2 * half) / bins;
  const counts = new Array<number>(bins).fill(0);
  let beyond = 0;
  let outliers = 0;
  for (const d of dz) {
    if (Math.abs(d) > half) beyond++;
    if (Math.abs(d) > OUTLIER_DZ) outliers++;
    counts[Math.min(bins - 1, Math.max(0, Math.floor((d + half) / width)))]++;
  }
  const values = counts.map((count, i) => ({ x0: round6(-half + i * width), x1: round6(-half + (i + 1) * width), count })).filter((b) => b.count > 0);
  const spec = {
    width: 420,
    height: 300,
    config: CONFIG,
    layer: [
      binsLayer(values, 'dz = (z_pred - z_true) / (1 + z_true)', { domain: [-half, half], nice: false }),
      {
        name: 'outlier_cut',
        data: { values: [{ x: -OUTLIER_DZ }, { x: OUTLIER_DZ }] },
        mark: { type: 'rule', color: ACCENT, strokeDash: [4, 3] },
        encoding: { x: { field: 'x', type: 'quantitative' } },
      },
    ],
  } as unknown as vl.TopLevelSpec;
  const beyondText = beyond ? `; ${plural(beyond, 'sample')} beyond +/-${fmt3(half)} counted in the end bins` : '';
  return {
    spec,
    aggregation: 'bins',
    samples: dz.length,
    dropped,
    marks: values.length,
    caption: `dz of ${plural(dz.length, 'sample')} in ${bins} bins of width ${fmt3(width)}; dashed: |dz| = ${OUTLIER_DZ}, ${plural(outliers, 'outlier')} beyond it${beyondText}${droppedText(dropped)}.`,
  };
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
    layer: [binsLayer(values, 'predicted redshift z', { zero: false })],
  } as unknown as vl.TopLevelSpec;
  return {
    spec,
    aggregation: 'bins',
    samples: xs.length,
    dropped,
    marks: values.length,
    caption: `Predicted redshift of ${plural(xs.length, 'sample')} in ${bins} bins of width ${fmt3(width)}${droppedText(dropped)}.`,
  };
}

function square(layer: object[]): vl.TopLevelSpec {
  return { width: 420, height: 420, config: CONFIG, layer } as unknown as vl.TopLevelSpec;
}

/** The data layer of a scatter-type plot: one dot per sample, or above maxPoints a 2-D histogram. */
function pairLayer(xs: Float64Array, ys: Float64Array, xDomain: number[], yDomain: number[], xTitle: string, yTitle: string, opts: PlotOptions): { layer: object; facts: Pick<PlotSpec, 'aggregation' | 'samples' | 'marks'>; how: string } {
  const maxPoints = opts.maxPoints ?? DEFAULT_MAX_POINTS;
  const x = { field: 'x', type: 'quantitative', title: xTitle, scale: { domain: xDomain, nice: false } };
  const y = { field: 'y', type: 'quantitative', title: yTitle, scale: { domain: yDomain, nice: false } };
  const n = xs.length.toLocaleString('en-US');
  if (xs.length <= maxPoints) {
    const values = Array.from(xs, (xv, i) => ({ x: round6(xv), y: round6(ys[i]) }));
    const opacity = xs.length <= 500 ? 0.7 : xs.length <= 2000 ? 0.45 : 0.3;
    return {
      layer: { name: 'points', data: { values }, mark: { type: 'circle', size: 9, opacity, color: '#1f77b4', clip: true }, encoding: { x, y } },
      facts: { aggregation: 'points', samples: xs.length, marks: xs.length },
      how: `${n} samples, one dot each`,
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
    facts: { aggregation: 'density', samples: xs.length, marks: cells.length },
    how: `${n} samples as a ${DENSITY_CELLS} x ${DENSITY_CELLS} 2-D histogram (${cells.length} non-empty cells, colour = samples per cell)`,
  };
}
