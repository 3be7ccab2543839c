// `cai run` and `cai demo`: the state machine on this machine, over local worker processes. The run
// flags are shared with `cai aws run` (cli/flags/run-flags.ts), the checks are the library's, and the
// summary table is cli/render/run.ts.
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import type { RunConfig, Summary } from '../../workflow/contracts.js';
import type { RetryPolicy } from '../../workflow/definition.js';
import { DEFAULT_FMI_TIMEOUT_S } from '../../workflow/run-config.js';
import { DEFAULT_LAMBDA_CONFIG } from '../../compute/lambda/config.js';
import { OBJECTIVES } from '../../planner/pick.js';
import { addRunOptions, runRequestFields } from '../flags/run-flags.js';
import { deviceOption, gpuOptions } from '../flags/infer-flags.js';
import { Progress, action, note, parseIntOption } from '../output.js';
import { nonNegativeNumber, positiveNumber } from '../parse.js';
import { progressLine } from '../render/run.js';
import { finishRun } from '../finish-run.js';
import { stopOnSignals } from '../signals.js';
import { AUTO_PLATFORMS_HELP, checkNotAuto, type AutoRunFlags } from './run-auto.js';

interface RunFlags extends AutoRunFlags {
  out: string;
  retries: number;
  retryIntervalS: number;
  s3Endpoint?: string;
  aggregation: string;
  fmiChannel?: string;
  fmiHint?: string;
  fmiTimeoutS?: number;
  redisUrl?: string;
  device: string;
  gpus: string;
  sessionsPerGpu?: number;
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
  const run = program
    .command('run')
    .description('run inference as a workflow: Initialize -> one function instance per rank (Map) -> Summarize -> Report, on local worker processes');
  addRunOptions(run, 'local', ['data', 'model', 'out', 'worldSize', 'concurrency', 'batchSize', 'threads', 'memoryMb', 'timeoutS', 'runId', 'toleratedFailurePercent'])
    .option('--retries <n>', 'retries of a rank after a crash or platform error (not after data or model errors), 0 to 10', parseIntOption('retries'), 2)
    .option('--retry-interval-s <s>', 'wait before the first retry; doubles each time (1 to 3600)', parseIntOption('retry-interval-s'), 1);
  addAutoOptions(run);
  addRunOptions(run, 'local', ['readAhead', 'report'])
    .addOption(deviceOption(true))
    .addOption(gpuOptions()[0]!)
    .addOption(gpuOptions()[1]!)
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
  cai run --data ./sdss --out ./out --world-size 4 --device webgpu --gpus all --batch-size 1024   # docs/gpu.md
  cai run --auto --data ./sdss --out ./out --deadline 600
  cai run --auto --data s3://bucket/sdss --out s3://bucket/cai --state-machine-arn "$CAI_STATE_MACHINE_ARN" --budget 0.5

--auto plans the run as "cai plan" does (the profile "cai calibrate" wrote, else the built-in one) and runs
the pick: here when it is local; on the deployed state machine when it is Lambda and --state-machine-arn
and an s3:// --out are given (repartitioning the data set into <out>/data/ when the pick needs another
partition size; Lambda is then planned at the deployed memory, --memory-mb or ${DEFAULT_LAMBDA_CONFIG.rankMemoryMb}); otherwise it
prints the exact commands and exits 0. A run it starts records the prediction in summary.json.

Writes under <out>/results/<run-id>/: plan.json, rank-NNNNN.json and rank-NNNNN.predictions.csv per rank,
predictions.csv (all ranks), summary.json, report/report.html.

One coordinator at a time: results/<run-id>/run.lock names it (pid, host, since); a second "cai run" of the
same run id is refused while it runs, and takes over once that process is gone. SIGINT or SIGTERM stops the
worker processes and leaves the run to be resumed by the same command.

Exit codes: 0 complete, 5 some ranks failed (partial results written), 2 bad flags, 3 bad data (also: the
accounting failed, e.g. duplicate object ids), 4 missing or incompatible model, 6 --auto: nothing meets
--deadline or --budget, 7 S3 endpoint unreachable, results location full or read-only, the run is in use
by another coordinator, or --device cuda or webgpu where that provider or a GPU adapter is not available,
130/143 stopped by SIGINT/SIGTERM (resumable).`,
    )
    .action(
      action(async (flags: RunFlags, cmd: Command) => {
        if (flags.s3Endpoint) process.env.AWS_ENDPOINT_URL_S3 = flags.s3Endpoint;
        const { makeRetryPolicy, makeRunConfig } = await import('../../workflow/run-config.js');
        const retry = makeRetryPolicy(flags);
        if (flags.auto) {
          const { runAuto } = await import('./run-auto.js');
          const summary = await runAuto(flags, cmd, (run) => execute(run, flags, retry));
          if (summary) finishRun(flags, summary);
          return;
        }
        checkNotAuto(flags, cmd);
        // The aggregation flags are checked before the (possibly slow) built-in model is prepared.
        const { checkAggregationRequest } = await import('../../workflow/aggregation/request.js');
        const aggregation = checkAggregationRequest(flags);
        const model = flags.model ?? (await (await import('../../model/builtin.js')).ensureBuiltinModel());
        const device = { device: flags.device, gpus: flags.gpus, ...(flags.sessionsPerGpu !== undefined ? { sessionsPerGpu: flags.sessionsPerGpu } : {}) };
        const run = makeRunConfig({ ...aggregation, ...runRequestFields(flags), ...device, data: flags.data, model, out: flags.out, worldSize: flags.worldSize });
        const redisUrl = flags.redisUrl ?? process.env.CAI_REDIS_URL;
        finishRun(flags, await execute(run, flags, retry, redisUrl));
      }),
    );
}

/** The planner's flags of `cai run --auto`. */
function addAutoOptions(run: Command): Command {
  return run
    .option('--auto', 'plan the run (cai plan) and run the pick: here, on a deployed state machine, or print the commands that run it')
    .option('--deadline <s>', '--auto: longest acceptable wall time, seconds', positiveNumber)
    .option('--budget <usd>', '--auto: most the run may cost, USD', nonNegativeNumber)
    .addOption(new Option('--objective <o>', '--auto: time (fastest), cost (cheapest) or balanced (least time x cost)').choices(OBJECTIVES).default('balanced'))
    .option('--platforms <list>', `--auto: ${AUTO_PLATFORMS_HELP}`)
    .option('--profile <file>', '--auto: a profile written by `cai calibrate` (repeatable; default: build/profiles/ or $CAI_PROFILE_DIR, else the built-in one)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--state-machine-arn <arn>', '--auto: a deployed stack\'s StateMachineArn, so that a Lambda pick runs there (default: $CAI_STATE_MACHINE_ARN)', process.env.CAI_STATE_MACHINE_ARN)
    .option('--dry-run', '--auto: plan and print the commands, start nothing');
}

function registerDemo(program: Command): void {
  const demo = program.command('demo').description('synthesize a labelled data set (~250 MB), build the calibrated model if missing, and run it over several ranks');
  demo.option('--out <dir>', 'where the data set and results go', './cai-demo');
  demo.option('--samples <N>', 'galaxies to synthesize (20,500 bytes of model input each)', parseIntOption('samples'), 12_000);
  demo.option('--world-size <W>', 'ranks', parseIntOption('world-size'), 4);
  demo.option('--concurrency <C>', 'ranks at once (default: min(W, cores))', parseIntOption('concurrency'));
  demo.option('--seed <n>', 'seed of the synthetic galaxies', parseIntOption('seed'), 42);
  demo.option('--json', 'print summary.json instead of the table');
  demo.addHelpText(
    'after',
    `
Examples:
  cai demo
  cai demo --out /tmp/demo --samples 3000 --world-size 2 --json

The data set is kept in <out>/data and reused while --samples and --seed stay the same; the model is cached
in build/models/. Each demo run gets a new run id under <out>/results/.`,
  );
  demo.action(
    action(async (flags: DemoFlags) => {
      if (flags.samples < 1) throw new UsageError(`--samples must be at least 1, got ${flags.samples}`);
      const progress = new Progress(flags);
      const out = resolve(flags.out);
      const { ensureDemoDataset } = await import('../../data/demo-dataset.js');
      note(flags, `cai demo: data set in ${out}/data`);
      let data;
      try {
        data = await ensureDemoDataset({ dir: `${out}/data`, samples: flags.samples, seed: flags.seed, onProgress: (d, t) => progress.count('synthesizing galaxies', d, t) });
      } finally {
        progress.done();
      }
      note(flags, `  ${data.reused ? 'kept' : 'synthesized'} ${data.samples.toLocaleString('en-US')} samples in ${data.partitions} partition${data.partitions === 1 ? '' : 's'} (${(data.bytes / 1e6).toFixed(0)} MB)`);
      const { ensureBuiltinModel, builtinModelPath } = await import('../../model/builtin.js');
      note(flags, `  model: ${builtinModelPath()} (built and calibrated once if missing)`);
      let model: string;
      try {
        model = await ensureBuiltinModel(undefined, { onProgress: (stage, detail) => progress.update(`building the calibrated model: ${stage} ${detail}`) });
      } finally {
        progress.done();
      }
      const { makeRunConfig, newRunId } = await import('../../workflow/run-config.js');
      const run = makeRunConfig({ data: data.manifestPath, model, out, worldSize: flags.worldSize, concurrency: flags.concurrency, runId: newRunId('demo') });
      note(flags, `  run ${run.runId}: ${run.worldSize} ranks, ${run.concurrency} at a time, ${run.threads} thread(s) each`);
      finishRun(flags, await execute(run, flags));
    }),
  );
}

/** Run the state machine on this machine, with the progress line on stderr; a signal stops it, resumable. */
async function execute(run: RunConfig, flags: { json?: boolean }, retry?: RetryPolicy, redisUrl?: string): Promise<Summary> {
  const { runLocalWorkflow } = await import('../../workflow/local-engine.js');
  const progress = new Progress(flags);
  const stop = stopOnSignals((signal) => `stopped by ${signal}: run ${run.runId} can be resumed by the same command (--run-id ${run.runId})`);
  try {
    const res = await runLocalWorkflow({ run, retry, redisUrl, signal: stop.signal, onProgress: (p) => progress.update(progressLine(p), p.phase === 'done') });
    return res.summary;
  } finally {
    stop.dispose();
    progress.done();
  }
}
