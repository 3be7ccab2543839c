import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { UsageError } from '../../errors.js';
import type { InferReport } from '../../inference/infer-job.js';
import type { DeviceChoice } from '../../inference/session.js';
import { Progress, action, emit, parseIntOption } from '../output.js';
import { checkOutputDir } from '../parse.js';

interface InferFlags {
  data: string;
  model?: string;
  out: string;
  batchSize: number;
  threads?: number;
  device: string;
  inputNames: string;
  outputName: string;
  readAhead: number;
  verify: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('infer')
    .description('predict redshifts for every sample of a data set; writes DIR/predictions.csv and DIR/metrics.json')
    .requiredOption('--data <manifest>', 'data set directory or its manifest.json')
    .option('--model <file.onnx>', 'ONNX model (default: the built-in AstroMAE model)')
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .option('--batch-size <n>', 'samples per model call', parseIntOption('batch-size'), 256)
    .option('--threads <n>', `intra-op threads (default: all ${availableParallelism()} cores)`, parseIntOption('threads'))
    .option('--device <device>', 'cpu, cuda, or auto (CUDA when available, else CPU)', 'cpu')
    .option('--input-names <image,magnitude>', 'names of the model inputs', 'image,magnitude')
    .option('--output-name <name>', 'name of the model output', 'redshift')
    .option('--read-ahead <n>', 'partitions fetched and decoded ahead of the model', parseIntOption('read-ahead'), 1)
    .option('--verify <how>', 'partition check: sha256 (every byte) or size', 'sha256')
    .option('--json', 'print the metrics JSON instead of a summary')
    .addHelpText(
      'after',
      `
Examples:
  cai infer --data ./sdss --model astromae.onnx --out ./results
  cai infer --data ./sdss/manifest.json --model m.onnx --out r --batch-size 512 --threads 8 --json

Exit codes: 3 bad data (corrupt, truncated, checksum, shape, NaN), 4 missing or incompatible model,
7 --device cuda without CUDA.`,
    )
    .action(
      action(async (flags: InferFlags) => {
        const device = flags.device as DeviceChoice;
        if (!['cpu', 'cuda', 'auto'].includes(device)) throw new UsageError(`--device must be cpu, cuda or auto, got "${flags.device}"`);
        if (flags.verify !== 'sha256' && flags.verify !== 'size') throw new UsageError(`--verify must be sha256 or size, got "${flags.verify}"`);
        if (flags.threads !== undefined && flags.threads < 1) throw new UsageError(`--threads must be at least 1, got ${flags.threads}`);
        if (flags.readAhead < 0) throw new UsageError(`--read-ahead must be 0 or more, got ${flags.readAhead}`);
        const names = flags.inputNames.split(',').map((s) => s.trim());
        if (names.length !== 2 || names.some((s) => s === '')) throw new UsageError(`--input-names must be two comma-separated names (image,magnitude), got "${flags.inputNames}"`);
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
            threads: flags.threads,
            device,
            inputNames: { image: names[0]!, magnitude: names[1]! },
            outputName: flags.outputName,
            readAhead: flags.readAhead,
            verify: flags.verify,
            onProgress: (p) => progress.update(progressLine(p, performance.now() - started)),
          });
        } finally {
          progress.done();
        }
        emit(flags, report, () => summary(report));
      }),
    );
}

async function builtinModelPath(): Promise<string> {
  const { ensureBuiltinModel } = await import('../../model/builtin.js');
  return ensureBuiltinModel();
}

function progressLine(p: { samplesDone: number; partitionsDone: number; samples: number; partitions: number }, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (p.samplesDone / elapsedMs) * 1000 : 0;
  const eta = rate > 0 ? (p.samples - p.samplesDone) / rate : NaN;
  return `partitions ${p.partitionsDone}/${p.partitions}  samples ${p.samplesDone}/${p.samples}  ${rate.toFixed(0)} samples/s  ETA ${Number.isFinite(eta) ? formatSeconds(eta) : '?'}`;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

const fmt = (v: number | null, digits = 4): string => (v === null ? 'n/a' : v.toFixed(digits));

function summary(r: InferReport): string {
  const p = r.performance;
  const lines = [
    `Predicted ${p.samples} samples from ${r.data.partitions} partitions on ${p.device} in ${p.wallTimeS.toFixed(2)} s ` +
      `(model ${p.totalTimeS.toFixed(2)} s, ${fmt(p.samplesPerS, 0)} samples/s, ${p.throughputBps === null ? 'n/a' : (p.throughputBps / 1e6).toFixed(1)} Mbit/s of input; ` +
      `end to end ${fmt(p.endToEndSamplesPerS, 0)} samples/s; ${p.numBatches} batches of ${p.batchSize}; peak memory ${p.peakMemoryMB.toFixed(0)} MB)`,
  ];
  const a = r.accuracy;
  if (a)
    lines.push(
      `Accuracy: MAE ${fmt(a.mae)}  MSE ${fmt(a.mse)}  bias ${fmt(a.biasMean)} (median ${fmt(a.biasMedian)})  sigma_NMAD ${fmt(a.sigmaNmad)}  sigma_IQR ${fmt(a.sigmaIqr)}  ` +
        `R2 ${fmt(a.r2)}  outliers ${fmt(a.outlierRate === null ? null : a.outlierRate * 100, 2)}% (|dz|>0.15), ${fmt(a.outlierRateRail === null ? null : a.outlierRateRail * 100, 2)}% (RAIL)`,
    );
  else lines.push('Accuracy: not computed (the data set is unlabelled)');
  lines.push(`Wrote ${r.outputs.predictions} and ${r.outputs.metrics}`);
  return lines.join('\n');
}
