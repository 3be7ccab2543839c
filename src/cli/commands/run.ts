import type { Command } from 'commander';
import Table from 'cli-table3';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { ExitCode } from '../../errors.js';
import { DEFAULT_COMPUTE_BACKEND, computeBackend } from '../../compute/index.js';
import type { Summary } from '../../workflow/contracts.js';
import type { RunProgress } from '../../workflow/local-engine.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_FMI_TIMEOUT_S, DEFAULT_TOLERATED_FAILURE_PERCENTAGE } from '../../workflow/run-config.js';
import { Progress, action, emit, parseIntOption } from '../output.js';

interface RunFlags {
  data: string;
  model?: string;
  out: string;
  worldSize?: number;
  concurrency?: number;
  batchSize: number;
  threads?: number;
  memoryMb: number;
  timeoutS: number;
  runId?: string;
  toleratedFailurePercent: number;
  retries: number;
  retryIntervalS: number;
  readAhead: number;
  report: boolean;
  s3Endpoint?: string;
  aggregation: string;
  fmiChannel?: string;
  fmiHint?: string;
  fmiTimeoutS?: number;
  redisUrl?: string;
  json?: boolean;
}

interface DemoFlags {
  out: string;
  samples: number;
  worldSize: number;
  concurrency?: number;
  seed: number;
  json?: boolean;
}

export function register(program: Command): void {
  registerRun(program);
  registerDemo(program);
}

function registerRun(program: Command): void {
  const cores = availableParallelism();
  const limits = computeBackend(DEFAULT_COMPUTE_BACKEND).limits;
  program
    .command('run')
    .description('run inference as a workflow: Initialize -> one function instance per rank (Map) -> Summarize, on local worker processes')
    .requiredOption('--data <manifest>', 'data set: a directory, its manifest.json, or s3://bucket/prefix[/manifest.json]')
    .option('--model <file.onnx>', 'ONNX model (default: the built-in calibrated AstroMAE model)')
    .requiredOption('--out <dir>', 'results root, a directory or s3://bucket/prefix; results go to results/<run-id>/ under it')
    .option('--world-size <W>', `ranks the data set is split over (default: ${cores}, the cores)`, parseIntOption('world-size'))
    .option('--concurrency <C>', 'ranks running at once, one worker process each (default: min(W, cores))', parseIntOption('concurrency'))
    .option('--batch-size <B>', 'samples per model call', parseIntOption('batch-size'), DEFAULT_BATCH_SIZE)
    .option('--threads <T>', 'model threads per instance (default: cores / C, at least 1)', parseIntOption('threads'))
    .option('--memory-mb <M>', 'memory limit per instance, MB (like a Lambda memory size)', parseIntOption('memory-mb'), limits.memoryMb.default)
    .option('--timeout-s <S>', 'time limit per rank invocation, seconds', parseIntOption('timeout-s'), limits.timeoutS.default)
    .option('--run-id <id>', 'name of the run; rerunning an id resumes it, keeping ranks that finished (default: run-<time>-<random>)')
    .option('--tolerated-failure-percent <P>', 'failed ranks (percent of W) that still make the run "partial" rather than "failed"', parseIntOption('tolerated-failure-percent'), DEFAULT_TOLERATED_FAILURE_PERCENTAGE)
    .option('--retries <n>', 'retries of a rank after a crash or platform error (not after data or model errors)', parseIntOption('retries'), 2)
    .option('--retry-interval-s <s>', 'wait before the first retry; doubles each time', parseIntOption('retry-interval-s'), 1)
    .option('--read-ahead <n>', 'partitions fetched ahead of the model in each instance', parseIntOption('read-ahead'), 1)
    .option('--no-report', 'skip the HTML/PNG report')
    .option('--s3-endpoint <url>', 'S3-compatible endpoint for s3:// data or results (default: $AWS_ENDPOINT_URL_S3, else AWS)')
    .option('--aggregation <mode>', 'how results come together: storage (Summarize reads every rank object) or fmi (ranks gather to rank 0 over an FMI channel, which writes the summary; needs --concurrency >= --world-size)', 'storage')
    .option('--fmi-channel <channel>', 'fmi: tcp, redis, s3, or auto (the channel policy picks for a gather of the expected bytes) (default: auto)')
    .option('--fmi-hint <hint>', 'fmi: what auto optimizes, fast (latency) or cheap (price) (default: fast)')
    .option('--fmi-timeout-s <s>', `fmi: longest a rank waits for the others after its inference; past it Summarize reads the rank objects instead (default: ${DEFAULT_FMI_TIMEOUT_S})`, parseIntOption('fmi-timeout-s'))
    .option('--redis-url <url>', 'fmi over redis: redis://host:port (default: $CAI_REDIS_URL)')
    .option('--json', 'print summary.json instead of the table')
    .addHelpText(
      'after',
      `
Examples:
  cai run --data ./demo/data --out ./demo --world-size 4 --concurrency 2
  cai run --data ./demo/data --out ./demo --world-size 4 --aggregation fmi --fmi-channel tcp
  CAI_DEBUG=fmi cai run --data ./demo/data --out ./demo --world-size 4 --aggregation fmi --fmi-hint cheap
  cai run --data ./sdss/manifest.json --model astromae.onnx --out ./out --world-size 8 --concurrency 2 --threads 1 --run-id sdss-1
  cai run --data s3://bucket/sdss --model m.onnx --out s3://bucket --s3-endpoint http://127.0.0.1:9000 --json

Writes under <out>/results/<run-id>/: plan.json, rank-NNNNN.json and rank-NNNNN.predictions.csv per rank,
predictions.csv (all ranks), summary.json, report/report.html.

Exit codes: 0 complete, 5 some ranks failed (partial results written), 2 bad flags, 3 bad data,
4 missing or incompatible model, 7 S3 endpoint unreachable.`,
    )
    .action(
      action(async (flags: RunFlags) => {
        if (flags.s3Endpoint) process.env.AWS_ENDPOINT_URL_S3 = flags.s3Endpoint;
        const fmi = await fmiRequest(flags);
        const model = flags.model ?? (await (await import('../../model/builtin.js')).ensureBuiltinModel());
        const { makeRunConfig } = await import('../../workflow/run-config.js');
        const run = makeRunConfig({
          ...fmi,
          data: flags.data,
          model,
          out: flags.out,
          worldSize: flags.worldSize,
          concurrency: flags.concurrency,
          batchSize: flags.batchSize,
          threads: flags.threads,
          memoryMb: flags.memoryMb,
          timeoutS: flags.timeoutS,
          runId: flags.runId,
          toleratedFailurePercentage: flags.toleratedFailurePercent,
          readAhead: flags.readAhead,
          report: flags.report,
        });
        const redisUrl = flags.redisUrl ?? process.env.CAI_REDIS_URL;
        const summary = await execute(run, flags, { intervalSeconds: Math.max(1, flags.retryIntervalS), backoffRate: 2, maxAttempts: Math.max(0, flags.retries) }, redisUrl);
        emit(flags, summary, () => renderSummary(summary));
        if (summary.status !== 'complete') process.exitCode = ExitCode.partial;
      }),
    );
}

/** The aggregation flags, checked before the (possibly slow) built-in model is prepared. */
async function fmiRequest(flags: RunFlags): Promise<Pick<import('../../workflow/run-config.js').RunRequest, 'aggregation' | 'fmiChannel' | 'fmiHint' | 'fmiTimeoutS'>> {
  const { UsageError } = await import('../../errors.js');
  const oneOf = <T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T | undefined => {
    if (v !== undefined && !allowed.includes(v as T)) throw new UsageError(`--${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}, got "${v}"`);
    return v as T | undefined;
  };
  const aggregation = oneOf('aggregation', flags.aggregation, ['storage', 'fmi'] as const);
  const fmiChannel = oneOf('fmi-channel', flags.fmiChannel, ['tcp', 'redis', 's3', 'auto'] as const);
  const fmiHint = oneOf('fmi-hint', flags.fmiHint, ['fast', 'cheap'] as const);
  if (aggregation !== 'fmi' && (fmiChannel || fmiHint || flags.fmiTimeoutS !== undefined || flags.redisUrl)) throw new UsageError('--fmi-channel, --fmi-hint, --fmi-timeout-s and --redis-url apply to --aggregation fmi');
  return { aggregation, fmiChannel, fmiHint, fmiTimeoutS: flags.fmiTimeoutS };
}

function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('synthesize a labelled data set (~250 MB), build the calibrated model if missing, and run it over several ranks')
    .option('--out <dir>', 'where the data set and results go', './cai-demo')
    .option('--samples <N>', 'galaxies to synthesize (20,500 bytes of model input each)', parseIntOption('samples'), 12_000)
    .option('--world-size <W>', 'ranks', parseIntOption('world-size'), 4)
    .option('--concurrency <C>', 'ranks at once (default: min(W, cores))', parseIntOption('concurrency'))
    .option('--seed <n>', 'seed of the synthetic galaxies', parseIntOption('seed'), 42)
    .option('--json', 'print summary.json instead of the table')
    .addHelpText(
      'after',
      `
Examples:
  cai demo
  cai demo --out /tmp/demo --samples 3000 --world-size 2 --json

The data set is kept in <out>/data and reused while --samples and --seed stay the same; the model is cached
in build/models/. Each demo run gets a new run id under <out>/results/.`,
    )
    .action(
      action(async (flags: DemoFlags) => {
        const { UsageError } = await import('../../errors.js');
        if (flags.samples < 1) throw new UsageError(`--samples must be at least 1, got ${flags.samples}`);
        const progress = new Progress(flags);
        const say = (line: string): void => {
          if (!flags.json) process.stderr.write(line + '\n');
        };
        const out = resolve(flags.out);
        const { ensureDemoDataset } = await import('../../data/demo-dataset.js');
        say(`cai demo: data set in ${out}/data`);
        let data;
        try {
          data = await ensureDemoDataset({ dir: `${out}/data`, samples: flags.samples, seed: flags.seed, onProgress: (d, t) => progress.update(`synthesizing galaxies ${d.toLocaleString('en-US')}/${t.toLocaleString('en-US')}`) });
        } finally {
          progress.done();
        }
        say(`  ${data.reused ? 'kept' : 'synthesized'} ${data.samples.toLocaleString('en-US')} samples in ${data.partitions} partition${data.partitions === 1 ? '' : 's'} (${(data.bytes / 1e6).toFixed(0)} MB)`);
        const { ensureBuiltinModel, builtinModelPath } = await import('../../model/builtin.js');
        say(`  model: ${builtinModelPath()} (built and calibrated once if missing)`);
        let model: string;
        try {
          model = await ensureBuiltinModel(undefined, { onProgress: (stage, detail) => progress.update(`building the calibrated model: ${stage} ${detail}`) });
        } finally {
          progress.done();
        }
        const { makeRunConfig, newRunId } = await import('../../workflow/run-config.js');
        const run = makeRunConfig({ data: data.manifestPath, model, out, worldSize: flags.worldSize, concurrency: flags.concurrency, runId: newRunId('demo') });
        say(`  run ${run.runId}: ${run.worldSize} ranks, ${run.concurrency} at a time, ${run.threads} thread(s) each`);
        const summary = await execute(run, flags);
        emit(flags, summary, () => renderSummary(summary));
        if (summary.status !== 'complete') process.exitCode = ExitCode.partial;
      }),
    );
}

async function execute(run: import('../../workflow/contracts.js').RunConfig, flags: { json?: boolean }, retry?: import('../../workflow/definition.js').RetryPolicy, redisUrl?: string): Promise<Summary> {
  const { runLocalWorkflow } = await import('../../workflow/local-engine.js');
  const progress = new Progress(flags);
  try {
    const res = await runLocalWorkflow({ run, retry, redisUrl, onProgress: (p) => progress.update(progressLine(p), p.phase === 'done') });
    return res.summary;
  } finally {
    progress.done();
  }
}

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
  const cost = s.cost as { totalUsd?: number; arithmetic?: string } | null;
  if (cost?.totalUsd !== undefined) lines.push(`cost if run on AWS Lambda + Step Functions: ${cost.arithmetic}`);
  lines.push(`summary: ${s.outputs.summary}`);
  if (s.outputs.predictions) lines.push(`predictions: ${s.outputs.predictions}`);
  if (s.outputs.report) lines.push(`report: ${s.outputs.report}`);
  return lines.join('\n');
}
