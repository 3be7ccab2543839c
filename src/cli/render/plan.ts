// The human text of `cai estimate` and `cai plan`: one estimate with its parts and cost arithmetic, the
// plan's front as a table with the pick and its reason, and where each platform wins (a Markdown table).
import { fmtUsd } from '../../cost/index.js';
import { fmtSeconds, type PickResult } from '../../planner/pick.js';
import type { Candidate } from '../../planner/search.js';
import type { SweepRow } from '../../planner/sweep.js';
import { costLine } from './cost.js';
import type { Estimate, Workload } from '../../planner/types.js';

export function formatEstimate(e: Estimate, w: Workload): string {
  const parts = Object.entries(e.wallParts)
    .filter(([, s]) => s > 0.0005)
    .map(([k, s]) => `${k} ${fmtSeconds(s)}`)
    .join(' + ');
  const lines = [
    `${e.label} (modelled) for ${w.description}, ${w.samples.toLocaleString('en-US')} samples, data ${w.location === 's3' ? 'in S3' : 'on this machine'}`,
    `  wall time  ${fmtSeconds(e.wall_s)}${parts ? ` = ${parts}` : ''}`,
    `  cost       ${fmtUsd(e.cost_usd)} USD`,
    ...e.cost.items.map((i) => `    ${i.label}: ${i.arithmetic}`),
    ...(e.cost.items.length > 1 ? [`    total: ${costLine(e.cost)}`] : []),
    `  ${e.platform === 'gpu' || e.platform === 'ec2' ? 'instances' : 'invocations'} ${e.invocations.toLocaleString('en-US')}, waves ${e.waves}`,
    ...e.notes.map((n) => `  note: ${n}`),
    ...e.infeasible.map((r) => `  cannot run: ${r}`),
  ];
  return lines.join('\n');
}

export function formatPlan(w: Workload, candidates: Candidate[], pick: PickResult | undefined, f: { all?: boolean }, files: string[]): string {
  const shown = candidates.filter((c) => f.all || c.pareto).sort((a, b) => a.wall_s - b.wall_s);
  const width = Math.max(9, ...shown.map((c) => c.label.length));
  const lines = [
    `${w.description}: ${w.samples.toLocaleString('en-US')} samples, data ${w.location === 's3' ? 'in S3' : 'on this machine'}; ${candidates.length} candidates, ${candidates.filter((c) => c.feasible).length} can run, ${candidates.filter((c) => c.pareto).length} on the Pareto front (modelled)`,
    '',
    `  ${'candidate'.padEnd(width)}  ${'wall'.padStart(9)}  ${'cost USD'.padStart(10)}  front`,
    ...shown.map((c) => `${pick && candidates[pick.index] === c ? '* ' : '  '}${c.label.padEnd(width)}  ${fmtSeconds(c.wall_s).padStart(9)}  ${fmtUsd(c.cost_usd).padStart(10)}  ${c.pareto ? 'yes' : c.feasible ? '' : `no: ${c.infeasible[0]}`}`),
    '',
    pick ? `pick: ${pick.reason}` : 'pick: none meets the limits',
  ];
  if (files.length) lines.push(`plot: ${files[1]}, ${files[2]}; plan: ${files[0]}`);
  else lines.push('(add --out DIR for plan.json and the front as SVG and PNG)');
  return lines.join('\n');
}

export function formatSweep(rows: readonly SweepRow[], files: string[], note?: string): string {
  const size = (gb: number) => (gb >= 1000 ? `${gb / 1000} TB` : gb >= 1 ? `${gb} GB` : `${gb * 1000} MB`);
  const lines = ['| data | fastest | wall | cost USD | cheapest | wall | cost USD |', '| ---: | --- | ---: | ---: | --- | ---: | ---: |'];
  for (const r of rows) lines.push(`| ${size(r.dataGB)} | ${r.byTime.label} | ${fmtSeconds(r.byTime.wall_s)} | ${fmtUsd(r.byTime.cost_usd)} | ${r.byCost.label} | ${fmtSeconds(r.byCost.wall_s)} | ${fmtUsd(r.byCost.cost_usd)} |`);
  lines.push('', 'modelled: every figure above is a prediction (docs/planner.md)');
  if (note) lines.push(note);
  if (files.length) lines.push(`plot: ${files[0]}, ${files[1]}; rows: ${files[2]}`);
  return lines.join('\n');
}

/** One candidate as `cai plan --json` prints it (and `cai run --auto` its pick): the keys scripts rely on. */
export function candidateJson(c: Candidate): Record<string, unknown> {
  return { platform: c.platform, label: c.label, settings: c.settings, wall_s: c.wall_s, cost_usd: c.cost_usd, pareto: c.pareto, feasible: c.feasible, infeasible: c.infeasible, invocations: c.invocations, waves: c.waves, wall_parts: c.wallParts, cost_arithmetic: c.cost.arithmetic };
}
