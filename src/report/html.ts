// The run report page: a header with the status and the headline cards (predicted beside measured when
// the run was planned), what failed and the command that resumes it when the run is not complete, the
// plots, then configuration, accounting, cost and ranks as short tables, and every field of the summary
// folded away at the end. Pure: data in, one HTML string out (the shell is page.ts).
import { fmtUsd } from '../cost/format.js';
import { summarySchema, type Summary } from '../workflow/contracts.js';
import { isCostLike, type CostLike } from './charts/cost.js';
import { hasTimes, isOk, type RankTimes } from './charts/ranks.js';
import { fmtPercent, fmtRate, fmtSeconds, headlineOf, ratio, type Headline } from './headline.js';
import { badge, cardsHtml, esc, figuresHtml, fmtValue, gridTable, kvTable, renderPage, section, type Card, type Figure, type Row } from './page.js';
import { rerunCommand } from './rerun.js';

export { esc, fmtValue, inlineSvg } from './page.js';

export type HtmlPlot = Figure;

export interface HtmlRank extends RankTimes {
  error?: string;
}

export interface ReportPage {
  title: string;
  summary: Record<string, unknown>;
  /** 'summary' (a workflow run, the default) or 'metrics' (a `cai infer` output). */
  kind?: 'summary' | 'metrics';
  /** Devices the ranks ran on (from their results). */
  devices?: readonly string[];
  ranks: readonly HtmlRank[];
  plots: readonly HtmlPlot[];
  /** ISO time the page was made. */
  generatedAt: string;
}

/** Build the page. */
export function renderReportHtml(page: ReportPage): string {
  const s = page.summary;
  const kind = page.kind ?? (s.kind === 'cai-run-summary' ? 'summary' : 'metrics');
  const h = headlineOf(s, kind, page.devices);
  const ranks = mergedRanks(page.ranks, s);
  // The workflow's own fields get their sections when the summary fits its contract.
  const run = kind === 'summary' ? summarySchema.safeParse(s) : undefined;
  const typed = run?.success ? run.data : undefined;

  const header = [
    h.status ? badge(h.status) : '',
    `<p class="sub-title">${esc(subtitle(h, typed))}</p>`,
    cardsHtml(cards(h)),
  ].join('');
  const body: string[] = [];
  if (typed && (typed.status !== 'complete' || !typed.accounting.exactlyOnce)) body.push(failureSection(typed));
  if (h.prediction || h.predictionProblem) body.push(predictionSection(h));
  body.push(section('plots', 'Plots', page.plots.length ? figuresHtml(page.plots) : '<p class="muted">Nothing to plot.</p>'));
  const tables: string[] = [];
  tables.push(`<div id="configuration"><h3>Configuration</h3>${kvTable(typed ? configurationRows(typed) : inferConfigurationRows(s))}</div>`);
  if (typed) tables.push(`<div id="accounting"><h3>Accounting</h3>${kvTable(accountingRows(typed))}</div>`);
  if (kind === 'summary' || h.sigmaNmad !== null) tables.push(`<div id="accuracy"><h3>Accuracy</h3>${accuracyHtml(s)}</div>`);
  body.push(section('details', 'Configuration and accounting', `<div class="tables">${tables.join('')}</div>`));
  if (kind === 'summary') body.push(section('cost', 'Cost', costHtml(s.cost, h)));
  if (kind === 'summary' || ranks.length) body.push(section('ranks', 'Per-rank results', rankTable(ranks)));
  const fileName = kind === 'summary' ? 'summary.json' : 'metrics.json';
  body.push(`<details id="raw"><summary>Every field of ${fileName}</summary>${kvTable(Object.entries(s).flatMap(([k, v]) => flatten(v, k, 0)), 'kv', 'data-raw')}</details>`);
  return renderPage({ title: page.title, header, body, generatedAt: page.generatedAt, footer: 'cai report' });
}

function subtitle(h: Headline, s: Summary | undefined): string {
  const f = h.facets;
  if (!s) return `${f.backend}; device ${f.device}, batch ${f.batch}, ${f.threads} thread(s); model ${f.model}`;
  const c = s.configuration;
  return `${f.backend}: ${c.worldSize} rank${c.worldSize === 1 ? '' : 's'}, ${c.concurrency} at a time, ${c.threadsPerInstance} thread(s) each, batch ${c.batchSize}; device ${f.device}; model ${f.model}; submitted ${s.submittedAt}`;
}

function cards(h: Headline): Card[] {
  const p = h.prediction;
  const out: Card[] = [];
  const data = [h.partitions !== null ? `${h.partitions.toLocaleString('en-US')} partition${h.partitions === 1 ? '' : 's'}` : '', h.dataBytes !== null ? `${(h.dataBytes / 1e6).toFixed(h.dataBytes < 1e7 ? 1 : 0)} MB` : ''].filter(Boolean).join(', ');
  out.push({ id: 'samples', label: 'Samples', value: h.samples, text: h.samples.toLocaleString('en-US'), sub: data || undefined });
  const wallRatio = ratio(h.wallS, p?.wall_s);
  out.push({
    id: 'wall',
    label: 'Wall time',
    value: h.wallS,
    text: h.wallS === null ? '–' : fmtSeconds(h.wallS),
    sub: p ? `predicted ${fmtSeconds(p.wall_s)}${wallRatio !== null ? `; measured ${wallRatio.toFixed(2)}x that` : ''}` : h.kind === 'summary' ? 'submit to summary.json' : 'read, infer and write, one process',
    tone: wallRatio !== null && (wallRatio > 1.5 || wallRatio < 1 / 1.5) ? 'warn' : undefined,
  });
  out.push({
    id: 'rate',
    label: 'Samples per second',
    value: h.samplesPerS,
    text: h.samplesPerS === null ? '–' : fmtRate(h.samplesPerS),
    sub: h.throughputBps !== null ? `${(h.throughputBps / 1e6).toFixed(1)} Mbit/s of model input` : undefined,
  });
  if (h.cost || p) {
    out.push({
      id: 'cost',
      label: 'Cost',
      value: h.cost?.usd ?? null,
      text: h.cost ? `${fmtUsd(h.cost.usd)} USD` : '–',
      sub: [h.cost ? h.cost.basis : 'not priced', p ? `predicted ${fmtUsd(p.cost_usd)} USD on ${p.platform}` : ''].filter(Boolean).join('; '),
    });
  }
  out.push({ id: 'sigma', label: 'σ_NMAD', value: h.sigmaNmad, text: h.sigmaNmad === null ? '–' : h.sigmaNmad.toFixed(4), sub: h.sigmaNmad === null ? 'no true redshifts' : '1.4826 x median |dz - median dz|' });
  out.push({
    id: 'outliers',
    label: 'Outlier rate',
    value: h.outlierRate,
    text: h.outlierRate === null ? '–' : fmtPercent(h.outlierRate),
    sub: h.outlierRate === null ? 'no true redshifts' : '|dz| > 0.15',
    tone: h.outlierRate !== null && h.outlierRate > 0.05 ? 'warn' : undefined,
  });
  return out;
}

function failureSection(s: Summary): string {
  const f = s.ranks.failed;
  const a = s.accounting;
  const parts: string[] = [];
  const lead =
    s.status === 'complete'
      ? `Every rank succeeded, but the accounting does not close: ${a.statement}.`
      : `${f.length} of ${s.configuration.worldSize} rank${s.configuration.worldSize === 1 ? '' : 's'} failed; ${a.missingSamples.toLocaleString('en-US')} of ${a.manifestSamples.toLocaleString('en-US')} samples have no prediction. Status ${s.status}: ${s.status === 'partial' ? 'within' : 'beyond'} the tolerated ${s.configuration.toleratedFailurePercentage}% of failed ranks.`;
  parts.push(`<p id="failure-lead">${esc(lead)}</p>`);
  if (f.length) {
    const rows = f.map((r) => ({ rank: r.rank, error: r.error, cause: r.cause, partitions: r.partitions.join(', ') || '(none)', samples: r.samples }));
    parts.push(
      gridTable(
        [
          { key: 'rank', title: 'Rank', num: true },
          { key: 'error', title: 'Error' },
          { key: 'cause', title: 'Cause' },
          { key: 'partitions', title: 'Partitions' },
          { key: 'samples', title: 'Samples', num: true },
        ],
        rows,
        (r) => ` data-failed-rank="${r.rank}"`,
      ),
    );
  }
  if (a.mismatchedPartitions.length) parts.push(`<p>Partitions whose predictions disagree with the manifest: ${esc(a.mismatchedPartitions.join(', '))}</p>`);
  if (a.duplicateObjectIds) parts.push(`<p>${a.duplicateObjectIds.toLocaleString('en-US')} object ids were predicted more than once.</p>`);
  const cmd = rerunCommand(s);
  if (cmd && s.status !== 'complete') {
    parts.push(`<p>Rerun with the same run id to resume: ranks whose results verify are kept, only the failed ranks run again${s.configuration.backend === 'aws-lambda' ? ' (with $CAI_STATE_MACHINE_ARN set to the deployed state machine)' : ''}.</p>`);
    parts.push(`<pre id="rerun"><code>${esc(cmd)}</code></pre>`);
  }
  return section('failure', s.status === 'complete' ? 'What does not add up' : 'What failed', parts.join(''), 'alert');
}

function predictionSection(h: Headline): string {
  const p = h.prediction;
  if (!p) return section('prediction', 'Predicted and measured', `<p class="muted">The summary has a prediction that cannot be read (${esc(h.predictionProblem ?? '')}).</p>`, 'notice');
  const wallRatio = ratio(h.wallS, p.wall_s);
  // The summary prices every run as Lambda would bill it: only a Lambda prediction is on the same basis.
  const costRatio = h.cost && p.platform === 'lambda' ? ratio(h.cost.usd, p.cost_usd) : null;
  const rows = [
    { what: 'Wall time (s)', predicted: p.wall_s, measured: h.wallS, ratio: wallRatio === null ? '–' : `${wallRatio.toFixed(2)}x` },
    { what: `Cost (USD; predicted on ${p.platform}, measured ${h.cost ? h.cost.basis : 'not priced'})`, predicted: p.cost_usd, measured: h.cost?.usd ?? null, ratio: costRatio === null ? '– (different bases)' : `${costRatio.toFixed(2)}x` },
  ];
  const table = gridTable(
    [
      { key: 'what', title: '' },
      { key: 'predicted', title: 'Predicted', num: true },
      { key: 'measured', title: 'Measured', num: true },
      { key: 'ratio', title: 'Measured / predicted', num: true },
    ],
    rows,
  );
  const parts = Object.entries(p.wallParts ?? {}).map(([k, v]) => `${k} ${fmtSeconds(v)}`);
  const settings = Object.entries(p.settings).map(([k, v]) => `${k} ${v}`);
  const b = p.basedOn;
  const notes = [
    `Platform ${p.platform}${settings.length ? `: ${settings.join(', ')}` : ''}.`,
    parts.length ? `Predicted wall time by part: ${parts.join(', ')}.` : '',
    `Based on profile "${b.profile.label}" (${b.profile.machine}, ${b.profile.isDefault ? 'built-in' : `measured ${b.profile.measuredAt}`}), price catalog of ${b.catalogDate}, model ${b.modelVersion}.`,
  ].filter(Boolean);
  return section('prediction', 'Predicted and measured', table + notes.map((n) => `<p class="muted">${esc(n)}</p>`).join(''));
}

/** Rows of the short tables: a summary path and its label; a path the summary lacks is left out. */
type RowSpec = readonly (readonly [path: string, label: string])[];

const CONFIGURATION: RowSpec = [
  ['configuration.backend', 'Backend'],
  ['configuration.mode', 'Mode'],
  ['configuration.worldSize', 'Ranks'],
  ['configuration.concurrency', 'At once'],
  ['configuration.threadsPerInstance', 'Threads per instance'],
  ['configuration.batchSize', 'Batch size'],
  ['configuration.memoryMb', 'Memory per instance (MB)'],
  ['configuration.timeoutS', 'Rank time limit (s)'],
  ['configuration.toleratedFailurePercentage', 'Tolerated failed ranks (%)'],
  ['configuration.aggregation.mode', 'Aggregation'],
  ['configuration.aggregation.channel', 'Aggregation channel'],
  ['configuration.model', 'Model'],
  ['configuration.data', 'Data'],
  ['configuration.results', 'Results'],
];

const INFER_CONFIGURATION: RowSpec = [
  ['config.batchSize', 'Batch size'],
  ['config.threads', 'Threads'],
  ['config.device', 'Device asked for'],
  ['model.device', 'Device used'],
  ['config.readAhead', 'Read-ahead (partitions)'],
  ['config.verify', 'Partition check'],
  ['model.path', 'Model'],
  ['data.manifest', 'Data'],
];

const ACCOUNTING: RowSpec = [
  ['accounting.manifestSamples', 'Samples in the manifest'],
  ['accounting.predictedSamples', 'Samples predicted'],
  ['accounting.missingSamples', 'Samples missing'],
  ['accounting.duplicateObjectIds', 'Duplicate object ids'],
  ['accounting.exactlyOnce', 'Every sample exactly once'],
  ['invocations.total', 'Invocations'],
  ['invocations.coldStarts', 'Cold starts'],
  ['invocations.retries', 'Retries'],
  ['invocations.crashed', 'Invocations crashed'],
  ['invocations.reusedRanks', 'Ranks kept from an earlier attempt'],
];

const ACCURACY: RowSpec = [
  ['accuracy.count', 'Samples with a true redshift'],
  ['accuracy.sigmaNmad', 'σ_NMAD'],
  ['accuracy.sigmaIqr', 'σ_IQR'],
  ['accuracy.outlierRate', 'Outlier rate (|dz| > 0.15)'],
  ['accuracy.outlierRateRail', 'Outlier rate (RAIL)'],
  ['accuracy.biasMedian', 'Bias (median dz)'],
  ['accuracy.biasMean', 'Bias (mean dz)'],
  ['accuracy.mae', 'MAE'],
  ['accuracy.r2', 'R²'],
];

function rowsOf(s: Record<string, unknown>, spec: RowSpec): Row[] {
  return spec.flatMap(([key, label]) => {
    const value = key.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), s);
    return value === undefined || (value !== null && typeof value === 'object') ? [] : [{ key, label, value }];
  });
}

function configurationRows(s: Summary): Row[] {
  return rowsOf(s, CONFIGURATION);
}

function inferConfigurationRows(m: Record<string, unknown>): Row[] {
  const rows = rowsOf(m, INFER_CONFIGURATION);
  return rows.length ? rows : [{ key: 'none', label: 'Configuration', value: 'not recorded' }];
}

function accountingRows(s: Summary): Row[] {
  return [...rowsOf(s, ACCOUNTING), { key: 'report.failedRanks', label: 'Ranks not succeeded', value: s.ranks.failed.length }];
}

function accuracyHtml(s: Record<string, unknown>): string {
  const a = s.accuracy as Record<string, unknown> | null | undefined;
  if (!a || typeof a !== 'object' || !a.count) return '<p class="muted">No true redshifts: accuracy is not measured for this run.</p>';
  return kvTable(rowsOf(s, ACCURACY), 'kv short');
}

function costHtml(cost: unknown, h: Headline): string {
  if (cost === undefined || cost === null) return '<p class="muted">Not priced: no cost was recorded for this run.</p>';
  if (!isCostLike(cost)) return kvTable(flatten(cost, 'cost', 1));
  return `<p class="muted">${esc(h.cost?.basis ?? '')}.</p>${costTable(cost)}`;
}

function costTable(cost: CostLike): string {
  const rows = cost.items
    .map(
      (i) =>
        `<tr data-item="${esc(i.id ?? '')}"><td>${esc(i.label ?? i.id ?? '')}</td><td class="num">${esc(fmtValue(i.quantity))}</td><td>${esc(i.unit ?? '')}</td><td class="num" data-value="${i.usd}">${esc(fmtUsd(i.usd))}</td><td class="arith">${esc(i.arithmetic ?? '')}</td></tr>`,
    )
    .join('\n');
  const total = `<tr class="total"><td>Total</td><td></td><td></td><td class="num" id="cost-total" data-value="${cost.totalUsd}">${esc(fmtUsd(cost.totalUsd))}</td><td class="arith">${esc(cost.arithmetic ?? '')}</td></tr>`;
  const source = cost.pricesSource ? `<p class="muted">Prices: ${esc(cost.pricesSource)}</p>` : '';
  return `<table class="grid cost"><thead><tr><th>Item</th><th>Quantity</th><th>Unit</th><th>USD</th><th>Arithmetic</th></tr></thead><tbody>${rows}\n${total}</tbody></table>${source}`;
}

/** The ranks with timings plus those the summary lists as failed without any (ranks.failed). */
function mergedRanks(ranks: readonly HtmlRank[], summary: Record<string, unknown>): HtmlRank[] {
  const known = new Set(ranks.map((r) => r.rank));
  const failed = (summary.ranks as { failed?: unknown } | undefined)?.failed;
  const extra: HtmlRank[] = [];
  if (Array.isArray(failed)) {
    for (const f of failed as { rank?: unknown; error?: unknown; samples?: unknown }[]) {
      if (typeof f?.rank !== 'number' || known.has(f.rank)) continue;
      extra.push({ rank: f.rank, startedAt: NaN, endedAt: NaN, samples: typeof f.samples === 'number' ? f.samples : 0, status: 'failed', error: typeof f.error === 'string' ? f.error : undefined });
    }
  }
  return [...ranks, ...extra].sort((a, b) => a.rank - b.rank);
}

function rankTable(all: readonly HtmlRank[]): string {
  if (all.length === 0) return '<p class="muted">No per-rank results.</p>';
  const t0 = all.reduce((m, r) => (hasTimes(r) ? Math.min(m, r.startedAt) : m), Infinity);
  const ms = (x: number | undefined) => (x === undefined ? '–' : fmtValue(Math.round(x)));
  const body = all
    .map((r) => {
      const timed = hasTimes(r);
      return `<tr data-rank="${r.rank}" class="${isOk(r.status) ? '' : 'bad'}"><td class="num">${r.rank}</td><td>${esc(r.status)}${r.error ? `: ${esc(r.error)}` : ''}</td><td class="num">${fmtValue(r.samples)}</td><td class="num">${timed ? ((r.startedAt - t0) / 1000).toFixed(2) : '–'}</td><td class="num">${timed ? ((r.endedAt - r.startedAt) / 1000).toFixed(2) : '–'}</td><td class="num">${ms(r.coldStartMs)}</td><td class="num">${ms(r.downloadMs)}</td><td class="num">${ms(r.inferenceMs)}</td><td class="num">${ms(r.uploadMs)}</td></tr>`;
    })
    .join('\n');
  const table = `<table class="grid ranks"><thead><tr><th>Rank</th><th>Status</th><th>Samples</th><th>Start (s)</th><th>Duration (s)</th><th>Cold start (ms)</th><th>Download (ms)</th><th>Inference (ms)</th><th>Upload (ms)</th></tr></thead><tbody>${body}</tbody></table>`;
  // Hundreds of ranks would bury the rest of the page: fold them.
  return all.length > 50 ? `<details><summary>${all.length} ranks</summary>${table}</details>` : table;
}

const LABELS: Record<string, string> = {
  sigmaNmad: 'σ_NMAD',
  sigmaIqr: 'σ_IQR',
  mae: 'MAE',
  mse: 'MSE',
  r2: 'R²',
  biasMean: 'Bias (mean dz)',
  biasMedian: 'Bias (median dz)',
  outlierRate: 'Outlier rate (|dz| > 0.15)',
  outlierRateRail: 'Outlier rate (RAIL)',
  outlierThresholdRail: 'RAIL outlier cut',
  count: 'Samples',
  runId: 'Run id',
  throughputBps: 'Throughput (bit/s)',
  samplesPerS: 'Samples per second',
  peakRssMB: 'Peak RSS (MB)',
  memoryMb: 'Memory (MB)',
};

/** Scalars become rows; objects are walked with dotted keys; long or nested arrays are summarised. */
function flatten(value: unknown, key: string, dropSegments: number, depth = 0): Row[] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < 4) {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => flatten(v, `${key}.${k}`, dropSegments, depth + 1));
  }
  if (Array.isArray(value)) {
    const scalars = value.every((v) => v === null || typeof v !== 'object');
    const shown = scalars && value.length <= 20 ? value.map((v) => fmtValue(v)).join(', ') || '(none)' : `${value.length} entr${value.length === 1 ? 'y' : 'ies'}`;
    return [{ key, label: labelOf(key, dropSegments), value: shown }];
  }
  return [{ key, label: labelOf(key, dropSegments), value }];
}

/** "performance.total.samplesPerS" -> "Performance / Total: Samples per second". */
function labelOf(key: string, dropSegments: number): string {
  const segs = key.split('.');
  const leaf = segs[segs.length - 1];
  const parent = segs.slice(Math.min(dropSegments, segs.length - 1), -1);
  const name = LABELS[leaf] ?? words(leaf);
  return parent.length ? `${parent.map(words).join(' / ')}: ${name}` : name;
}

/** camelCase or snake_case to words, with units spelled out: wallTimeS -> "Wall time (s)". */
function words(k: string): string {
  const unit = /(?<![A-Z])(Ms|S|MB|Mb|Bps|Usd|Gb|GB)$/.exec(k);
  const units: Record<string, string> = { Ms: 'ms', S: 's', MB: 'MB', Mb: 'MB', Bps: 'bit/s', Usd: 'USD', Gb: 'GB', GB: 'GB' };
  const base = unit ? k.slice(0, -unit[1].length) : k;
  const text = base
    .replace(/_/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .trim();
  const cap = text.charAt(0).toUpperCase() + text.slice(1);
  return unit ? `${cap} (${units[unit[1]]})` : cap;
}
