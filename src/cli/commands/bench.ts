import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { UsageError } from '../../errors.js';
import type { DeviceChoice } from '../../inference/session.js';
import { Progress, action, emit, parseIntOption } from '../output.js';
import { registerWorkflowBench } from './bench-workflow.js';

export function register(program: Command): void {
  const bench = program.command('bench').description('benchmarks that print figures and ratios against a baseline measured in the same run');
  registerInferBench(bench);
  registerWorkflowBench(bench);
}

interface InferBenchFlags {
  model?: string;
  samples: number;
  batchSize: number;
  threads?: number;
  device: string;
  partitionSamples?: number;
  repeats: number;
  readAhead: number;
  verify: string;
  json?: boolean;
}

function registerInferBench(bench: Command): void {
  bench
    .command('infer')
    .description('end-to-end inference pipeline vs onnxruntime alone, same model/batch/threads/samples; prints samples/s and the ratio (target >= 0.9)')
    .option('--model <file.onnx>', 'ONNX model (default: the built-in AstroMAE model)')
    .option('--samples <n>', 'samples to predict in each measurement', parseIntOption('samples'), 2048)
    .option('--batch-size <n>', 'samples per model call', parseIntOption('batch-size'), 256)
    .option('--threads <n>', `intra-op threads (default: all ${availableParallelism()} cores)`, parseIntOption('threads'))
    .option('--device <device>', 'cpu, cuda, or auto', 'cpu')
    .option('--partition-samples <n>', 'samples per partition of the synthesized data set (default: 2 x batch size)', parseIntOption('partition-samples'))
    .option('--repeats <n>', 'repeat each measurement; the best run counts', parseIntOption('repeats'), 2)
    .option('--read-ahead <n>', 'partitions loaded ahead of the model', parseIntOption('read-ahead'), 1)
    .option('--verify <how>', 'partition check: sha256 or size', 'sha256')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  cai bench infer --samples 4096 --batch-size 256 --threads 8\n')
    .action(
      action(async (flags: InferBenchFlags) => {
        const device = flags.device as DeviceChoice;
        if (!['cpu', 'cuda', 'auto'].includes(device)) throw new UsageError(`--device must be cpu, cuda or auto, got "${flags.device}"`);
        if (flags.verify !== 'sha256' && flags.verify !== 'size') throw new UsageError(`--verify must be sha256 or size, got "${flags.verify}"`);
        if (flags.partitionSamples !== undefined && flags.partitionSamples < 1) throw new UsageError(`--partition-samples must be at least 1`);
        if (flags.readAhead < 0) throw new UsageError(`--read-ahead must be 0 or more`);
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
            partitionSamples: flags.partitionSamples,
            repeats: flags.repeats,
            readAhead: flags.readAhead,
            verify: flags.verify,
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
