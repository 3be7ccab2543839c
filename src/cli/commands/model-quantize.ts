// `cai model quantize IN.onnx OUT.onnx`: int8 for a user's own export.
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { QuantizeResult } from '../../model/quantize/quantize-file.js';
import { Progress, action, emit } from '../output.js';
import { checkOutputFile, positiveInt } from '../parse.js';
import { quantizeSummary } from '../render/model.js';

interface QuantizeFlags {
  form?: string;
  calibrate?: string;
  calibrationSamples: number;
  ops: string;
  keepFloat?: string;
  weightBits: string;
  threads?: number;
  json?: boolean;
}

export function registerModelQuantize(model: Command): void {
  model
    .command('quantize')
    .description('int8 post-training quantization of an ONNX model: MatMul/Gemm/Conv with initializer weights, per-channel int8 weights')
    .argument('<in>', 'ONNX model (float32 weights as initializers; external data inside its directory is read)')
    .argument('<out>', 'output ONNX file (written atomically, all data inline)')
    .option('--form <name>', 'operator form: dynamic, static, qdq, dynamic-standard (default: static with --calibrate, else dynamic)')
    .option('--calibrate <manifest>', 'data set (directory or manifest.json) whose samples fix static activation ranges')
    .option('--calibration-samples <n>', 'samples read from --calibrate', positiveInt, 4096)
    .option('--ops <list>', 'operator types to quantize', 'MatMul,Gemm,Conv')
    .option('--keep-float <names>', 'comma-separated node names kept in float32 (a trailing * matches a prefix)')
    .option('--weight-bits <n>', '7 (|q| <= 63, no 16-bit saturation on AVX2 without VNNI) or 8', '7')
    .option('--threads <n>', 'onnxruntime threads for calibration (default: every core)', positiveInt)
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Weights: symmetric int8, one scale per output channel. Activations: quantized per call (dynamic form,
no data needed), or with fixed parameters from the min/max over a calibration set (--calibrate; the model
must take the image and magnitude inputs a data set holds). Layers listed in --keep-float, and layers the
rewrite cannot express (a computed weight, both inputs activations, Gemm with transA), stay in float32;
the report and the model's cai.quantization metadata list them with the reason.

Examples:
  cai model quantize model.onnx model-int8.onnx
  cai model quantize astromae.onnx astromae-int8.onnx --calibrate ./synth --keep-float 'head.*,mag_mlp.*'

Exit codes: 2 bad flags; 3 an unusable calibration data set; 4 a model that cannot be read or quantized
(one line: the file and the problem).`,
    )
    .action(
      action(async (input: string, output: string, flags: QuantizeFlags) => {
        const bits = Number(flags.weightBits);
        if (bits !== 7 && bits !== 8) throw new UsageError(`--weight-bits must be 7 or 8, got "${flags.weightBits}"`);
        const ops = flags.ops.split(',').map((s) => s.trim()).filter(Boolean);
        const { QUANTIZABLE_OPS } = await import('../../model/quantize/quantize.js');
        const { QUANT_FORMS } = await import('../../model/quantize/forms.js');
        for (const op of ops) if (!QUANTIZABLE_OPS.includes(op)) throw new UsageError(`--ops: ${op} is not one of ${QUANTIZABLE_OPS.join(', ')}`);
        if (flags.form && !QUANT_FORMS.has(flags.form)) throw new UsageError(`--form must be one of ${[...QUANT_FORMS.keys()].join(', ')}, got "${flags.form}"`);
        if (flags.form && QUANT_FORMS.get(flags.form)!.needsRanges !== Boolean(flags.calibrate))
          throw new UsageError(flags.calibrate ? `--form ${flags.form} quantizes activations per call and takes no --calibrate` : `--form ${flags.form} needs --calibrate`);
        await checkOutputFile(output);
        const progress = new Progress(flags);
        let result: QuantizeResult;
        const started = performance.now();
        try {
          const { quantizeOnnxFile } = await import('../../model/quantize/quantize-file.js');
          let calibration;
          if (flags.calibrate) {
            progress.update(`reading calibration samples from ${flags.calibrate}`, true);
            const { readCalibrationSet } = await import('../../model/quantize/calibration-set.js');
            calibration = await readCalibrationSet(flags.calibrate, flags.calibrationSamples);
          }
          result = await quantizeOnnxFile(input, output, {
            form: flags.form,
            ops,
            keepFloat: flags.keepFloat?.split(',').map((s) => s.trim()).filter(Boolean),
            weightBits: bits,
            calibration,
            calibrationSource: flags.calibrate ? `${flags.calibrate}, first ${calibration!.count} samples` : undefined,
            threads: flags.threads,
            onProgress: (stage, detail) => progress.update(`${stage}: ${detail}`),
          });
        } finally {
          progress.done();
        }
        const seconds = (performance.now() - started) / 1000;
        emit(flags, { in: input, out: output, bytes: result.bytes.byteLength, seconds, ...result.report }, () =>
          [`wrote ${output} (${(result.bytes.byteLength / 1e6).toFixed(1)} MB) in ${seconds.toFixed(1)} s`, ...quantizeSummary(result.report)].join('\n'),
        );
      }),
    );
}
