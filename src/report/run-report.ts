// Writes a run's report: the plots as SVG and PNG, and one self-contained HTML page, each atomically and
// through Storage, so a run on S3 gets its report on S3 too.
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { describeKey } from '../data/dataset.js';
import { openStorage, type Storage } from '../storage/index.js';
import { RESULT_FILES } from '../workflow/contracts.js';
import { renderReportHtml, type HtmlPlot, type HtmlRank } from './html.js';
import { hasTimes, histogramPlot, renderSvg, residualPlot, scatterPlot, svgToPng, timelinePlot, type PlotSpec } from './plots.js';

// The FMI benchmark's output writer takes the atomic writer from here; its home is util/atomic-file.ts.
export { writeFileAtomic } from '../util/atomic-file.js';

export interface RunReportArgs {
  /** The run summary (summary.json); any JSON object is shown, the run contract's fields get their own sections. */
  summary: object;
  /** True redshifts; without them the report shows a histogram of predictions instead of scatter and residuals. */
  zTrue?: Float32Array;
  zPred: Float32Array;
  ranks: HtmlRank[];
  /** A directory (created if needed); with `storage`, a key prefix inside it instead ('' for its root). */
  outDir: string;
  storage?: Storage;
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

/** Where the files go: a storage and a key prefix, and how the written files are named back. */
function target(args: RunReportArgs): { storage: Storage; prefix: string; where: (name: string) => string } {
  if (!args.storage) return { storage: openStorage(args.outDir), prefix: '', where: (name) => join(args.outDir, name) };
  const trimmed = args.outDir.replace(/^\/+|\/+$/g, '');
  const prefix = trimmed === '' ? '' : trimmed + '/';
  const storage = args.storage;
  return { storage, prefix, where: (name) => describeKey(storage, prefix + name) };
}

/** Write report.html and the plot files; returns where they are (paths, or URLs for remote storage). */
export async function writeRunReport(args: RunReportArgs): Promise<RunReportFiles> {
  const { summary, zTrue, zPred, ranks } = args;
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

  const out = target(args);
  const put = async (name: string, body: Uint8Array | string): Promise<string> => {
    await out.storage.put(out.prefix + name, body);
    return out.where(name);
  };
  const plots: PlotInfo[] = [];
  const htmlPlots: HtmlPlot[] = [];
  for (const [name, title, p] of specs) {
    const svg = await renderSvg(p.spec);
    const svgPath = await put(`${name}.svg`, svg);
    const pngPath = await put(`${name}.png`, svgToPng(svg));
    plots.push({ name, svg: svgPath, png: pngPath, aggregation: p.aggregation, marks: p.marks, samples: p.samples, caption: p.caption });
    htmlPlots.push({ id: name, title, svg, caption: p.caption });
  }
  const runId = (summary as { runId?: unknown }).runId;
  const title = args.title ?? (typeof runId === 'string' ? `CAI run ${runId}` : 'CAI run report');
  const html = renderReportHtml({ title, summary: summary as Record<string, unknown>, ranks, plots: htmlPlots, generatedAt: new Date().toISOString() });
  const files: RunReportFiles = { html: await put(RESULT_FILES.reportPage, html), plots };
  for (const p of plots) {
    (files as unknown as Record<string, string>)[`${p.name}Svg`] = p.svg;
    (files as unknown as Record<string, string>)[`${p.name}Png`] = p.png;
  }
  return files;
}
