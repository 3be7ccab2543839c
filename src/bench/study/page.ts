// The study's page: the machine it ran on (and a warning when others shared it), the headline table, then
// every experiment's plot beside the published figures, its table with the ratios, and its notes. The
// report's page shell and plots (src/report/) draw it, so it is self-contained and prints like a report.
import { FIGURE_KINDS, linePlot, type PlotSpec } from '../../report/plots.js';
import { cardsHtml, esc, figuresHtml, fmtValue, renderPage, section, type Figure } from '../../report/page.js';
import { fmtRatio, type StudyExperiment, type StudyResults } from './results.js';

/** The experiment's points as a plot: one line per series, styled by where its figures come from. */
export function experimentPlot(e: StudyExperiment): PlotSpec {
  const kinds = FIGURE_KINDS.filter((k) => e.points.some((p) => p.kind === k));
  return linePlot(e.points, { x: e.x, y: e.y, width: 520, height: 320, legend: 'right', caption: `${e.title}: ${kinds.map((k) => `${k} (${k === 'measured' ? 'solid, circles' : k === 'modelled' ? 'dashed, triangles' : 'dotted, squares'})`).join(', ')}.` });
}

export function studyHtml(s: StudyResults, svgs: ReadonlyMap<string, string>, files: { csv: (id: string) => string; json: string }): string {
  const m = s.machine;
  const header = [
    `<p class="sub-title">${esc(`${m.cpuModel}, ${m.cores} cores, ${m.memoryGB} GB; Node.js ${m.node} (${m.platform}); ${s.mode} study started ${s.startedAt}, ${Math.round(s.seconds)} s in all; model ${s.model}`)}</p>`,
    cardsHtml([
      { id: 'experiments', label: 'Experiments', value: s.experiments.length, text: String(s.experiments.length), sub: s.failures.length ? `${s.failures.length} did not finish` : 'all finished', tone: s.failures.length ? 'bad' : undefined },
      { id: 'seconds', label: 'Took', value: s.seconds, text: `${Math.round(s.seconds)} s`, sub: `${s.mode} sizes` },
      { id: 'load', label: 'Load average', value: m.loadAfter[0], text: `${m.loadBefore[0]} → ${m.loadAfter[0]}`, sub: `1 min, at start and end; ${m.cores} cores`, tone: m.shared ? 'warn' : undefined },
    ]),
  ].join('');
  const body: string[] = [];
  if (m.shared)
    body.push(
      section(
        'shared',
        'Measured on a shared machine',
        `<p>The load average was ${m.loadBefore.join(' / ')} (1 / 5 / 15 min) when the study started and ${m.loadAfter.join(' / ')} when it ended, on ${m.cores} cores: other work competed for them, so the figures measured here are lower than this code gets on a quiet machine, and they will move when measured again there. Published and modelled figures do not depend on it, except those modelled from what was measured here.</p>`,
        'notice',
      ),
    );
  if (s.failures.length) body.push(section('failures', 'Experiments that did not finish', `<ul>${s.failures.map((f) => `<li data-failed="${esc(f.id)}"><b>${esc(f.id)}</b>: ${esc(f.error)}</li>`).join('')}</ul>`, 'alert'));
  body.push(section('headline', 'Headline', headlineTable(s) + `<p class="muted">Measured: on this machine, by this command. Modelled: predicted by the planner\u2019s model (src/planner, src/cost), never measured. Published: the original study\u2019s figures (reference/cai) and the original FMI\u2019s. Tables and points: <a href="${esc(files.json)}">${esc(files.json)}</a>.</p>`));
  for (const e of s.experiments) {
    const fig: Figure = { id: e.id, title: e.title, svg: svgs.get(e.id) ?? '', caption: experimentPlot(e).caption };
    const notes = `<ul class="muted">${e.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`;
    const csv = files.csv(e.id);
    body.push(section(`exp-${e.id}`, e.title, `<p>${esc(e.description)}</p>${figuresHtml([fig], `e-${e.id}-`, 'wide')}${experimentTable(e)}${notes}<p class="muted">${Math.round(e.seconds)} s here; the table as CSV: <a href="${esc(csv)}">${esc(csv)}</a></p>`));
  }
  return renderPage({ title: 'CAI: the study\u2019s experiments on this machine', header, body, generatedAt: new Date().toISOString(), footer: 'cai bench study' });
}

function headlineTable(s: StudyResults): string {
  const rows = s.experiments.flatMap((e) => e.headline.map((h) => ({ e, h })));
  const body = rows
    .map(({ e, h }) => `<tr data-experiment="${esc(e.id)}"><td><a href="#exp-${esc(e.id)}">${esc(e.title)}</a></td><td>${esc(h.what)}</td><td class="num">${esc(h.here)}</td><td class="num">${esc(h.reference)}</td><td class="num"${h.ratio === null ? '' : ` data-value="${h.ratio}"`}>${h.ratio === null ? '–' : `${esc(fmtRatio(h.ratio))}<br><small>${esc(h.ratioMeaning)}</small>`}</td></tr>`)
    .join('\n');
  return `<table class="grid" id="headline-table"><thead><tr><th>Experiment</th><th>What</th><th>Here</th><th>Reference</th><th>Ratio</th></tr></thead><tbody>${body}</tbody></table>`;
}

function experimentTable(e: StudyExperiment): string {
  const head = e.columns.map((c) => `<th data-kind="${c.kind}">${esc(c.title)}</th>`).join('');
  const kinds = e.columns.map((c) => `<td class="muted">${c.kind === 'setting' ? '' : esc(c.kind)}</td>`).join('');
  const body = e.rows
    .map((r) => `<tr>${e.columns.map((c) => {
      const v = r[c.key];
      const num = typeof v === 'number';
      return `<td data-col="${esc(c.key)}"${num ? ` class="num" data-value="${v}"` : ''}>${esc(c.kind === 'ratio' && num ? fmtRatio(v) : fmtValue(v))}</td>`;
    }).join('')}</tr>`)
    .join('\n');
  return `<table class="grid study" data-experiment="${esc(e.id)}"><thead><tr>${head}</tr><tr class="kinds">${kinds}</tr></thead><tbody>${body}</tbody></table>`;
}
