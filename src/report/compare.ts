// Several finished runs side by side (world sizes, CPU against WebGPU, fp32 against int8, this machine
// against Lambda): a table of their headline figures with each one's change against the first run, and
// overlaid plots of throughput, wall time, cost and accuracy. The table is also compare.json, the shape
// `cai report --compare --json` prints.
import { join, relative } from 'node:path';
import { fmtUsd } from '../cost/format.js';
import { UsageError } from '../errors.js';
import { openStorage } from '../storage/index.js';
import { finitePairs } from './charts/common.js';
import { fmtPercent, fmtRate, fmtSeconds, headlineOf, type Headline } from './headline.js';
import type { LoadedRun } from './load-run.js';
import { esc, figuresHtml, gridTable, renderPage, section, type Figure } from './page.js';
import { barPlot, hasTimes, linePlot, renderSvg, residuals, svgToPng, type PlotSpec, type SeriesPoint } from './plots.js';

/** The figures compared, in table order; `better` says which way is an improvement. */
export const COMPARED = [
  { key: 'wallS', title: 'Wall time (s)', better: 'lower' },
  { key: 'samplesPerS', title: 'Samples/s', better: 'higher' },
  { key: 'costUsd', title: 'Cost (USD)', better: 'lower' },
  { key: 'sigmaNmad', title: 'σ_NMAD', better: 'lower' },
  { key: 'outlierRate', title: 'Outlier rate', better: 'lower' },
] as const;
export type ComparedKey = (typeof COMPARED)[number]['key'];

export interface Delta {
  /** This run's figure less the first run's. */
  abs: number;
  /** This run's figure over the first run's, less one; null when the first run's is 0. */
  rel: number | null;
  /** Whether the change is for the better, by the figure's own sense. */
  better: boolean | null;
}

export interface CompareRow {
  label: string;
  dir: string;
  runId: string | null;
  kind: Headline['kind'];
  status: string | null;
  samples: number;
  wallS: number | null;
  samplesPerS: number | null;
  costUsd: number | null;
  costBasis: string | null;
  sigmaNmad: number | null;
  outlierRate: number | null;
  prediction: { wallS: number; costUsd: number; platform: string } | null;
  facets: Record<string, string>;
  /** Against the first run; null for the first run itself and where a figure is missing. */
  deltas: Record<ComparedKey, Delta | null>;
}

export interface CompareTable {
  baseline: string;
  /** The facets whose values differ between the runs (what the labels are made of). */
  differing: string[];
  runs: CompareRow[];
}

export interface ComparedRun {
  dir: string;
  run: LoadedRun;
}

/** The table: headline figures of every run and their deltas against the first. */
export function compareTable(runs: readonly ComparedRun[]): CompareTable {
  if (runs.length < 2) throw new UsageError(`--compare needs at least two run directories, got ${runs.length}`);
  const heads = runs.map((r) => headlineOf(r.run.summary, r.run.kind, r.run.devices));
  const names = [...new Set(heads.flatMap((h) => Object.keys(h.facets)))];
  const pattern = (n: string) => {
    // Which runs share a value, whatever the values are: two facets with the same pattern say the same thing.
    const first = new Map<string, number>();
    return heads.map((h, i) => first.get(h.facets[n] ?? '-') ?? (first.set(h.facets[n] ?? '-', i), i)).join(',');
  };
  const seen = new Set<string>();
  const differing = names.filter((n) => new Set(heads.map((h) => h.facets[n] ?? '-')).size > 1 && !seen.has(pattern(n)) && !!seen.add(pattern(n)));
  const labels = uniqueLabels(heads.map((h, i) => (differing.length ? differing.map((n) => `${n} ${h.facets[n] ?? '-'}`).join(', ') : (h.runId ?? runs[i].dir))), heads, runs);
  const rows = heads.map((h, i) => ({
    label: labels[i],
    dir: runs[i].dir,
    runId: h.runId,
    kind: h.kind,
    status: h.status,
    samples: h.samples,
    wallS: h.wallS,
    samplesPerS: h.samplesPerS,
    costUsd: h.cost?.usd ?? null,
    costBasis: h.cost?.basis ?? null,
    sigmaNmad: h.sigmaNmad,
    outlierRate: h.outlierRate,
    prediction: h.prediction ? { wallS: h.prediction.wall_s, costUsd: h.prediction.cost_usd, platform: h.prediction.platform } : null,
    facets: h.facets,
    deltas: {} as Record<ComparedKey, Delta | null>,
  }));
  for (const row of rows) for (const c of COMPARED) row.deltas[c.key] = row === rows[0] ? null : delta(row[c.key], rows[0][c.key], c.better);
  return { baseline: rows[0].label, differing, runs: rows };
}

function delta(v: number | null, base: number | null, better: 'lower' | 'higher'): Delta | null {
  if (v === null || base === null) return null;
  const abs = v - base;
  return { abs, rel: base !== 0 ? v / base - 1 : null, better: abs === 0 ? null : better === 'lower' ? abs < 0 : abs > 0 };
}

/** Labels that tell every run apart: facets first, the run id (or directory) where two still collide. */
function uniqueLabels(labels: string[], heads: Headline[], runs: readonly ComparedRun[]): string[] {
  return labels.map((l, i) => (labels.filter((x) => x === l).length > 1 ? `${l} (${heads[i].runId ?? runs[i].dir})` : l));
}

export interface CompareFiles {
  html: string;
  json: string;
  plots: { name: string; svg: string; png: string; marks: number; caption: string }[];
  table: CompareTable;
}

/** Write compare.html, compare.json and the overlaid plots into `outDir`. */
export async function writeCompareReport(args: { runs: readonly ComparedRun[]; outDir: string; title?: string }): Promise<CompareFiles> {
  const table = compareTable(args.runs);
  const storage = openStorage(args.outDir);
  const specs = comparePlots(args.runs, table);
  const figures: Figure[] = [];
  const plots: CompareFiles['plots'] = [];
  for (const [name, title, p] of specs) {
    const svg = await renderSvg(p.spec);
    await storage.put(`${name}.svg`, svg);
    await storage.put(`${name}.png`, svgToPng(svg));
    plots.push({ name, svg: join(args.outDir, `${name}.svg`), png: join(args.outDir, `${name}.png`), marks: p.marks, caption: p.caption });
    figures.push({ id: name, title, svg, caption: p.caption });
  }
  await storage.put('compare.json', JSON.stringify(table, null, 2) + '\n');
  const title = args.title ?? `CAI: ${table.runs.length} runs compared`;
  await storage.put('compare.html', compareHtml(title, table, figures, args.outDir));
  return { html: join(args.outDir, 'compare.html'), json: join(args.outDir, 'compare.json'), plots, table };
}

function comparePlots(runs: readonly ComparedRun[], table: CompareTable): [string, string, PlotSpec][] {
  const out: [string, string, PlotSpec][] = [];
  const labels = table.runs.map((r) => r.label);
  const progress: SeriesPoint[] = runs.flatMap((r, i) => progressCurve(r.run, labels[i]));
  out.push(['throughput', 'Samples predicted over time', linePlot(progress, { x: { title: 'seconds since the run was submitted' }, y: { title: 'samples predicted' }, caption: 'Each run\u2019s predictions as its ranks finish (a `cai infer` output: evenly over its wall time); the steeper, the higher the throughput.' })]);
  const wall = table.runs.filter((r) => r.wallS !== null).map((r) => ({ label: r.label, value: r.wallS!, text: fmtSeconds(r.wallS!) }));
  const ticks = table.runs.filter((r) => r.prediction).map((r) => ({ label: r.label, value: r.prediction!.wallS, title: 'predicted' }));
  out.push(['wall', 'Wall time', barPlot(wall, { x: { title: 'seconds' }, labels, ticks, caption: `Wall time of each run${ticks.length ? '; black ticks: the planner\u2019s prediction' : ''}.` })]);
  const cost = table.runs.flatMap((r, i) => {
    const c = headlineOf(runs[i].run.summary, runs[i].run.kind).cost;
    return c ? c.breakdown.items.map((it) => ({ label: r.label, segment: it.label ?? it.id ?? '?', value: it.usd, text: `${fmtUsd(c.usd)} USD` })) : [];
  });
  if (cost.length) out.push(['cost', 'Cost by item', barPlot(cost, { x: { title: 'USD' }, labels: table.runs.filter((r) => r.costUsd !== null).map((r) => r.label), caption: 'Each run\u2019s bill by item, priced as Lambda + Step Functions would bill its measured durations.' })]);
  const acc = runs.flatMap((r, i) => dzCurve(r.run, labels[i]));
  if (acc.length) out.push(['accuracy', 'Distribution of dz', linePlot(acc, { x: { title: 'dz = (z_pred - z_true) / (1 + z_true)' }, y: { title: 'fraction of samples per 0.01 of dz' }, caption: `dz of each labelled run in bins of 0.01 (|dz| <= 0.3); σ_NMAD: ${table.runs.filter((r) => r.sigmaNmad !== null).map((r) => `${r.label} ${r.sigmaNmad!.toFixed(4)}`).join(', ')}.` })]);
  return out;
}

/** Cumulative samples against seconds since submission: a step at every rank's end. */
function progressCurve(run: LoadedRun, series: string): SeriesPoint[] {
  const s = run.summary;
  const timed = run.ranks.filter((r) => hasTimes(r) && r.samples > 0).sort((a, b) => a.endedAt - b.endedAt);
  const submitted = typeof s.submittedAt === 'string' ? Date.parse(s.submittedAt) : NaN;
  if (!timed.length) {
    const h = headlineOf(s, run.kind);
    return h.wallS ? [{ series, x: 0, y: 0 }, { series, x: h.wallS, y: h.samples }] : [];
  }
  const t0 = Number.isFinite(submitted) ? submitted : Math.min(...timed.map((r) => r.startedAt));
  const points: SeriesPoint[] = [{ series, x: 0, y: 0 }];
  let done = 0;
  for (const r of timed) {
    const x = (r.endedAt - t0) / 1000;
    points.push({ series, x, y: done });
    done += r.samples;
    points.push({ series, x, y: done });
  }
  return points;
}

const DZ_STEP = 0.01;
const DZ_HALF = 0.3;

/** The dz distribution of a labelled run as fractions per bin, for overlaying runs of different sizes. */
function dzCurve(run: LoadedRun, series: string): SeriesPoint[] {
  if (!run.zTrue) return [];
  const { xs, ys } = finitePairs(run.zTrue, run.zPred);
  if (!xs.length) return [];
  const bins = Math.round((2 * DZ_HALF) / DZ_STEP);
  const counts = new Array<number>(bins).fill(0);
  for (const d of residuals(xs, ys)) if (Math.abs(d) <= DZ_HALF) counts[Math.min(bins - 1, Math.floor((d + DZ_HALF) / DZ_STEP))]++;
  return counts.map((c, i) => ({ series, x: -DZ_HALF + (i + 0.5) * DZ_STEP, y: c / xs.length }));
}

function fmtDelta(d: Delta | null, key: ComparedKey): string {
  if (!d) return '';
  const pct = d.rel === null ? '' : `${d.rel >= 0 ? '+' : ''}${(d.rel * 100).toFixed(Math.abs(d.rel) < 0.1 ? 1 : 0)}%`;
  const abs = key === 'wallS' ? `${d.abs >= 0 ? '+' : '-'}${fmtSeconds(Math.abs(d.abs))}` : key === 'outlierRate' ? `${d.abs >= 0 ? '+' : '-'}${fmtPercent(Math.abs(d.abs))}` : `${d.abs >= 0 ? '+' : ''}${Number(d.abs.toPrecision(3))}`;
  return pct ? `${pct} (${abs})` : abs;
}

function fmtFigure(v: number | null, key: ComparedKey): string {
  if (v === null) return '–';
  switch (key) {
    case 'wallS':
      return fmtSeconds(v);
    case 'samplesPerS':
      return fmtRate(v);
    case 'costUsd':
      return fmtUsd(v);
    case 'sigmaNmad':
      return v.toFixed(4);
    case 'outlierRate':
      return fmtPercent(v);
  }
}

function compareHtml(title: string, t: CompareTable, figures: Figure[], outDir: string): string {
  const head = `<tr><th>Run</th><th>Status</th><th>Samples</th>${COMPARED.map((c) => `<th>${esc(c.title)}</th>`).join('')}<th>Predicted wall</th></tr>`;
  const body = t.runs
    .map((r, i) => {
      const cells = COMPARED.map((c) => {
        const d = r.deltas[c.key];
        const cls = d?.better === true ? ' delta-down' : d?.better === false ? ' delta-up' : '';
        return `<td class="num${cls}" data-col="${c.key}"${r[c.key] !== null ? ` data-value="${r[c.key]}"` : ''}>${esc(fmtFigure(r[c.key], c.key))}${d ? `<br><small data-delta="${c.key}">${esc(fmtDelta(d, c.key))}</small>` : ''}</td>`;
      }).join('');
      const pred = r.prediction ? `${fmtSeconds(r.prediction.wallS)} on ${r.prediction.platform}` : '–';
      return `<tr data-run="${i}"><th scope="row">${esc(r.label)}${i === 0 ? ' <small>(baseline)</small>' : ''}</th><td>${esc(r.status ?? 'cai infer')}</td><td class="num" data-col="samples" data-value="${r.samples}">${r.samples.toLocaleString('en-US')}</td>${cells}<td class="num">${esc(pred)}</td></tr>`;
    })
    .join('\n');
  const table = `<table class="grid compare" id="compare-table"><thead>${head}</thead><tbody>${body}</tbody></table><p class="muted">Second line: the change against the baseline, the first run given; green is better, red worse. Costs are priced as Lambda + Step Functions would bill each run\u2019s measured durations.</p>`;
  const facetNames = [...new Set(t.runs.flatMap((r) => Object.keys(r.facets)))];
  const facets = gridTable(
    [{ key: 'label', title: 'Run' }, ...facetNames.map((n) => ({ key: n, title: n })), { key: 'dir', title: 'Directory' }],
    t.runs.map((r) => ({ label: r.label, ...r.facets, dir: r.dir })),
  );
  const links = t.runs
    .map((r) => {
      const page = join(r.dir, 'report', 'report.html');
      return `<li>${esc(r.label)}: <a href="${esc(relative(outDir, page).split('\\').join('/'))}">${esc(page)}</a></li>`;
    })
    .join('');
  const header = `<p class="sub-title">${t.runs.length} runs; they differ in ${esc(t.differing.join(', ') || 'nothing but their run ids')}; baseline: ${esc(t.baseline)}</p>`;
  return renderPage({
    title,
    header,
    body: [section('table', 'Headline figures', table), section('plots', 'Overlaid', figuresHtml(figures)), section('settings', 'Settings of each run', facets + `<p class="muted">Each run\u2019s own report:</p><ul>${links}</ul>`)],
    generatedAt: new Date().toISOString(),
    footer: 'cai report --compare',
  });
}
