// Writes a run's report: the plots as SVG and PNG, and one self-contained HTML page, each atomically and
// through Storage, so a run on S3 gets its report on S3 too.
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { describeKey } from '../data/dataset.js';
import { openStorage, type Storage } from '../storage/index.js';
import { RESULT_FILES } from '../workflow/contracts.js';
import { headlineOf } from './headline.js';
import { renderReportHtml, type HtmlPlot, type HtmlRank } from './html.js';
import { costBreakdownPlot, dzHistogramPlot, hasTimes, histogramPlot, rankThroughputPlot, renderSvg, residualPlot, scatterPlot, svgToPng, timelinePlot, type PlotSpec } from './plots.js';

// The FMI benchmark's output writer takes the atomic writer from here; its home is util/atomic-file.ts.
export { writeFileAtomic } from '../util/atomic-file.js';

export interface RunReportArgs {
  /** The run summary (summary.json) or a `cai infer` metrics.json; the run contract's fields get their own sections. */
  summary: object;
  /** Which of the two `summary` is (default: from its `kind` field). */
  kind?: 'summary' | 'metrics';
  /** Devices the ranks ran on. */
  devices?: readonly string[];
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

/** The plots of a run page, in page order; each is written as <name>.svg and <name>.png. */
export const PLOT_NAMES = ['scatter', 'residual', 'dz', 'histogram', 'timeline', 'throughput', 'cost'] as const;
export type PlotName = (typeof PLOT_NAMES)[number];

export interface PlotInfo {
  name: PlotName;
  svg: string;
  png: string;
  aggregation: PlotSpec['aggregation'];
  /** Marks in the plot's data layer (points, non-empty cells, bins or bars). */
  marks: number;
  samples: number;
  caption: string;
}

export type RunReportFiles = { html: string; plots: PlotInfo[] } & Partial<Record<`${PlotName}${'Svg' | 'Png'}`, string>>;

/** Where the files go: a storage and a key prefix, and how the written files are named back. */
function target(args: RunReportArgs): { storage: Storage; prefix: string; where: (name: string) => string } {
  if (!args.storage) return { storage: openStorage(args.outDir), prefix: '', where: (name) => join(args.outDir, name) };
  const trimmed = args.outDir.replace(/^\/+|\/+$/g, '');
  const prefix = trimmed === '' ? '' : trimmed + '/';
  const storage = args.storage;
  return { storage, prefix, where: (name) => describeKey(storage, prefix + name) };
}

const TITLES: Record<PlotName, string> = {
  scatter: 'Predicted vs true redshift',
  residual: 'Residual dz vs true redshift',
  dz: 'Distribution of dz',
  histogram: 'Predicted redshift',
  timeline: 'Per-rank timeline',
  throughput: 'Per-rank throughput',
  cost: 'Cost breakdown',
};

/** The plots a run has: accuracy (labelled) or predictions (unlabelled), ranks when timed, cost when priced. */
function runPlots(args: RunReportArgs, kind: 'summary' | 'metrics'): [PlotName, PlotSpec][] {
  const { zTrue, zPred, ranks } = args;
  const labelled = !!zTrue && zTrue.some(Number.isFinite);
  const opts = { maxPoints: args.maxPoints };
  const specs: [PlotName, PlotSpec][] = labelled
    ? [
        ['scatter', scatterPlot(zTrue!, zPred, opts)],
        ['residual', residualPlot(zTrue!, zPred, opts)],
        ['dz', dzHistogramPlot(zTrue!, zPred)],
      ]
    : [['histogram', histogramPlot(zPred)]];
  if (ranks.some(hasTimes)) specs.push(['timeline', timelinePlot(ranks)], ['throughput', rankThroughputPlot(ranks)]);
  const cost = headlineOf(args.summary as Record<string, unknown>, kind).cost;
  if (cost && cost.breakdown.items.length) specs.push(['cost', costBreakdownPlot(cost.breakdown, `Cost ${cost.basis}`)]);
  return specs;
}

/** Write report.html and the plot files; returns where they are (paths, or URLs for remote storage). */
export async function writeRunReport(args: RunReportArgs): Promise<RunReportFiles> {
  const { summary, zTrue, zPred, ranks } = args;
  if (summary === null || typeof summary !== 'object' || Array.isArray(summary)) throw new UsageError('report: summary must be a JSON object');
  if (zTrue && zTrue.length !== zPred.length) throw new UsageError(`report: z_true has ${zTrue.length} values but z_pred has ${zPred.length}`);
  const record = summary as Record<string, unknown>;
  const kind = args.kind ?? (record.kind === 'cai-run-summary' ? 'summary' : 'metrics');

  const out = target(args);
  const put = async (name: string, body: Uint8Array | string): Promise<string> => {
    await out.storage.put(out.prefix + name, body);
    return out.where(name);
  };
  const files: RunReportFiles = { html: '', plots: [] };
  const htmlPlots: HtmlPlot[] = [];
  for (const [name, p] of runPlots(args, kind)) {
    const svg = await renderSvg(p.spec);
    const svgPath = await put(`${name}.svg`, svg);
    const pngPath = await put(`${name}.png`, svgToPng(svg));
    files.plots.push({ name, svg: svgPath, png: pngPath, aggregation: p.aggregation, marks: p.marks, samples: p.samples, caption: p.caption });
    files[`${name}Svg`] = svgPath;
    files[`${name}Png`] = pngPath;
    htmlPlots.push({ id: name, title: TITLES[name], svg, caption: p.caption });
  }
  const runId = record.runId;
  const title = args.title ?? (typeof runId === 'string' ? `CAI run ${runId}` : 'CAI run report');
  const html = renderReportHtml({ title, summary: record, kind, devices: args.devices, ranks, plots: htmlPlots, generatedAt: new Date().toISOString() });
  files.html = await put(RESULT_FILES.reportPage, html);
  return files;
}
