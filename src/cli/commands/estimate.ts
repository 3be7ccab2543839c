// `cai estimate`: the predicted wall time and cost of one configuration on one platform, with the parts
// they add up from and the cost arithmetic.
import { Option, type Command } from 'commander';
import { CaiError, ExitCode, UsageError } from '../../errors.js';
import { PLATFORMS, PLATFORM_NAMES } from '../../planner/platforms/index.js';
import { samplesPerPartition, partitionsOf } from '../../planner/platforms/shared.js';
import { predictionOf } from '../../planner/prediction.js';
import type { Estimate, PlanEnv, PlatformName, Settings, Workload } from '../../planner/types.js';
import { action, emit } from '../output.js';
import { positiveInt, positiveNumber } from '../parse.js';
import { formatEstimate } from '../render/plan.js';
import { DEFAULT_PARTITION_MB, inputOptions, readEnv, readWorkload, type PlannerInputFlags } from '../flags/planner-inputs.js';

interface EstimateFlags extends PlannerInputFlags {
  platform: PlatformName;
  memoryMb?: number;
  worldSize?: number;
  concurrency?: number;
  threads?: number;
  batchSize?: number;
  instance?: string;
  instances?: number;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('estimate')
    .description('predict the wall time and cost of one configuration on local, lambda, gpu or ec2')
    .addOption(new Option('--platform <name>', 'where it runs').choices(PLATFORM_NAMES).makeOptionMandatory());
  for (const o of inputOptions()) cmd.addOption(o);
  cmd
    .option('--memory-mb <m>', 'lambda: function memory, 128-10240 (default 10240)', positiveInt)
    .option('--world-size <w>', 'lambda, local: ranks (default: one per partition on lambda; the cores locally)', positiveInt)
    .option('--concurrency <c>', 'lambda, local: ranks at once (default: all, within the account quota or the cores)', positiveInt)
    .option('--threads <t>', 'local: threads per instance (default: cores / concurrency)', positiveInt)
    .option('--batch-size <b>', 'samples per model call (default 256; 512 on gpu)', positiveInt)
    .option('--per-sample-ms <t>', 'inference time per sample on one instance of the chosen size, overriding the profile', positiveNumber)
    .option('--instance <type>', 'gpu, ec2: instance type from the price catalog (default g5.xlarge, c7i.4xlarge)')
    .option('--instances <k>', 'gpu, ec2: instances in parallel, each with a share of the partitions (default 1)', positiveInt)
    .option('--json', 'print the estimate as JSON')
    .addHelpText(
      'after',
      `
Data gravity: a data set on this machine (--data DIR, or --data-at local) planned onto lambda, gpu or ec2
is uploaded first at --uplink-mbps; one in S3 run locally is read at --downlink-mbps and pays S3's
transfer out. --data-gb and --samples describe a data set already in S3 unless --data-at local.

Examples:
  cai estimate --platform lambda --data-gb 12.6 --partition-mb 50 --memory-mb 10240
  cai estimate --platform local --data ./sdss --json
  cai estimate --platform gpu --data-gb 100 --instance g6.xlarge --instances 4

Exit codes: 2 bad flags, or a configuration a documented limit rules out (the estimate is still printed);
3 an unreadable manifest, profile or price catalog.`,
    )
    .action(
      action(async (flags: EstimateFlags) => {
        const w = await readWorkload(flags);
        const { env } = await readEnv(flags);
        const e = estimateOne(flags, w, env);
        emit(flags, { ...estimateJson(e), prediction: predictionOf(e, env) }, () => formatEstimate(e, w));
        if (!e.feasible) throw new CaiError(`this configuration cannot run: ${e.infeasible.join('; ')}`, ExitCode.usage);
      }),
    );
}

/** The settings the flags ask for, with the platform's defaults, estimated. */
export function estimateOne(f: EstimateFlags, w: Workload, env: PlanEnv): Estimate {
  const model = PLATFORMS[f.platform];
  const partitionMB = f.partitionMb ?? (f.data !== undefined ? (w.partitionSamples * w.bytesPerSample) / 1e6 : DEFAULT_PARTITION_MB);
  const partitions = partitionsOf(w, w.partitionSamples);
  let settings: Settings;
  if (f.platform === 'lambda') {
    const memoryMB = f.memoryMb ?? 10_240;
    const worldSize = f.worldSize ?? partitionsOf(w, samplesPerPartition(w, partitionMB));
    settings = { memoryMB, partitionMB: Number(partitionMB.toPrecision(6)), worldSize, concurrency: f.concurrency ?? Math.min(worldSize, env.accountConcurrency), batchSize: f.batchSize ?? 256 };
  } else if (f.platform === 'local') {
    const worldSize = f.worldSize ?? Math.min(partitions, env.localCores);
    const concurrency = Math.min(f.concurrency ?? Math.min(worldSize, env.localCores), worldSize);
    settings = { worldSize, concurrency, threads: f.threads ?? Math.max(1, Math.floor(env.localCores / concurrency)), batchSize: f.batchSize ?? 256 };
  } else {
    settings = { instance: f.instance ?? (f.platform === 'gpu' ? 'g5.xlarge' : 'c7i.4xlarge'), instances: f.instances ?? 1, batchSize: f.batchSize ?? (f.platform === 'gpu' ? 512 : 256) };
  }
  const unused = unusedFlags(f);
  if (unused.length) throw new UsageError(`${unused.join(', ')} ${unused.length === 1 ? 'does' : 'do'} not apply to --platform ${f.platform}`);
  return model.estimate(w, settings, env);
}

function unusedFlags(f: EstimateFlags): string[] {
  const applies: Record<PlatformName, string[]> = {
    lambda: ['memoryMb', 'worldSize', 'concurrency'],
    local: ['worldSize', 'concurrency', 'threads'],
    gpu: ['instance', 'instances'],
    ec2: ['instance', 'instances'],
  };
  const names: Record<string, string> = { memoryMb: '--memory-mb', worldSize: '--world-size', concurrency: '--concurrency', threads: '--threads', instance: '--instance', instances: '--instances' };
  return Object.keys(names).filter((k) => (f as unknown as Record<string, unknown>)[k] !== undefined && !applies[f.platform].includes(k)).map((k) => names[k]);
}

/** The JSON keys scripts rely on: platform, wall_s, cost_usd, invocations, waves, and the cost arithmetic. */
export function estimateJson(e: Estimate): Record<string, unknown> {
  return {
    platform: e.platform,
    label: e.label,
    settings: e.settings,
    wall_s: e.wall_s,
    cost_usd: e.cost_usd,
    invocations: e.invocations,
    waves: e.waves,
    wall_parts: e.wallParts,
    cost: { items: e.cost.items, arithmetic: e.cost.arithmetic, prices: e.cost.pricesSource },
    feasible: e.feasible,
    infeasible: e.infeasible,
    notes: e.notes,
    modelled: true,
  };
}

