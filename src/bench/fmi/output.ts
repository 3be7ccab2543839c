// Bench outputs: CSV and JSON of the records, the barrier-then-allreduce comparison with the original
// FMI's published AWS figures and with the channel model, and a plot of latency against world size.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg, svgToPng } from '../../report/plots.js';
import { writeFileAtomic } from '../../report/run-report.js';
import { POLICY_CHANNELS, type PolicyConfig } from '../../fmi/policy/config.js';
import { predict } from '../../fmi/policy/model.js';
import type { BenchChannel } from './job.js';
import type { BenchEnvironment, BenchRecord } from './run-bench.js';

/**
 * Barrier followed by an 8-byte allreduce with the original FMI on AWS Lambda, every rank on its own
 * machine (FMI, ACM ICS 2023): the two ends of its published range.
 */
export const FMI_AWS_BARRIER_ALLREDUCE_MS: Readonly<Record<number, number>> = Object.freeze({ 3: 11.2, 200: 49.8 });

export interface ComparisonRow {
  world_size: number;
  /** Median barrier plus median 8-byte allreduce, measured here. */
  measured_ms: number;
  /** The channel model's prediction with one CPU per rank. */
  model_one_cpu_per_rank_ms: number;
  /** The original FMI's published figure at this world size, where there is one. */
  fmi_aws_ms: number | null;
}

/** Rows for every world size where both a barrier and an 8-byte allreduce were measured. */
export function barrierAllreduceComparison(records: readonly BenchRecord[], bench: BenchChannel, config: PolicyConfig): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  // Only channels the policy has a model for can be compared with it.
  const channel = POLICY_CHANNELS.find((c) => c === bench);
  if (!channel) return rows;
  const sizes = [...new Set(records.map((r) => r.world_size))].sort((a, b) => a - b);
  for (const n of sizes) {
    const barrier = records.find((r) => r.world_size === n && r.op === 'barrier');
    const allreduce = records.find((r) => r.world_size === n && r.op === 'allreduce' && r.bytes === 8);
    if (!barrier || !allreduce) continue;
    const model = predict(config, channel, 'barrier', 0, n, { ranksPerCore: 1 }).latencyMs + predict(config, channel, 'allreduce', 8, n, { ranksPerCore: 1 }).latencyMs;
    rows.push({
      world_size: n,
      measured_ms: round3(barrier.median_ms + allreduce.median_ms),
      model_one_cpu_per_rank_ms: round3(model),
      fmi_aws_ms: FMI_AWS_BARRIER_ALLREDUCE_MS[n] ?? null,
    });
  }
  return rows;
}

const CSV_COLUMNS = ['channel', 'op', 'world_size', 'bytes', 'median_ms', 'p95_ms', 'runs'] as const;

export function recordsCsv(records: readonly BenchRecord[]): string {
  return [CSV_COLUMNS.join(','), ...records.map((r) => CSV_COLUMNS.map((c) => String(r[c])).join(','))].join('\n') + '\n';
}

export function sizeLabel(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes >> 20} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes >> 10} KiB`;
  return `${bytes} B`;
}

/** Median latency against world size: one line per (operation, size), log-log. */
export function latencyPlotSpec(records: readonly BenchRecord[], environment: Pick<BenchEnvironment, 'channel' | 'cpus'>): TopLevelSpec {
  const values = records.map((r) => ({ ...r, series: r.op === 'barrier' ? 'barrier' : `${r.op} ${sizeLabel(r.bytes)}` }));
  const sizes = [...new Set(records.map((r) => r.world_size))].sort((a, b) => a - b);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `FMI ${environment.channel} channel: median latency vs world size (${environment.cpus} CPU cores)`,
    width: 560,
    height: 340,
    background: 'white',
    config: { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', aria: false, axis: { gridColor: '#eee' } },
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: 'world_size',
        type: 'quantitative',
        scale: { type: 'log', base: 2, nice: false, ...(sizes.length > 1 ? { domain: [sizes[0]!, sizes[sizes.length - 1]!] } : {}) },
        title: 'world size (ranks)',
        axis: { values: sizes },
      },
      y: { field: 'median_ms', type: 'quantitative', scale: { type: 'log' }, title: 'median latency (ms)' },
      color: { field: 'series', type: 'nominal', title: 'operation' },
      tooltip: [
        { field: 'series', type: 'nominal' },
        { field: 'world_size', type: 'quantitative' },
        { field: 'median_ms', type: 'quantitative' },
        { field: 'p95_ms', type: 'quantitative' },
      ],
    },
  } as TopLevelSpec;
}

export interface BenchFiles {
  csv: string;
  json: string;
  summary: string;
  spec: string;
  svg: string;
  png: string;
}

/** Write every output into `dir` (created if needed); each file atomically. */
export async function writeBenchOutputs(dir: string, records: readonly BenchRecord[], environment: BenchEnvironment, comparison: readonly ComparisonRow[]): Promise<BenchFiles> {
  await mkdir(dir, { recursive: true });
  const base = `fmi-bench-${environment.channel}`;
  const files: BenchFiles = {
    csv: join(dir, `${base}.csv`),
    json: join(dir, `${base}.json`),
    summary: join(dir, `${base}-summary.json`),
    spec: join(dir, `${base}.vl.json`),
    svg: join(dir, `${base}.svg`),
    png: join(dir, `${base}.png`),
  };
  const spec = latencyPlotSpec(records, environment);
  const svg = await renderSvg(spec);
  await writeFileAtomic(files.csv, recordsCsv(records));
  await writeFileAtomic(files.json, JSON.stringify(records, null, 2) + '\n');
  await writeFileAtomic(files.summary, JSON.stringify({ environment, barrier_allreduce_8b: comparison }, null, 2) + '\n');
  await writeFileAtomic(files.spec, JSON.stringify(spec, null, 2) + '\n');
  await writeFileAtomic(files.svg, svg);
  await writeFileAtomic(files.png, svgToPng(svg));
  return files;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
