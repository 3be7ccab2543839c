// The human text of `cai report --compare`: the headline figures of each run and their change against
// the first, as a table on the terminal (the page and compare.json hold the same).
import Table from 'cli-table3';
import { fmtUsd } from '../../cost/format.js';
import { COMPARED, type CompareTable, type ComparedKey, type Delta } from '../../report/compare.js';
import { fmtPercent, fmtRate, fmtSeconds } from '../../report/headline.js';

const FORMAT: Record<ComparedKey, (v: number) => string> = {
  wallS: fmtSeconds,
  samplesPerS: fmtRate,
  costUsd: (v) => `${fmtUsd(v)} USD`,
  sigmaNmad: (v) => v.toFixed(4),
  outlierRate: fmtPercent,
};

function change(d: Delta | null): string {
  if (!d || d.rel === null) return '';
  return ` (${d.rel >= 0 ? '+' : ''}${(d.rel * 100).toFixed(Math.abs(d.rel) < 0.1 ? 1 : 0)}%)`;
}

export function renderCompareTable(t: CompareTable): string {
  const table = new Table({ head: ['run', 'status', 'samples', ...COMPARED.map((c) => c.title)], style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  for (const r of t.runs) {
    table.push([r.label, r.status ?? 'cai infer', r.samples.toLocaleString('en-US'), ...COMPARED.map((c) => (r[c.key] === null ? '-' : FORMAT[c.key](r[c.key]!) + change(r.deltas[c.key])))]);
  }
  return `${table.toString()}\nchanges against the first run (${t.baseline}); the runs differ in ${t.differing.join(', ') || 'nothing but their run ids'}`;
}
