// `cai bench`: the benchmark drivers of src/bench/ behind one command group, and `cai bench all`, which
// runs each of them in a fresh process.
import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { parseVerifyMode } from '../../data/verify-mode.js';
import { CaiError, ExitCode, UsageError } from '../../errors.js';
import { parseGpuCount } from '../../inference/options.js';
import { parseDeviceChoice } from '../../runtime/devices.js';
import { batchSizeOption, deviceOption, gpuOptions, readAheadOption, threadsOption, verifyOption, type InferFlags } from '../flags/infer-flags.js';
import { Progress, action, emit, parseIntOption } from '../output.js';
import { benchDoneLine, renderBenchOutcomes, type BenchOutcome } from '../render/bench.js';
import { registerSynthBench } from './bench-synth.js';
import { EXPERIMENT_IDS } from '../../bench/study/ids.js';
import { registerStudyBench } from './bench-study.js';
import { registerWorkflowBench } from './bench-workflow.js';
import { parsePrecision, type Precision } from '../flags/precision.js';
import { registerPlannerBench } from './bench-planner.js';

export function register(program: Command): void {
  const bench = program.command('bench').description('benchmarks that print figures and ratios against a baseline measured in the same run');
  registerInferBench(bench);
  registerSynthBench(bench, 'synth');
  registerWorkflowBench(bench);
  registerStudyBench(bench, EXPERIMENT_IDS);
  registerPlannerBench(bench);
  // Last, so that it sees every benchmark registered before it.
  registerAllBench(bench);
}

interface InferBenchFlags extends InferFlags {
  model?: string;
  samples: number;
  partitionSamples?: number;
  repeats: number;
  precision: Precision;
  int8Model?: string;
  accuracySamples: number;
  json?: boolean;
}

function registerInferBench(bench: Command): void {
  bench
    .command('infer')
    .description('end-to-end inference pipeline vs onnxruntime alone, same model/batch/threads/samples; prints samples/s and the ratio (target >= 0.9)')
    .option('--model <file.onnx>', 'ONNX model (default: the built-in AstroMAE model)')
    .option('--samples <n>', 'samples to predict in each measurement', parseIntOption('samples'), 2048)
    .addOption(batchSizeOption())
    .addOption(threadsOption())
    .addOption(deviceOption(false))
    .addOption(gpuOptions()[0]!)
    .addOption(gpuOptions()[1]!)
    .option('--partition-samples <n>', 'samples per partition of the synthesized data set (default: 2 x batch size)', parseIntOption('partition-samples'))
    .option('--repeats <n>', 'repeat each measurement; the best run counts', parseIntOption('repeats'), 2)
    .addOption(readAheadOption('partitions loaded ahead of the model'))
    .addOption(verifyOption('partition check: sha256 or size'))
    .option('--precision <p>', 'fp32, or int8: the int8 model through the pipeline, and against the fp32 model alone (speed-up, accuracy)', parsePrecision, 'fp32')
    .option('--int8-model <file.onnx>', 'with --precision int8: the int8 model (default: the built-in one, or --model quantized with `cai model quantize` defaults)')
    .option('--accuracy-samples <n>', 'with --precision int8: held-out galaxies both models predict', parseIntOption('accuracy-samples'), 4096)
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  cai bench infer --samples 4096 --batch-size 256 --threads 8\n  cai bench infer --device webgpu --samples 8192 --batch-size 1024   # a GPU (docs/gpu.md)\n  cai bench infer --precision int8 --samples 4096 --repeats 5\n')
    .action(
      action(async (flags: InferBenchFlags) => {
        const device = parseDeviceChoice(flags.device);
        const gpus = parseGpuCount(flags.gpus);
        const verify = parseVerifyMode(flags.verify);
        // Loaded on use: the benchmark pulls in onnxruntime and the synthesizer, other commands need neither.
        const { formatInferBench, runInferBench } = await import('../../bench/infer-bench.js');
        const progress = new Progress(flags);
        try {
          const result = await runInferBench({
            model: flags.model,
            samples: flags.samples,
            batchSize: flags.batchSize,
            threads: flags.threads,
            device,
            gpus,
            sessionsPerGpu: flags.sessionsPerGpu,
            partitionSamples: flags.partitionSamples,
            repeats: flags.repeats,
            readAhead: flags.readAhead,
            verify,
            precision: flags.precision,
            int8Model: flags.int8Model,
            accuracySamples: flags.accuracySamples,
            onStatus: (t) => progress.update(t, true),
          });
          progress.done();
          emit(flags, result, () => formatInferBench(result));
        } finally {
          progress.done();
        }
      }),
    );
}

interface AllBenchFlags {
  only?: string;
  skip?: string;
  json?: boolean;
}

function namesOption(flag: string, text: string | undefined, known: string[]): string[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((x) => x.trim()).filter(Boolean);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) throw new UsageError(`${flag}: unknown benchmark ${unknown.join(', ')} (available: ${known.join(', ')})`);
  return names;
}

/**
 * Run `cai bench <name>` in a fresh process, so that each benchmark measures without the others' warm state.
 * With `json`, its JSON result is collected and its stderr kept for the failure message; otherwise it prints
 * its own figures and progress straight to this terminal.
 */
function runChild(name: string, json: boolean): Promise<BenchOutcome> {
  const t0 = performance.now();
  // The same node flags (e.g. the TypeScript loader when running from source) and the same entry script.
  const args = [...process.execArgv, process.argv[1]!, 'bench', name, ...(json ? ['--json'] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: json ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'] });
    let out = '';
    let errTail = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (errTail = (errTail + d).slice(-4000)));
    child.on('error', (e) => reject(new CaiError(`cannot start the ${name} benchmark: ${e.message}`)));
    child.on('close', (code, signal) => {
      const seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
      const exitCode = code ?? ExitCode.internal;
      if (exitCode !== 0) {
        const lastLine = errTail.split(/\r?\n|\r/).map((l) => l.trim()).filter(Boolean).pop();
        resolve({ name, exitCode, seconds, error: signal ? `killed by ${signal}` : (lastLine ?? `exited with code ${exitCode}`) });
      } else if (!json) resolve({ name, exitCode, seconds });
      else {
        try {
          resolve({ name, exitCode, seconds, result: JSON.parse(out) });
        } catch {
          resolve({ name, exitCode: ExitCode.internal, seconds, error: 'printed no JSON result' });
        }
      }
    });
  });
}

function registerAllBench(bench: Command): void {
  bench
    .command('all')
    .description('run every benchmark in turn (not the study), each in its own process with its defaults')
    .option('--only <names>', 'comma-separated benchmarks to run (default: all)')
    .option('--skip <names>', 'comma-separated benchmarks to leave out')
    .option('--json', 'print {benchmarks: [{name, exitCode, seconds, result}]} as JSON')
    .addHelpText(
      'after',
      `
Each benchmark runs as \`cai bench <name>\` with its own defaults and prints its own figures. A failing
benchmark does not stop the others; the exit code is that of the first one that failed.

Examples:
  cai bench all
  cai bench all --only infer,synth --json
  npm run bench`,
    )
    .action(
      action(async (flags: AllBenchFlags) => {
        // The study is a command of its own: it takes minutes to a quarter of an hour and writes a page.
        const known = bench.commands.map((c) => c.name()).filter((n) => n !== 'all' && n !== 'study');
        const only = namesOption('--only', flags.only, known);
        const skip = namesOption('--skip', flags.skip, known) ?? [];
        const chosen = (only ?? known).filter((n) => !skip.includes(n));
        if (chosen.length === 0) throw new UsageError('no benchmark left to run');
        const outcomes: BenchOutcome[] = [];
        for (const [i, name] of chosen.entries()) {
          // Announced on stderr, so that stdout holds only figures (or only the JSON).
          process.stderr.write(`== [${i + 1}/${chosen.length}] cai bench ${name}\n`);
          const outcome = await runChild(name, Boolean(flags.json));
          outcomes.push(outcome);
          process.stderr.write(benchDoneLine(outcome, Boolean(flags.json)) + '\n');
        }
        emit(flags, { benchmarks: outcomes }, () => renderBenchOutcomes(outcomes));
        const failed = outcomes.find((outcome) => outcome.exitCode !== 0);
        if (failed) process.exitCode = failed.exitCode;
      }),
    );
}
