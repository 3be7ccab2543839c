import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BENCH_CHANNELS, BENCH_OPS, type BenchChannel, type BenchOp } from '../../bench/fmi/job.js';
import { barrierAllreduceComparison, sizeLabel, writeBenchOutputs, type ComparisonRow } from '../../bench/fmi/output.js';
import { runFmiBench, type BenchRecord } from '../../bench/fmi/run-bench.js';
import { defaultPolicyConfig, loadPolicyConfig, type PolicyConfig } from '../../fmi/policy/config.js';
import { POLICY_OPS, type PolicyOp } from '../../fmi/policy/model.js';
import { ChannelPolicy, formatExplanation, HINTS, type Hint } from '../../fmi/policy/policy.js';
import { UsageError } from '../../errors.js';
import { action, emit, parseIntOption, Progress } from '../output.js';

const DEFAULT_WORLD_SIZES: Partial<Record<BenchChannel, string>> & { default: string } = {
  default: '2,3,4,8,16,32,64,128,200',
  // Every S3 receive polls over HTTP; larger worlds take minutes on one machine.
  s3: '2,3,4,8,16',
};

/** What the flags say about the measured channel's server, for its backend to check. */
function channelSettings(f: BenchFlags): unknown {
  if (f.s3Endpoint && !f.s3Bucket) throw new UsageError('--s3-endpoint needs --s3-bucket');
  const byChannel: Partial<Record<BenchChannel, object>> = {
    redis: { url: f.redisUrl, sharedCommands: f.redisSharedCommands },
    s3: { endpoint: f.s3Endpoint, bucket: f.s3Bucket, region: f.s3Region, prefix: f.s3Prefix, pollMaxMs: f.s3PollMaxMs },
  };
  const settings = byChannel[f.channel] ?? {};
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
}

function intList(flag: string, min: number, max: number) {
  return (v: string): number[] => {
    const items = v.split(',').map((s) => s.trim()).filter(Boolean);
    const out = items.map((s) => Number(s));
    if (items.length === 0 || out.some((n) => !Number.isSafeInteger(n) || n < min || n > max)) throw new InvalidArgumentError(`--${flag} must be a comma-separated list of integers in ${min}..${max}, got "${v}"`);
    return out;
  };
}

function opList(v: string): BenchOp[] {
  const ops = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = ops.find((o) => !(BENCH_OPS as readonly string[]).includes(o));
  if (ops.length === 0 || bad !== undefined) throw new InvalidArgumentError(`unknown operation "${bad ?? ''}"; choose from ${BENCH_OPS.join(', ')}`);
  return ops as BenchOp[];
}

async function policyConfig(file: string | undefined): Promise<PolicyConfig> {
  return file ? loadPolicyConfig(file) : defaultPolicyConfig();
}

interface BenchFlags {
  channel: BenchChannel;
  worldSizes?: number[];
  ops: BenchOp[];
  bytes: number[];
  runs: number;
  warmup: number;
  maxProcs: number;
  timeoutMs: number;
  out?: string;
  json?: boolean;
  config?: string;
  redisUrl?: string;
  redisSharedCommands: boolean;
  s3Endpoint?: string;
  s3Bucket?: string;
  s3Region?: string;
  s3Prefix?: string;
  s3PollMaxMs?: number;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

function humanReport(records: BenchRecord[], comparison: ComparisonRow[], channel: BenchChannel, cpus: number, files: string[]): string {
  const lines = [
    `FMI ${channel} channel, ${cpus} CPU cores shared by all ranks`,
    table(
      ['op', 'world', 'bytes', 'median ms', 'p95 ms', 'runs'],
      records.map((r) => [r.op, String(r.world_size), r.op === 'barrier' ? '-' : sizeLabel(r.bytes), r.median_ms.toFixed(3), r.p95_ms.toFixed(3), String(r.runs)]),
    ),
  ];
  if (comparison.length) {
    lines.push(
      '',
      'barrier then 8-byte allreduce (sum of medians) beside the model (one CPU per rank) and the original FMI on AWS (every rank on its own machine):',
      table(
        ['world', 'measured ms', 'model ms', 'FMI on AWS ms'],
        comparison.map((c) => [String(c.world_size), c.measured_ms.toFixed(3), c.model_one_cpu_per_rank_ms.toFixed(3), c.fmi_aws_ms === null ? '-' : c.fmi_aws_ms.toFixed(1)]),
      ),
    );
  }
  if (files.length) lines.push('', `wrote ${files.join(', ')}`);
  return lines.join('\n');
}

/** Adds `cai fmi bench` and `cai fmi explain` to the `fmi` group. */
export function registerFmiBench(fmi: Command): void {
  fmi
    .command('bench')
    .description('Measure FMI collective latency over a channel for several world sizes (starts and stops the services it needs)')
    .addOption(new Option('--channel <kind>', 'channel to measure').choices([...BENCH_CHANNELS]).default('tcp'))
    .option('--world-sizes <list>', `world sizes (default tcp/redis: ${DEFAULT_WORLD_SIZES.default}; s3: ${DEFAULT_WORLD_SIZES.s3})`, intList('world-sizes', 1, 4096))
    .option('--ops <list>', `operations, from ${BENCH_OPS.join(', ')}`, opList, ['barrier', 'allreduce', 'bcast', 'gather'] as BenchOp[])
    .option('--bytes <list>', 'bytes per rank for the data-carrying operations', intList('bytes', 0, 64 * 1024 * 1024), [8, 1024, 1048576])
    .option('--runs <n>', 'timed runs per measurement', parseIntOption('runs'), 10)
    .option('--warmup <n>', 'untimed runs before the timed ones', parseIntOption('warmup'), 2)
    .option('--max-procs <n>', 'most worker processes; larger worlds host several ranks per process', parseIntOption('max-procs'), Math.max(2, availableParallelism()))
    .option('--timeout-ms <ms>', 'time limit for one operation', parseIntOption('timeout-ms'), 60_000)
    .option('--out <dir>', 'write CSV, JSON, summary and the latency plot (SVG, PNG) here')
    .option('--config <file>', 'channel configuration (model parameters) for the prediction; default: built-in AWS figures')
    .option('--redis-url <url>', 'use this Redis instead of starting redis-server')
    .option('--no-redis-shared-commands', 'give every rank its own Redis command connection (default: one per worker process)')
    .option('--s3-endpoint <url>', 'use this S3 endpoint instead of starting s3rver (credentials from the AWS SDK sources)')
    .option('--s3-bucket <name>', 'bucket for --s3-endpoint')
    .option('--s3-region <region>', 'S3 region', 'us-east-1')
    .option('--s3-prefix <prefix>', 'key prefix inside the bucket', '')
    .option('--s3-poll-max-ms <ms>', 'longest wait between S3 receive polls', parseIntOption('s3-poll-max-ms'))
    .option('--json', 'print one JSON array of {channel, op, world_size, bytes, median_ms, p95_ms, runs}')
    .addHelpText(
      'after',
      `
Examples:
  cai fmi bench --channel tcp --out bench-out
  cai fmi bench --channel redis --world-sizes 3,64,200 --ops barrier,allreduce --bytes 8 --runs 20
  cai fmi bench --channel s3 --world-sizes 2,4 --json`,
    )
    .action(
      action(async (flags: BenchFlags) => {
        const config = await policyConfig(flags.config);
        const worldSizes = flags.worldSizes ?? intList('world-sizes', 1, 4096)(DEFAULT_WORLD_SIZES[flags.channel] ?? DEFAULT_WORLD_SIZES.default);
        const progress = new Progress({ json: flags.json });
        const result = await runFmiBench({
          channel: flags.channel,
          worldSizes,
          ops: flags.ops,
          bytes: flags.bytes,
          runs: flags.runs,
          warmup: flags.warmup,
          maxProcs: flags.maxProcs,
          timeoutMs: flags.timeoutMs,
          settings: channelSettings(flags),
          progress: (t) => progress.update(t, true),
        });
        progress.done();
        const comparison = barrierAllreduceComparison(result.records, flags.channel, config);
        const files = flags.out ? Object.values(await writeBenchOutputs(flags.out, result.records, result.environment, comparison)) : [];
        emit(flags, result.records, () => humanReport(result.records, comparison, flags.channel, result.environment.cpus, files));
      }),
    );

  fmi
    .command('explain')
    .description("Show the channel policy's predictions for one operation and the channel it would choose")
    .addOption(new Option('--op <op>', 'operation').choices([...POLICY_OPS]).default('allreduce'))
    .option('--bytes <n>', 'bytes per rank', parseIntOption('bytes'), 8)
    .option('--world-size <n>', 'ranks', parseIntOption('world-size'), 16)
    .addOption(new Option('--hint <hint>', 'fast: lowest latency; cheap: lowest total cost').choices([...HINTS]).default('fast'))
    .option('--ranks-per-core <n>', 'ranks sharing one CPU core', parseIntOption('ranks-per-core'), 1)
    .option('--config <file>', 'channel configuration; default: built-in AWS figures')
    .option('--json', 'print the explanation as JSON')
    .addHelpText('after', '\nExamples:\n  cai fmi explain --op allreduce --bytes 8 --world-size 200 --hint cheap\n  CAI_DEBUG=fmi cai fmi explain --op bcast --bytes 1048576 --world-size 64 --config fmi-channels.json')
    .action(
      action(async (flags: { op: PolicyOp; bytes: number; worldSize: number; hint: Hint; ranksPerCore: number; config?: string; json?: boolean }) => {
        const policy = new ChannelPolicy(await policyConfig(flags.config));
        const e = policy.explain(flags.op, flags.bytes, flags.worldSize, flags.hint, { ranksPerCore: flags.ranksPerCore });
        emit(flags, e, () => formatExplanation(e));
      }),
    );
}
