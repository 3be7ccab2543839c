// The self-contained HTML report: inline CSS and SVG only, no scripts and no external references; a
// Content-Security-Policy forbids the page any request of its own. Pure: data in, one HTML string out.
import { hasTimes, isOk, type RankTimes } from './plots.js';

export interface HtmlPlot {
  /** Element id suffix: the figure is #plot-<id>. */
  id: string;
  title: string;
  svg: string;
  caption: string;
}

export interface HtmlRank extends RankTimes {
  error?: string;
}

export interface ReportPage {
  title: string;
  summary: Record<string, unknown>;
  ranks: readonly HtmlRank[];
  plots: readonly HtmlPlot[];
  /** ISO time the page was made. */
  generatedAt: string;
}

const SECTIONS: { id: string; title: string; keys: string[] }[] = [
  { id: 'status', title: 'Status', keys: ['status', 'runId', 'submittedAt', 'finishedAt', 'wallTimeS', 'invocations', 'accounting'] },
  { id: 'accuracy', title: 'Accuracy', keys: ['accuracy', 'metrics'] },
  { id: 'performance', title: 'Performance', keys: ['performance', 'timing', 'timings'] },
  { id: 'configuration', title: 'Configuration', keys: ['configuration', 'dataset'] },
];
const SKIP = new Set(['cost', 'schemaVersion', 'kind']);

const LABELS: Record<string, string> = {
  sigmaNmad: 'σ_NMAD',
  sigma_nmad: 'σ_NMAD',
  sigmaNMAD: 'σ_NMAD',
  sigmaIqr: 'σ_IQR',
  mae: 'MAE',
  mse: 'MSE',
  rmse: 'RMSE',
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

/** Build the page. */
export function renderReportHtml(page: ReportPage): string {
  const s = page.summary;
  const status = typeof s.status === 'string' ? s.status : undefined;
  const ranks = mergedRanks(page.ranks, s);
  const failedRanks = ranks.filter((r) => !isOk(r.status)).length;
  const parts: string[] = [];
  parts.push(`<header><h1>${esc(page.title)}</h1>`);
  if (status) parts.push(`<span class="badge ${badgeClass(status)}" id="run-status">${esc(status)}</span>`);
  parts.push(`<p class="muted">Generated ${esc(page.generatedAt)}</p></header>`);

  const used = new Set<string>();
  for (const sec of SECTIONS) {
    const rows: Row[] = [];
    for (const k of sec.keys) {
      if (!(k in s)) continue;
      used.add(k);
      if (s[k] === null || s[k] === undefined) continue;
      // The section's own key (accuracy, performance, ...) is the heading; the others prefix their labels.
      rows.push(...flatten(s[k], k, k === sec.keys[0] ? 1 : 0));
    }
    if (sec.id === 'status' && ranks.length) {
      rows.push({ key: 'report.ranks', label: 'Ranks with timings', value: page.ranks.filter(hasTimes).length });
      rows.push({ key: 'report.failedRanks', label: 'Ranks not succeeded', value: failedRanks });
    }
    if (sec.id === 'accuracy' && rows.length === 0) {
      parts.push(section(sec.id, sec.title, '<p class="muted">No true redshifts: accuracy is not measured for this run.</p>'));
      continue;
    }
    if (rows.length) parts.push(section(sec.id, sec.title, kvTable(rows)));
  }
  parts.push(section('cost', 'Cost', costHtml(s.cost)));

  const rest: Row[] = [];
  for (const [k, v] of Object.entries(s)) if (!used.has(k) && !SKIP.has(k)) rest.push(...flatten(v, k, 0));
  if (rest.length) parts.push(section('other', 'Other summary fields', kvTable(rest)));

  const plots = page.plots
    .map((p, i) => `<figure id="plot-${esc(p.id)}"><h3>${esc(p.title)}</h3>${inlineSvg(p.svg, `p${i}`)}<figcaption>${esc(p.caption)}</figcaption></figure>`)
    .join('\n');
  parts.push(section('plots', 'Plots', `<div class="plots">${plots}</div>`));
  parts.push(section('ranks', 'Per-rank results', rankTable(ranks)));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(page.title)}</title>
<style>${CSS}</style>
</head>
<body>
${parts.join('\n')}
</body>
</html>
`;
}

interface Row {
  key: string;
  label: string;
  value: unknown;
}

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

/** "performance.total.samplesPerS" with 1 segment dropped -> "Total: Samples per second". */
function labelOf(key: string, dropSegments: number): string {
  const segs = key.split('.');
  const leaf = segs[segs.length - 1];
  const parent = segs.slice(Math.min(dropSegments, segs.length - 1), -1);
  const name = LABELS[leaf] ?? words(leaf);
  return parent.length ? `${parent.map(words).join(' / ')}: ${name}` : name;
}

/** camelCase or snake_case to words, with units spelled out: wallTimeS -> "wall time (s)". */
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

/** Numbers: integers with separators, others with 6 significant digits. data-value keeps full precision. */
export function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    const a = Math.abs(v);
    if (a !== 0 && a < 1e-4) return v.toExponential(4);
    if (a >= 1e4) return Math.round(v).toLocaleString('en-US');
    return String(Number(v.toPrecision(6)));
  }
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

function kvTable(rows: Row[]): string {
  const body = rows
    .map((r) => `<tr><th scope="row">${esc(r.label)}</th><td data-key="${esc(r.key)}"${typeof r.value === 'number' ? ` data-value="${r.value}"` : ''}>${esc(fmtValue(r.value))}</td></tr>`)
    .join('\n');
  return `<table class="kv">${body}</table>`;
}

interface CostLike {
  totalUsd: number;
  items: { label?: string; id?: string; quantity?: number; unit?: string; usd: number; arithmetic?: string }[];
  arithmetic?: string;
  pricesSource?: string;
}

function isCostLike(c: unknown): c is CostLike {
  const o = c as CostLike;
  return !!o && typeof o === 'object' && typeof o.totalUsd === 'number' && Array.isArray(o.items) && o.items.every((i) => i && typeof i.usd === 'number');
}

function costHtml(cost: unknown): string {
  if (cost === undefined || cost === null) return '<p class="muted">Not priced: this run has no cloud bill (local backend) or no cost was recorded.</p>';
  if (!isCostLike(cost)) return kvTable(flatten(cost, 'cost', 1));
  const rows = cost.items
    .map(
      (i) =>
        `<tr data-item="${esc(i.id ?? '')}"><td>${esc(i.label ?? i.id ?? '')}</td><td class="num">${esc(fmtValue(i.quantity))}</td><td>${esc(i.unit ?? '')}</td><td class="num" data-value="${i.usd}">${esc(usd(i.usd))}</td><td class="arith">${esc(i.arithmetic ?? '')}</td></tr>`,
    )
    .join('\n');
  const total = `<tr class="total"><td>Total</td><td></td><td></td><td class="num" id="cost-total" data-value="${cost.totalUsd}">${esc(usd(cost.totalUsd))}</td><td class="arith">${esc(cost.arithmetic ?? '')}</td></tr>`;
  const source = cost.pricesSource ? `<p class="muted">Prices: ${esc(cost.pricesSource)}</p>` : '';
  return `<table class="grid cost"><thead><tr><th>Item</th><th>Quantity</th><th>Unit</th><th>USD</th><th>Arithmetic</th></tr></thead><tbody>${rows}\n${total}</tbody></table>${source}`;
}

function usd(x: number): string {
  if (x === 0) return '0';
  return Math.abs(x) >= 1 ? x.toFixed(2) : String(Number(x.toPrecision(3)));
}

/** The ranks with timings plus those the summary lists as failed without any (ranks.failed). */
function mergedRanks(ranks: readonly HtmlRank[], summary: Record<string, unknown>): HtmlRank[] {
  const known = new Set(ranks.map((r) => r.rank));
  // Ranks that failed without leaving timings are listed by the summary (ranks.failed).
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

/** Inline an SVG document: drop any XML prolog and give its ids a per-plot prefix (ids are page-global). */
export function inlineSvg(svg: string, prefix: string): string {
  return svg
    .replace(/^<\?xml[^>]*>\s*/, '')
    .replace(/<!DOCTYPE[^>]*>\s*/i, '')
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
}

function badgeClass(status: string): string {
  if (/^(complete|succeeded|ok)$/i.test(status)) return 'ok';
  if (/^partial$/i.test(status)) return 'warn';
  return 'bad';
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const CSS = `
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#222;line-height:1.4}
h1{margin:0 0 4px;font-size:1.6em;display:inline-block;margin-right:12px}
h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px;font-size:1.25em}
h3{margin:0 0 6px;font-size:1em}
.muted{color:#666;font-size:.9em}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:bold;vertical-align:super;font-size:.85em}
.badge.ok{background:#d4edda;color:#155724}.badge.warn{background:#fff3cd;color:#856404}.badge.bad{background:#f8d7da;color:#721c24}
table{border-collapse:collapse;font-size:.9em}
table.kv th{text-align:left;font-weight:normal;color:#444;padding:3px 16px 3px 0}
table.kv td{font-variant-numeric:tabular-nums;padding:3px 0}
table.grid th,table.grid td{border:1px solid #ddd;padding:3px 8px}
table.grid th{background:#f5f5f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.arith{font-family:"DejaVu Sans Mono",monospace;font-size:.85em}
tr.total td{font-weight:bold}
tr.bad td{background:#fdecea}
.plots{display:flex;flex-wrap:wrap;gap:24px}
figure{margin:0;max-width:100%}
figure svg{max-width:100%;height:auto}
figcaption{color:#555;font-size:.85em;max-width:640px}
details summary{cursor:pointer;margin:6px 0}
`;
