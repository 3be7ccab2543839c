// `cai model build|inspect|builtin`: building the AstroMAE ONNX model (from weights, seeded, or
// calibrated), describing a model file, and the cached built-in model.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ModelError, UsageError } from '../../errors.js';
import { Progress, action, emit } from '../output.js';
import { checkOutputFile, nonNegativeInt, positiveInt, positiveNumber } from '../parse.js';
import { renderBuildResult, renderModelInfo, type BuildResult } from '../render/model.js';
import type { Normalization } from '../../model/astromae.js';
import { parsePrecision, type Precision } from '../flags/precision.js';

interface BuildFlags {
  out: string;
  weights?: string;
  normalization?: string;
  seed: number;
  uncalibrated?: boolean;
  trainSamples: number;
  heldOutSamples: number;
  dataSeed: number;
  ridge: number;
  threads?: number;
  saveWeights?: string;
  precision: Precision;
  calibrate?: string;
  json?: boolean;
}

async function readNormalization(path: string): Promise<Normalization> {
  const { checkNormalization } = await import('../../model/astromae.js');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`--normalization: cannot read ${path}`);
  }
  try {
    const n = JSON.parse(text) as Normalization;
    checkNormalization(n, path);
    return n;
  } catch (err) {
    throw new UsageError(`--normalization: ${err instanceof SyntaxError ? `${path}: not valid JSON` : (err as Error).message}`);
  }
}

/** The `model` group; main.ts adds `model quantize` (commands/model-quantize.ts) to what this returns. */
export function register(program: Command): Command {
  const model = program.command('model').description('build, calibrate and inspect the AstroMAE ONNX model');

  model
    .command('build')
    .description('build the AstroMAE ONNX model: calibrated on synthetic galaxies (default), seeded, or from trained weights')
    .option('--out <file>', 'output ONNX file', 'astromae.onnx')
    .option('--weights <file>', 'trained weights (safetensors, PyTorch state_dict names; see docs/model.md)')
    .option('--normalization <file>', 'JSON input normalization for --weights (default: from the weights file metadata, else none)')
    .option('--seed <n>', 'seed of the random initial weights', nonNegativeInt, 0)
    .option('--uncalibrated', 'seeded weights only: skip calibration')
    .option('--train-samples <n>', 'synthetic training galaxies for calibration', positiveInt, 4096)
    .option('--held-out-samples <n>', 'synthetic held-out galaxies for the reported metrics', positiveInt, 2048)
    .option('--data-seed <n>', 'seed of the synthetic training set (held-out uses the next seed)', nonNegativeInt, 1000)
    .option('--ridge <x>', 'ridge penalty, relative to the mean diagonal of the Gram matrix', positiveNumber, 0.01)
    .option('--threads <n>', 'onnxruntime threads (default: every core)', positiveInt)
    .option('--save-weights <file>', 'also write the weights used (calibrated ones included) as safetensors')
    .option('--precision <p>', 'fp32, or int8: the fp32 model quantized (static, per-channel; see docs/model.md)', parsePrecision, 'fp32')
    .option('--calibrate <manifest>', 'with --precision int8: activation ranges from this data set (default: 4096 synthetic galaxies)')
    .option('--json', 'print the build report as JSON')
    .addHelpText(
      'after',
      `
Without --weights the model gets seeded PyTorch-style initial weights and is then calibrated on synthetic
galaxies (input normalization, BatchNorm statistics, ridge-fitted head); held-out accuracy is printed and
stored in the model's metadata. With --weights the given weights are used as they are.

Examples:
  cai model build --out build/models/astromae.onnx
  cai model build --uncalibrated --seed 7 --out random.onnx
  cai model build --weights astromae.safetensors --normalization norm.json --out trained.onnx --json
  cai model build --precision int8 --out build/models/astromae-int8.onnx

Exit codes: 2 bad flags, 4 a missing or invalid weights file (the file and tensor are named).`,
    )
    .action(
      action(async (flags: BuildFlags) => {
        const started = performance.now();
        if (flags.weights && flags.uncalibrated) throw new UsageError('--uncalibrated applies to seeded weights; --weights are used as given');
        if (flags.normalization && !flags.weights) throw new UsageError('--normalization applies to --weights; seeded models get fitted or no normalization');
        if (flags.calibrate && flags.precision !== 'int8') throw new UsageError('--calibrate applies to --precision int8');
        await checkOutputFile(flags.out);
        if (flags.saveWeights) await checkOutputFile(flags.saveWeights, '--save-weights');
        const { buildAstroMAEOnnx, writeModel } = await import('../../model/astromae.js');
        const { inspectModelBytes } = await import('../../model/inspect.js');
        const { readWeightsFile, encodeWeights, NORMALIZATION_METADATA_KEY } = await import('../../model/weights-file.js');
        const progress = new Progress(flags);
        let bytes: Uint8Array;
        let result: Omit<BuildResult, 'bytes' | 'parameters' | 'flopsPerSample' | 'seconds' | 'precision'>;
        let weightsToSave: Map<string, Float32Array> | undefined;
        let normalizationToSave: Normalization | undefined;
        try {
          if (flags.weights) {
            progress.update(`reading ${flags.weights}`, true);
            const file = await readWeightsFile(flags.weights);
            const normalization = flags.normalization ? await readNormalization(flags.normalization) : file.normalization;
            bytes = buildAstroMAEOnnx({ weights: file.weights, normalization, metadata: { weightsFile: flags.weights.split('/').pop()! } });
            result = { out: flags.out, source: 'weights', weights: flags.weights };
            weightsToSave = file.weights;
            normalizationToSave = normalization;
          } else if (flags.uncalibrated) {
            progress.update('building seeded model', true);
            const { seededWeights } = await import('../../model/params.js');
            weightsToSave = seededWeights(flags.seed);
            bytes = buildAstroMAEOnnx({ weights: weightsToSave, metadata: { weights: 'seeded', seed: String(flags.seed) } });
            result = { out: flags.out, source: 'seeded', seed: flags.seed };
          } else {
            const { calibrateAstroMAE } = await import('../../model/calibrate.js');
            const model = await calibrateAstroMAE({
              seed: flags.seed,
              trainSamples: flags.trainSamples,
              heldOutSamples: flags.heldOutSamples,
              dataSeed: flags.dataSeed,
              ridge: flags.ridge,
              threads: flags.threads,
              onProgress: (stage, detail) => progress.update(`${stage}: ${detail}`),
            });
            bytes = model.bytes;
            result = { out: flags.out, source: 'calibrated', seed: flags.seed, calibration: model.report };
            weightsToSave = model.weights;
            normalizationToSave = model.normalization;
          }
          if (flags.precision === 'int8') {
            const { quantizeAstroMAE } = await import('../../model/quantize/astromae-int8.js');
            let calibration;
            if (flags.calibrate) {
              const { readCalibrationSet } = await import('../../model/quantize/calibration-set.js');
              calibration = await readCalibrationSet(flags.calibrate);
            }
            const q = await quantizeAstroMAE(bytes, {
              calibration,
              calibrationSource: flags.calibrate ? `${flags.calibrate}, first ${calibration!.count} samples` : undefined,
              threads: flags.threads,
              onProgress: (stage, detail) => progress.update(`int8 ${stage}: ${detail}`),
            });
            bytes = q.bytes;
            result = { ...result, quantization: q.report };
          }
          progress.update(`writing ${flags.out}`, true);
          await writeModel(flags.out, bytes);
          if (flags.saveWeights) {
            const meta: Record<string, string> = normalizationToSave ? { [NORMALIZATION_METADATA_KEY]: JSON.stringify(normalizationToSave) } : {};
            await writeModel(flags.saveWeights, encodeWeights(weightsToSave, meta));
          }
        } finally {
          progress.done();
        }
        const info = inspectModelBytes(bytes, flags.out);
        const report: BuildResult = {
          ...result,
          precision: flags.precision,
          bytes: bytes.byteLength,
          parameters: info.parameters,
          flopsPerSample: info.flopsPerSample,
          ...(flags.saveWeights ? { savedWeights: flags.saveWeights } : {}),
          seconds: (performance.now() - started) / 1000,
        };
        emit(flags, report, () => renderBuildResult(report));
      }),
    );

  model
    .command('inspect')
    .description('describe an ONNX model: inputs/outputs, opset, parameters, FLOPs per sample, metadata')
    .argument('<file>', 'ONNX model file')
    .option('--json', 'print the description as JSON')
    .addHelpText(
      'after',
      `
FLOPs are counted from the graph itself (shape inference with one sample): 2 per multiply-accumulate of
Conv, Gemm and MatMul. Parameters are the elements of floating-point initializers.

Examples:
  cai model inspect build/models/astromae-calibrated.onnx
  cai model inspect model.onnx --json

Exit codes: 4 a missing file or a file that is not an ONNX model.`,
    )
    .action(
      action(async (file: string, flags: { json?: boolean }) => {
        const { inspectModelFile } = await import('../../model/inspect.js');
        const info = await inspectModelFile(file);
        emit(flags, info, () => renderModelInfo(info));
      }),
    );

  model
    .command('optimize')
    .description("fill the optimized-model cache for a model: onnxruntime's optimized graph for this CPU and a portable one, so sessions open without optimizing")
    .argument('[file]', 'ONNX model file (default: the built-in model)')
    .option('--cache-dir <dir>', 'the cache root (default: $CAI_CACHE_DIR, else build/cache under the working directory); entries go to <dir>/ort')
    .option('--json', 'print {"model", "cacheDir", "cache"} as JSON')
    .addHelpText(
      'after',
      `
Sessions fill the cache themselves on first use; this does it ahead, e.g. while building an image whose
cache directory is read-only at run time (deploy/aws/Dockerfile). The portable entry serves any CPU of
this architecture; the CPU's own entry only a CPU with the same instruction-set features.

Examples:
  cai model optimize
  CAI_CACHE_DIR=/opt/cai-cache cai model optimize astromae.onnx --json

Exit codes: 4 a missing file or a file that is not an ONNX model.`,
    )
    .action(
      action(async (file: string | undefined, flags: { cacheDir?: string; json?: boolean }) => {
        const { fillSessionCache } = await import('../../inference/session.js');
        const { sessionCacheDir } = await import('../../inference/session-cache.js');
        const path = file ?? (await (await import('../../model/builtin.js')).ensureBuiltinModel());
        const dir = sessionCacheDir(flags.cacheDir !== undefined ? { CAI_CACHE_DIR: flags.cacheDir } : process.env);
        const cache = dir ? await fillSessionCache(path, dir) : 'off';
        emit(flags, { model: path, cacheDir: dir ?? null, cache }, () => `${path}: ${cache === 'written' ? `optimized into ${dir}` : cache === 'unstored' ? `${dir} cannot be written; nothing stored` : 'not cached (the cache is off, or the model is too small to gain)'}`);
      }),
    );

  model
    .command('builtin')
    .description('print the path of the calibrated built-in model, building it into the cache first if needed')
    .option('--json', 'print {"path": ...} as JSON')
    .option('--rebuild', 'rebuild even if a current cached model exists')
    .addHelpText('after', '\nThe cache is build/models/astromae-calibrated.onnx under the working directory, or $CAI_BUILTIN_MODEL.\n')
    .action(
      action(async (flags: { json?: boolean; rebuild?: boolean }) => {
        const { ensureBuiltinModel, builtinModelPath } = await import('../../model/builtin.js');
        const path = builtinModelPath();
        if (flags.rebuild) {
          const { rm } = await import('node:fs/promises');
          await rm(path, { force: true });
        }
        const progress = new Progress(flags);
        try {
          await ensureBuiltinModel(path, { onProgress: (stage, detail) => progress.update(`${stage}: ${detail}`) });
        } catch (err) {
          if (err instanceof ModelError) throw err;
          throw new ModelError(path, `building the built-in model failed: ${(err as Error).message}`);
        } finally {
          progress.done();
        }
        emit(flags, { path }, () => path);
      }),
    );
  return model;
}
