// The human text of a run: the progress line while it runs and the summary table when it ends, the same
// for a run on this machine (`cai run`, `cai demo`) and one on AWS (`cai aws run`).
import Table from 'cli-table3';
import type { ExecutionState } from '../../compute/lambda/engine.js';
import type { Summary } from '../../workflow/contracts.js';
import type { RunProgress } from '../../workflow/local-engine.js';
import { isCostLike } from '../../report/charts/cost.js';
import { costLine } from './cost.js';

const count = (n: number): string => n.toLocaleString('en-US');
const secs = (s: number): string => (s >= 100 ? s.toFixed(0) : s >= 10 ? s.toFixed(1) : s.toFixed(2));

export function progressLine(p: RunProgress): string {
  if (p.phase === 'initialize') return 'initialize: planning ranks...';
  const ranks = `ranks ${p.running} running, ${p.done + p.reused}/${p.ranks} done${p.failed ? `, ${p.failed} failed` : ''}${p.retries ? `, ${p.retries} retried` : ''}`;
  const samples = `samples ${count(p.samplesDone)}/${count(p.samples)}`;
  const rate = p.samplesPerS ? `${p.samplesPerS.toFixed(0)} samples/s` : '- samples/s';
  const eta = p.etaS !== null ? `ETA ${secs(p.etaS)} s` : 'ETA ?';
  const phase = p.phase === 'summarize' ? 'summarize: merging predictions...' : '';
  return [ranks, samples, rate, eta, phase].filter(Boolean).join('  |  ');
}

/** The progress of an execution on AWS as Step Functions reports it, `elapsedS` after it started. */
export function executionProgressLine(s: ExecutionState, elapsedS: number): string {
  const r = s.ranks;
  return `${s.status} ${elapsedS}s` + (r ? `  ranks ${r.succeeded + r.failed}/${r.total} done, ${r.running} running, ${r.pending} pending` : '  initializing');
}

export function renderSummary(s: Summary): string {
  const table = new Table({ head: ['rank', 'partitions', 'samples', 'status', 'cold start s', 'download s', 'inference s', 'upload s', 'total s', 'peak MB', 'samples/s'], style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  const failed = new Map(s.ranks.failed.map((f) => [f.rank, f]));
  const rows = new Map(s.performance.ranks.map((r) => [r.rank, r]));
  const ranks = [...new Set([...rows.keys(), ...failed.keys()])].sort((a, b) => a - b);
  for (const rank of ranks) {
    const r = rows.get(rank);
    const f = failed.get(rank);
    if (r)
      table.push([rank, r.partitions, count(r.samples), r.reused ? 'kept' : 'ok', r.coldStart ? secs(r.coldStartS) : 'warm', secs(r.downloadS), secs(r.inferenceS), secs(r.uploadS), secs(r.totalS), r.peakRssMB.toFixed(0), r.samplesPerS ? r.samplesPerS.toFixed(0) : '-']);
    else if (f) table.push([rank, f.partitions.length, count(f.samples), `FAILED ${f.error}`, '', '', '', '', '', '', '']);
  }
  const t = s.performance.total;
  const lines = [table.toString()];
  lines.push(
    `run ${s.runId}: ${s.status.toUpperCase()} - ${count(t.samples)} samples in ${secs(s.wallTimeS)} s (${t.samplesPerS ? t.samplesPerS.toFixed(0) : '-'} samples/s); ${s.configuration.worldSize} ranks, ${s.configuration.concurrency} at a time, ${s.configuration.threadsPerInstance} thread(s) each`,
  );
  if (s.accuracy && s.accuracy.count > 0) {
    const a = s.accuracy;
    lines.push(`accuracy over ${count(a.count)} samples: MAE ${a.mae?.toFixed(4)}, sigma_NMAD ${a.sigmaNmad?.toFixed(4)}, bias ${a.biasMean?.toFixed(4)}, outliers(|dz|>0.15) ${((a.outlierRate ?? 0) * 100).toFixed(2)}%, R2 ${a.r2?.toFixed(3)}`);
  }
  lines.push(`accounting: ${s.accounting.statement}`);
  const agg = s.aggregation;
  if (agg) {
    const how =
      agg.status === 'aggregated'
        ? `${agg.summarizedBy} gathered ${count(agg.ranks)} ranks' results (${((agg.bytesGathered ?? 0) / 1e6).toFixed(2)} MB) and wrote the summary; it waited ${secs((agg.gatherMs ?? 0) / 1000)} s after its own inference`
        : agg.status === 'skipped'
          ? 'no rank ran, nothing to gather; Summarize read the kept results'
          : `FELL BACK to storage: Summarize read the rank objects`;
    lines.push(`aggregation: fmi over ${agg.channel}: ${how}`);
    for (const e of agg.errors) lines.push(`  rank ${e.rank}: ${e.error}: ${e.message}`);
  }
  const inv = s.invocations;
  lines.push(
    `invocations: ${inv.total} (${inv.coldStarts} cold, ${inv.retries} retries, ${inv.crashed} crashed)${inv.reusedRanks ? `; ${inv.reusedRanks} ranks kept from an earlier attempt` : ''}${s.performance.slowestRank ? `; slowest rank ${s.performance.slowestRank.rank} (${secs(s.performance.slowestRank.totalS)} s)` : ''}`,
  );
  for (const f of s.ranks.failed) lines.push(`rank ${f.rank} failed (${f.error}): ${f.cause} [partitions: ${f.partitions.join(', ') || 'none'}]`);
  if (isCostLike(s.cost)) lines.push(`cost if run on AWS Lambda + Step Functions: ${costLine({ totalUsd: s.cost.totalUsd, items: s.cost.items.map((i) => ({ label: i.label ?? i.id ?? '?', usd: i.usd })) })}`);
  lines.push(`summary: ${s.outputs.summary}`);
  if (s.outputs.predictions) lines.push(`predictions: ${s.outputs.predictions}`);
  if (s.outputs.report) lines.push(`report: ${s.outputs.report}`);
  return lines.join('\n');
}
