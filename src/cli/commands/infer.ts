// `cai infer`: one inference job on this machine. Flags come from cli/flags, their checks from the
// library (inference/options.ts), the text from cli/render.
import type { Command } from 'commander';
import type { InferReport } from '../../inference/infer-job.js';
import { checkInferOptions } from '../../inference/options.js';
import { batchSizeOption, deviceOption, gpuOptions, readAheadOption, threadsOption, verifyOption, type InferFlags as InferenceFlags } from '../flags/infer-flags.js';
import { Progress, action, emit } from '../output.js';
import { checkOutputDir } from '../parse.js';
import { inferProgressLine, renderInferReport } from '../render/infer.js';

interface InferFlags extends InferenceFlags {
  data: string;
  model?: string;
  out: string;
  inputNames: string;
  outputName: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('infer')
    .description('predict redshifts for every sample of a data set; writes DIR/predictions.csv and DIR/metrics.json')
    .requiredOption('--data <manifest>', 'data set directory or its manifest.json')
    .option('--model <file.onnx>', 'ONNX model (default: the built-in AstroMAE model)')
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .addOption(batchSizeOption())
    .addOption(threadsOption())
    .addOption(deviceOption(true))
    .addOption(gpuOptions()[0]!)
    .addOption(gpuOptions()[1]!)
    .option('--input-names <image,magnitude>', 'names of the model inputs', 'image,magnitude')
    .option('--output-name <name>', 'name of the model output', 'redshift')
    .addOption(readAheadOption('partitions fetched and decoded ahead of the model'))
    .addOption(verifyOption('partition check: sha256 (every byte) or size'))
    .option('--json', 'print the metrics JSON instead of a summary')
    .addHelpText(
      'after',
      `
Examples:
  cai infer --data ./sdss --model astromae.onnx --out ./results
  cai infer --data ./sdss/manifest.json --model m.onnx --out r --batch-size 512 --threads 8 --json
  cai infer --data ./sdss --out r --device webgpu --gpus all      # every hardware GPU (docs/gpu.md)

Exit codes: 3 bad data (corrupt, truncated, checksum, shape, NaN), 4 missing or incompatible model,
7 --device cuda or webgpu where that provider or a GPU adapter is not available.`,
    )
    .action(
      action(async (flags: InferFlags) => {
        const checked = checkInferOptions(flags);
        await checkOutputDir(flags.out);
        const model = flags.model ?? (await builtinModelPath());

        // Loaded on use so that other commands start without onnxruntime.
        const { runInferJob } = await import('../../inference/infer-job.js');
        const progress = new Progress(flags);
        const started = performance.now();
        let report: InferReport;
        try {
          report = await runInferJob({
            data: flags.data,
            model,
            out: flags.out,
            batchSize: flags.batchSize,
            threads: checked.threads,
            device: checked.device,
            gpus: checked.gpus,
            sessionsPerGpu: checked.sessionsPerGpu,
            inputNames: checked.inputNames,
            outputName: flags.outputName,
            readAhead: checked.readAhead,
            verify: checked.verify,
            onProgress: (p) => progress.update(inferProgressLine(p, performance.now() - started)),
          });
        } finally {
          progress.done();
        }
        emit(flags, report, () => renderInferReport(report));
      }),
    );
}

async function builtinModelPath(): Promise<string> {
  const { ensureBuiltinModel } = await import('../../model/builtin.js');
  return ensureBuiltinModel();
}
