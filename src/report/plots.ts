// The report's plots: vega-lite specs built from numbers (charts/), rendered headless to SVG by vega and
// to PNG by resvg. This module is the one door to them: the run page, the compare page, the study page,
// the planner's sweep and the FMI benchmark all render through renderSvg and svgToPng.
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';

export { CONFIG, PALETTE, density, type PlotSpec } from './charts/common.js';
export { DEFAULT_MAX_POINTS, DENSITY_CELLS, DZ_BINS, HISTOGRAM_BINS, dzHistogramPlot, histogramPlot, residualPlot, residuals, runningStats, scatterPlot, type PlotOptions, type RunningBin } from './charts/accuracy.js';
export { PHASES, hasTimes, isOk, rankThroughput, rankThroughputPlot, timelinePlot, timelineSegments, type RankTimes } from './charts/ranks.js';
export { costBreakdownPlot, isCostLike, type CostLike } from './charts/cost.js';
export { FIGURE_KINDS, barPlot, linePlot, type Axis, type Bar, type BarOptions, type FigureKind, type LineOptions, type SeriesPoint } from './charts/series.js';

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

// Geometry rounded to 0.01 px: invisible, and it roughly halves a plot with thousands of marks.
function compactSvg(svg: string): string {
  return svg.replace(/ (d|transform)="([^"]*)"/g, (_m, attr: string, value: string) => ` ${attr}="${value.replace(/-?\d+\.\d{3,}/g, (n) => String(Math.round(Number(n) * 100) / 100))}"`);
}
