// Writes a run's report: the plots as SVG and PNG, and one self-contained HTML page, all atomically.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { renderReportHtml, type HtmlPlot, type HtmlRank } from './html.js';
import { hasTimes, histogramPlot, renderSvg, residualPlot, scatterPlot, svgToPng, timelinePlot, type PlotSpec } from './plots.js';

// Other modules write their files through the report's helper too.
export { writeFileAtomic };

export interface RunReportArgs {
  /** The run summary (summary.json); any JSON object is shown, the run contract's fields get their own sections. */
  summary: object;
  /** True redshifts; without them the report shows a histogram of predictions instead of scatter and residuals. */
  zTrue?: Float32Array;
  zPred: Float32Array;
  ranks: HtmlRank[];
  outDir: string;
  title?: string;
  /** Above this many samples the scatter and residual plots become 2-D histograms (default 4,000). */
  maxPoints?: number;
}

export interface PlotInfo {
  name: 'scatter' | 'residual' | 'histogram' | 'timeline';
  svg: string;
  png: string;
  aggregation: PlotSpec['aggregation'];
  /** Marks in the plot's data layer (points, non-empty cells, bins or bar segments). */
  marks: number;
  samples: number;
  caption: string;
}

export interface RunReportFiles {
  html: string;
  /** Labelled runs only. */
  scatterSvg?: string;
  scatterPng?: string;
  residualSvg?: string;
  residualPng?: string;
  /** Unlabelled runs only. */
  histogramSvg?: string;
  histogramPng?: string;
  /** When per-rank timings were given. */
  timelineSvg?: string;
  timelinePng?: string;
  plots: PlotInfo[];
}

/** Write report.html and the plot files into `outDir` (created if needed); returns their paths. */
export async function writeRunReport(args: RunReportArgs): Promise<RunReportFiles> {
  const { summary, zTrue, zPred, ranks, outDir } = args;
  if (summary === null || typeof summary !== 'object' || Array.isArray(summary)) throw new UsageError('report: summary must be a JSON object');
  if (zTrue && zTrue.length !== zPred.length) throw new UsageError(`report: z_true has ${zTrue.length} values but z_pred has ${zPred.length}`);
  const labelled = !!zTrue && zTrue.some(Number.isFinite);
  const opts = { maxPoints: args.maxPoints };
  const specs: [PlotInfo['name'], string, PlotSpec][] = labelled
    ? [
        ['scatter', 'Predicted vs true redshift', scatterPlot(zTrue!, zPred, opts)],
        ['residual', 'Residual dz vs true redshift', residualPlot(zTrue!, zPred, opts)],
      ]
    : [['histogram', 'Predicted redshift', histogramPlot(zPred)]];
  if (ranks.some(hasTimes)) specs.push(['timeline', 'Per-rank timeline', timelinePlot(ranks)]);

  await mkdir(outDir, { recursive: true });
  const plots: PlotInfo[] = [];
  const htmlPlots: HtmlPlot[] = [];
  for (const [name, title, p] of specs) {
    const svg = await renderSvg(p.spec);
    const svgPath = join(outDir, `${name}.svg`);
    const pngPath = join(outDir, `${name}.png`);
    await writeFileAtomic(svgPath, svg);
    await writeFileAtomic(pngPath, svgToPng(svg));
    plots.push({ name, svg: svgPath, png: pngPath, aggregation: p.aggregation, marks: p.marks, samples: p.samples, caption: p.caption });
    htmlPlots.push({ id: name, title, svg, caption: p.caption });
  }
  const runId = (summary as { runId?: unknown }).runId;
  const title = args.title ?? (typeof runId === 'string' ? `CAI run ${runId}` : 'CAI run report');
  const html = renderReportHtml({ title, summary: summary as Record<string, unknown>, ranks, plots: htmlPlots, generatedAt: new Date().toISOString() });
  const htmlPath = join(outDir, 'report.html');
  await writeFileAtomic(htmlPath, html);

  const out: RunReportFiles = { html: htmlPath, plots };
  for (const p of plots) {
    (out as unknown as Record<string, string>)[`${p.name}Svg`] = p.svg;
    (out as unknown as Record<string, string>)[`${p.name}Png`] = p.png;
  }
  return out;
}
