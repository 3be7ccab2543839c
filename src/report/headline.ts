// The headline figures of one run, read from what it stored: samples, wall time, samples/s, cost, accuracy,
// the prediction it was planned with, and the settings that tell runs apart. A workflow run's summary.json
// and a `cai infer` output's metrics.json both give them; the run page's cards and the compare table both
// read them from here, so the two never disagree.
import { basename } from 'node:path';
import { predictionSchema, type Prediction } from '../planner/prediction.js';
export { fmtSeconds } from '../planner/pick.js';
import { isCostLike, type CostLike } from './charts/cost.js';

export interface Headline {
  kind: 'summary' | 'metrics';
  runId: string | null;
  /** complete, partial or failed; null for a `cai infer` output, which has no status. */
  status: string | null;
  samples: number;
  partitions: number | null;
  dataBytes: number | null;
  wallS: number | null;
  samplesPerS: number | null;
  /** Bits of model input per second of wall time. */
  throughputBps: number | null;
  cost: { usd: number; basis: string; breakdown: CostLike } | null;
  sigmaNmad: number | null;
  outlierRate: number | null;
  /** What the planner predicted for this run (summary.json `prediction`), when it was planned. */
  prediction: Prediction | null;
  /** Why a `prediction` field could not be read, when there is one that does not fit its schema. */
  predictionProblem: string | null;
  /** The settings that tell runs apart, as short label/value pairs (backend, ranks, device, model...). */
  facets: Record<string, string>;
}

/** How a backend's run is priced, as the cost card says it. */
const COST_BASIS: Record<string, string> = {
  'local-processes': 'if run on AWS Lambda + Step Functions, priced from this run\u2019s durations',
  'aws-lambda': 'AWS Lambda + Step Functions, priced from this run\u2019s billed durations',
};

const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The headline of a loaded run; `devices` are the devices its ranks report (rank results). */
export function headlineOf(summary: Record<string, unknown>, kind: 'summary' | 'metrics', devices: readonly string[] = []): Headline {
  return kind === 'summary' ? workflowHeadline(summary, devices) : inferHeadline(summary);
}

function workflowHeadline(s: Record<string, unknown>, devices: readonly string[]): Headline {
  const conf = obj(s.configuration);
  const total = obj(obj(s.performance).total);
  const acc = obj(s.accuracy);
  const data = obj(s.dataset);
  const backend = str(conf.backend) ?? 'unknown';
  const { prediction, problem } = readPrediction(s.prediction);
  const aggregation = obj(conf.aggregation);
  const facets: Record<string, string> = {
    backend,
    ranks: String(num(conf.worldSize) ?? '?'),
    'at once': String(num(conf.concurrency) ?? '?'),
    threads: String(num(conf.threadsPerInstance) ?? '?'),
    batch: String(num(conf.batchSize) ?? '?'),
    device: devices.length ? devices.join('+') : '?',
    model: str(conf.model) ? basename(str(conf.model)!) : '?',
    'memory MB': String(num(conf.memoryMb) ?? '?'),
    aggregation: str(aggregation.mode) === 'fmi' ? `fmi/${str(aggregation.channel) ?? str(aggregation.requestedChannel) ?? '?'}` : 'storage',
  };
  return {
    kind: 'summary',
    runId: str(s.runId),
    status: str(s.status),
    samples: num(total.samples) ?? num(obj(s.accounting).predictedSamples) ?? 0,
    partitions: num(data.partitions),
    dataBytes: num(data.bytes),
    wallS: num(s.wallTimeS),
    samplesPerS: num(total.samplesPerS),
    throughputBps: num(total.throughputBps),
    cost: isCostLike(s.cost) ? { usd: s.cost.totalUsd, basis: COST_BASIS[backend] ?? `priced from this run\u2019s durations (${backend})`, breakdown: s.cost } : null,
    sigmaNmad: num(acc.sigmaNmad),
    outlierRate: num(acc.outlierRate),
    prediction,
    predictionProblem: problem,
    facets,
  };
}

function inferHeadline(m: Record<string, unknown>): Headline {
  const perf = obj(m.performance);
  const acc = obj(m.accuracy);
  const config = obj(m.config);
  const data = obj(m.data);
  const model = obj(m.model);
  const { prediction, problem } = readPrediction(m.prediction);
  const wallS = num(perf.wallTimeS);
  const samples = num(perf.samples) ?? num(data.samples) ?? 0;
  return {
    kind: 'metrics',
    runId: null,
    status: null,
    samples,
    partitions: num(data.partitions),
    dataBytes: num(perf.inputBytes),
    wallS,
    samplesPerS: num(perf.endToEndSamplesPerS) ?? (wallS ? samples / wallS : null),
    throughputBps: wallS && num(perf.inputBytes) !== null ? (num(perf.inputBytes)! * 8) / wallS : null,
    cost: null,
    sigmaNmad: num(acc.sigmaNmad),
    outlierRate: num(acc.outlierRate),
    prediction,
    predictionProblem: problem,
    facets: {
      backend: 'cai infer (one process)',
      ranks: '1',
      threads: String(num(config.threads) ?? '?'),
      batch: String(num(config.batchSize) ?? num(perf.batchSize) ?? '?'),
      device: str(perf.device) ?? str(model.device) ?? '?',
      model: str(model.path) ? basename(str(model.path)!) : '?',
    },
  };
}

function readPrediction(v: unknown): { prediction: Prediction | null; problem: string | null } {
  if (v === undefined || v === null) return { prediction: null, problem: null };
  const parsed = predictionSchema.safeParse(v);
  if (parsed.success) return { prediction: parsed.data, problem: null };
  const issue = parsed.error.issues[0];
  return { prediction: null, problem: `prediction${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}` };
}

/** Measured over predicted, when both are there and the prediction is not zero. */
export function ratio(measured: number | null, predicted: number | null | undefined): number | null {
  return measured !== null && predicted !== null && predicted !== undefined && predicted > 0 ? measured / predicted : null;
}

/** Three significant digits with separators: 63.2, 1,230. */
export function fmtRate(x: number): string {
  return x >= 1000 ? Math.round(x).toLocaleString('en-US') : String(Number(x.toPrecision(3)));
}

export function fmtPercent(x: number): string {
  return `${(x * 100).toFixed(x > 0 && x < 0.001 ? 3 : 2)}%`;
}
