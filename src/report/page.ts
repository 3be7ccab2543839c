// The shell every page of the project shares (a run's report, the compare page, the study page): one
// self-contained HTML document, inline CSS (screen and print) and inline SVG, no scripts and no external
// references, under a Content-Security-Policy that forbids the page any request of its own. Here too are
// the page's building blocks: headline cards, figures, tables. Pure: data in, HTML strings out.

export interface Card {
  /** Element id suffix: the card is #card-<id>. */
  id: string;
  label: string;
  /** The figure the card shows, full precision (data-value); null when there is none. */
  value: number | null;
  /** The figure as shown. */
  text: string;
  /** A second line: where it comes from, or what it is compared with. */
  sub?: string;
  tone?: 'ok' | 'warn' | 'bad';
}

export interface Figure {
  /** Element id suffix: the figure is #plot-<id>. */
  id: string;
  title: string;
  svg: string;
  caption: string;
}

export interface PageArgs {
  title: string;
  /** The page's <header> content (below the title). */
  header: string;
  /** The sections, in order. */
  body: string[];
  /** ISO time the page was made. */
  generatedAt: string;
  /** One line in the footer: what made the page. */
  footer?: string;
}

export function renderPage(p: PageArgs): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(p.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(p.title)}</h1>${p.header}</header>
<main>
${p.body.join('\n')}
</main>
<footer class="muted">Generated ${esc(p.generatedAt)}${p.footer ? ` · ${esc(p.footer)}` : ''}</footer>
</body>
</html>
`;
}

export function cardsHtml(cards: readonly Card[]): string {
  const one = (c: Card) =>
    `<div class="card${c.tone ? ` ${c.tone}` : ''}" id="card-${esc(c.id)}"${c.value !== null && Number.isFinite(c.value) ? ` data-value="${c.value}"` : ''}><div class="label">${esc(c.label)}</div><div class="value">${esc(c.text)}</div>${c.sub ? `<div class="sub">${esc(c.sub)}</div>` : ''}</div>`;
  return `<div class="cards">${cards.map(one).join('')}</div>`;
}

/** Figures in a responsive grid; each SVG inlined with its ids made unique on the page. */
export function figuresHtml(figures: readonly Figure[], idPrefix = 'p', cls = ''): string {
  const one = (f: Figure, i: number) => `<figure id="plot-${esc(f.id)}"><h3>${esc(f.title)}</h3>${inlineSvg(f.svg, `${idPrefix}${i}`)}<figcaption>${esc(f.caption)}</figcaption></figure>`;
  return `<div class="plots${cls ? ` ${cls}` : ''}">${figures.map(one).join('\n')}</div>`;
}

export function section(id: string, title: string, body: string, cls = ''): string {
  return `<section id="${esc(id)}"${cls ? ` class="${cls}"` : ''}><h2>${esc(title)}</h2>${body}</section>`;
}

export interface Row {
  /** data-key of the value cell (a summary path, e.g. accuracy.sigmaNmad). */
  key: string;
  label: string;
  value: unknown;
  /** Shown instead of the formatted value. */
  text?: string;
}

/** Label/value rows; numbers carry their full value in data-value, the key is in `keyAttr`. */
export function kvTable(rows: readonly Row[], cls = 'kv', keyAttr = 'data-key'): string {
  const body = rows
    .map((r) => `<tr><th scope="row">${esc(r.label)}</th><td ${keyAttr}="${esc(r.key)}"${typeof r.value === 'number' ? ` data-value="${r.value}"` : ''}>${esc(r.text ?? fmtValue(r.value))}</td></tr>`)
    .join('\n');
  return `<table class="${cls}">${body}</table>`;
}

export interface Column {
  key: string;
  title: string;
  /** Right-aligned, tabular figures. */
  num?: boolean;
}

/** A grid of rows; a cell is text, or a number shown with fmtValue and kept in data-value. */
export function gridTable(columns: readonly Column[], rows: readonly Record<string, unknown>[], attrs: (row: Record<string, unknown>) => string = () => ''): string {
  const head = columns.map((c) => `<th>${esc(c.title)}</th>`).join('');
  const cell = (c: Column, v: unknown) => {
    const num = typeof v === 'number';
    return `<td data-col="${esc(c.key)}"${c.num || num ? ' class="num"' : ''}${num && Number.isFinite(v) ? ` data-value="${v}"` : ''}>${esc(typeof v === 'string' ? v : fmtValue(v))}</td>`;
  };
  const body = rows.map((r) => `<tr${attrs(r)}>${columns.map((c) => cell(c, r[c.key])).join('')}</tr>`).join('\n');
  return `<table class="grid"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
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

/** Inline an SVG document: drop any XML prolog and give its ids a per-plot prefix (ids are page-global). */
export function inlineSvg(svg: string, prefix: string): string {
  return svg
    .replace(/^<\?xml[^>]*>\s*/, '')
    .replace(/<!DOCTYPE[^>]*>\s*/i, '')
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}

export function badge(status: string, id = 'run-status'): string {
  return `<span class="badge ${badgeClass(status)}" id="${esc(id)}">${esc(status)}</span>`;
}

export function badgeClass(status: string): 'ok' | 'warn' | 'bad' {
  if (/^(complete|succeeded|ok)$/i.test(status)) return 'ok';
  if (/^partial$/i.test(status)) return 'warn';
  return 'bad';
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const CSS = `
:root{--ok:#155724;--ok-bg:#d4edda;--warn:#856404;--warn-bg:#fff3cd;--bad:#721c24;--bad-bg:#f8d7da;--line:#ddd}
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:20px auto;max-width:1280px;padding:0 16px;color:#222;line-height:1.4}
header{margin-bottom:8px}
h1{margin:0 0 4px;font-size:1.5em;display:inline-block;margin-right:12px}
h2{border-bottom:1px solid var(--line);padding-bottom:4px;margin-top:26px;font-size:1.2em}
h3{margin:0 0 6px;font-size:1em}
.muted,footer{color:#666;font-size:.88em}
footer{margin:28px 0 8px;border-top:1px solid var(--line);padding-top:6px}
.sub-title{margin:2px 0 12px;color:#444}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:bold;vertical-align:super;font-size:.85em}
.badge.ok{background:var(--ok-bg);color:var(--ok)}.badge.warn{background:var(--warn-bg);color:var(--warn)}.badge.bad{background:var(--bad-bg);color:var(--bad)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:10px;margin:10px 0 4px}
.card{border:1px solid var(--line);border-radius:8px;padding:8px 12px;background:#fafafa}
.card .label{font-size:.82em;color:#555;letter-spacing:.02em}
.card .value{font-size:1.55em;font-weight:bold;font-variant-numeric:tabular-nums;margin:2px 0}
.card .sub{font-size:.8em;color:#555}
.card.warn{border-color:#e0c25a;background:var(--warn-bg)}.card.bad{border-color:#e3a1a8;background:var(--bad-bg)}
section.alert{border:1px solid #e3a1a8;background:#fdf2f3;border-radius:8px;padding:4px 16px 12px;margin-top:16px}
section.alert h2{border:none;margin-top:10px;color:var(--bad)}
section.notice{border:1px solid #e0c25a;background:#fffbea;border-radius:8px;padding:4px 16px 12px;margin-top:16px}
section.notice h2{border:none;margin-top:10px;color:var(--warn)}
pre{background:#f4f4f4;border:1px solid var(--line);border-radius:6px;padding:8px 10px;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85em}
code,td.arith{font-family:"DejaVu Sans Mono",monospace}
table{border-collapse:collapse;font-size:.9em}
table.kv th{text-align:left;font-weight:normal;color:#444;padding:3px 16px 3px 0;vertical-align:top}
table.kv td{font-variant-numeric:tabular-nums;padding:3px 0;word-break:break-word}
table.grid th,table.grid td{border:1px solid var(--line);padding:3px 8px}
table.grid th{background:#f5f5f5;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.arith{font-size:.85em}
td.delta-up{color:#8a1c1c}td.delta-down{color:#1c5e2a}
tr.total td{font-weight:bold}
tr.bad td{background:#fdecea}
.tables{display:flex;flex-wrap:wrap;gap:16px 40px;align-items:flex-start}
.tables>div{min-width:280px}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:22px}
.plots.wide{grid-template-columns:1fr}
figure{margin:0;max-width:100%;break-inside:avoid}
figure svg{max-width:100%;height:auto}
figcaption{color:#555;font-size:.85em;max-width:680px}
details{margin:10px 0}
details summary{cursor:pointer;margin:6px 0;color:#333}
@page{size:A4;margin:12mm}
@media print{
  body{max-width:none;margin:0;padding:0;font-size:9.5pt}
  h2{break-after:avoid;margin-top:14pt}
  .cards{grid-template-columns:repeat(3,1fr);gap:6pt}
  .plots{display:block}
  figure{break-inside:avoid;page-break-inside:avoid;margin:0 0 10pt}
  figure svg{max-height:120mm;width:auto}
  table{break-inside:auto}tr{break-inside:avoid}
  details:not([open]){display:none}
  pre{white-space:pre-wrap;word-break:break-all}
  .card,.badge,section.alert,section.notice,tr.bad td{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
`;
