// The flags of a run request, declared once for every command that takes one: `cai run` (worker processes
// on this machine) and `cai aws run` (the deployed Lambda functions). A flag's help text and default depend
// on the platform the run targets; its name, value and meaning do not, and neither does the way the flags
// become the library's run request (`runRequestFields`), so the two commands cannot drift apart.
import { Option, type Command } from 'commander';
import { availableParallelism } from 'node:os';
import { computeBackend } from '../../compute/index.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_TOLERATED_FAILURE_PERCENTAGE, type RunRequest } from '../../workflow/run-config.js';
import { parseIntOption } from '../output.js';

/** Where the ranks of a run execute: `local` worker processes, or `lambda` functions. */
export type RunPlatform = 'local' | 'lambda';

/** The run-request flags as commander hands them to an action. */
export interface RunRequestFlags {
  data: string;
  model?: string;
  out?: string;
  worldSize?: number;
  concurrency?: number;
  batchSize: number;
  threads?: number;
  memoryMb: number;
  timeoutS: number;
  runId?: string;
  toleratedFailurePercent: number;
  readAhead: number;
  report: boolean;
  json?: boolean;
}

export type RunFlag = Exclude<keyof RunRequestFlags, 'json'>;

/** The compute backend a platform's ranks run on, for its limits and defaults. */
const limitsOf = (on: RunPlatform) => computeBackend(on === 'local' ? 'local-processes' : 'aws-lambda').limits;
const int = (option: Option, name: string): Option => option.argParser(parseIntOption(name));
const mandatory = (option: Option, yes: boolean): Option => option.makeOptionMandatory(yes);

/** Each flag's option for a platform; `local` first in every ternary. */
const RUN_OPTIONS: Record<RunFlag, (on: RunPlatform) => Option> = {
  data: (on) =>
    mandatory(
      on === 'local'
        ? new Option('--data <manifest>', 'data set: a directory, its manifest.json, or s3://bucket/prefix[/manifest.json]')
        : new Option('--data <s3-uri>', 'data set: s3://bucket/prefix[/manifest.json]'),
      true,
    ),
  model: (on) =>
    on === 'local'
      ? new Option('--model <file.onnx>', 'ONNX model (default: the built-in calibrated AstroMAE model)')
      : new Option('--model <s3-uri>', "ONNX model in S3, or an absolute path in the image (default: the image's built-in calibrated model)"),
  out: (on) =>
    on === 'local'
      ? mandatory(new Option('--out <dir>', 'results root, a directory or s3://bucket/prefix; results go to results/<run-id>/ under it'), true)
      : new Option('--out <s3-uri>', 'results root; results go to results/<run-id>/ under it (default: the data bucket)'),
  worldSize: (on) =>
    mandatory(
      int(new Option('--world-size <W>', on === 'local' ? `ranks the data set is split over (default: ${availableParallelism()}, the cores)` : 'ranks (one rank function invocation each)'), 'world-size'),
      on === 'lambda',
    ),
  concurrency: (on) =>
    int(new Option('--concurrency <C>', on === 'local' ? 'ranks running at once, one worker process each (default: min(W, cores))' : 'ranks running at once (Map MaxConcurrency; default min(W, 1000))'), 'concurrency'),
  batchSize: () => int(new Option('--batch-size <B>', 'samples per model call'), 'batch-size').default(DEFAULT_BATCH_SIZE),
  threads: (on) => int(new Option('--threads <T>', on === 'local' ? 'model threads per instance (default: cores / C, at least 1)' : 'model threads per rank (default: the vCPUs of --memory-mb)'), 'threads'),
  memoryMb: (on) =>
    int(new Option('--memory-mb <M>', on === 'local' ? 'memory limit per instance, MB (like a Lambda memory size)' : 'memory of the deployed rank function, MB (used for the cost figures)'), 'memory-mb').default(
      limitsOf(on).memoryMb.default,
    ),
  timeoutS: (on) =>
    int(new Option('--timeout-s <S>', on === 'local' ? 'time limit per rank invocation, seconds' : 'timeout of the deployed rank function, seconds'), 'timeout-s').default(
      limitsOf(on).timeoutS.default,
    ),
  runId: (on) =>
    new Option('--run-id <id>', `name of the run; rerunning an id resumes it${on === 'local' ? ', keeping ranks that finished' : ''} (default: run-<time>-<random>)`),
  toleratedFailurePercent: (on) =>
    int(new Option('--tolerated-failure-percent <P>', `failed ranks (percent of W) that still make the run "partial"${on === 'local' ? ' rather than "failed"' : ''}`), 'tolerated-failure-percent').default(
      DEFAULT_TOLERATED_FAILURE_PERCENTAGE,
    ),
  readAhead: (on) => int(new Option('--read-ahead <n>', `partitions fetched ahead of the model in each ${on === 'local' ? 'instance' : 'rank'}`), 'read-ahead').default(1),
  report: () => new Option('--no-report', 'skip the HTML/PNG report'),
};

/** Add the run-request flags `flags`, in that order, as they read for `platform`. */
export function addRunOptions(command: Command, platform: RunPlatform, flags: readonly RunFlag[]): Command {
  for (const flag of flags) command.addOption(RUN_OPTIONS[flag](platform));
  return command;
}

/** The request fields both platforms take the same way; data, model, out and world size are each command's. */
export function runRequestFields(f: RunRequestFlags): Pick<RunRequest, 'concurrency' | 'batchSize' | 'threads' | 'memoryMb' | 'timeoutS' | 'runId' | 'toleratedFailurePercentage' | 'readAhead' | 'report'> {
  return {
    ...(f.concurrency !== undefined ? { concurrency: f.concurrency } : {}),
    ...(f.threads !== undefined ? { threads: f.threads } : {}),
    ...(f.runId !== undefined ? { runId: f.runId } : {}),
    batchSize: f.batchSize,
    memoryMb: f.memoryMb,
    timeoutS: f.timeoutS,
    toleratedFailurePercentage: f.toleratedFailurePercent,
    readAhead: f.readAhead,
    report: f.report,
  };
}
