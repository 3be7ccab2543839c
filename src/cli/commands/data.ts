// `cai data synth|inspect|repartition` (and `import`, from data-import.ts): writing, reading and checking
// data sets. Partition-size flags come from cli/flags, value checks from the library, text from cli/render.
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DataError, ExitCode } from '../../errors.js';
import { MANIFEST_FILE } from '../../data/manifest.js';
import { DEFAULT_PARTITION_BYTES, describeKey, openLocalDataset } from '../../data/dataset.js';
import { formatInspection, inspectDataset, inspectPartitionBytes } from '../../data/inspect.js';
import { parseVerifyMode } from '../../data/verify-mode.js';
import { LocalStorage } from '../../storage/local/local-storage.js';
import { partitionSize, partitionSizeOptions, type PartitionSizeFlags } from '../flags/partition-flags.js';
import { verifyOption } from '../flags/infer-flags.js';
import { Progress, action, emit } from '../output.js';
import { checkOutputDir, nonNegativeInt, positiveInt } from '../parse.js';
import { renderRepartitionResult, renderSynthResult, type RepartitionResult, type SynthResult } from '../render/data.js';
import { registerImport } from './data-import.js';

/** Registers `cai data` and its subcommands; returns the group, where main also offers the generator's benchmark. */
export function register(program: Command): Command {
  const data = program.command('data').description('synthesize, import, inspect and repartition data sets');
  registerSynth(data);
  registerImport(data);
  registerInspect(data);
  registerRepartition(data);
  return data;
}

interface SynthFlags extends PartitionSizeFlags {
  samples: number;
  seed: number;
  unlabelled?: boolean;
  out: string;
  name?: string;
  overwrite?: boolean;
  json?: boolean;
}

function registerSynth(data: Command): void {
  const [mb, samples] = partitionSizeOptions(`default ${DEFAULT_PARTITION_BYTES / 1e6}`);
  data
    .command('synth')
    .description('generate a synthetic SDSS-like galaxy data set (deterministic in --seed)')
    .requiredOption('--samples <n>', 'number of galaxies', positiveInt)
    .option('--seed <s>', 'generator seed; the same seed gives byte-identical partitions', nonNegativeInt, 0)
    .addOption(mb)
    .addOption(samples)
    .option('--unlabelled', 'leave out the redshift tensor')
    .requiredOption('--out <dir>', 'output data set directory (created if missing)')
    .option('--name <name>', 'data set name recorded in the manifest')
    .option('--overwrite', 'replace a data set already in --out')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Galaxies follow an SDSS main-galaxy-sample-like population (z mostly 0.02-0.3, r < 17.77), with images
in nanomaggies per pixel and asinh magnitudes. Galaxy i depends only on (seed, i).

Examples:
  cai data synth --samples 10000 --seed 1 --out ./synth
  cai data synth --samples 50000 --partition-mb 100 --out ./synth100 --json
  cai data synth --samples 2048 --partition-samples 256 --unlabelled --out ./unlabelled

Exit codes: 2 bad flags or an output that already holds a data set (use --overwrite).`,
    )
    .action(
      action(async (flags: SynthFlags) => {
        const size = partitionSize(flags, false);
        await checkOutputDir(flags.out);
        const { synthesizeDataset } = await import('../../data/synth/write-dataset.js');
        const progress = new Progress(flags);
        const t0 = performance.now();
        let manifest;
        try {
          manifest = await synthesizeDataset(flags.out, {
            samples: flags.samples,
            seed: flags.seed,
            labelled: !flags.unlabelled,
            ...size,
            ...(flags.name !== undefined ? { name: flags.name } : {}),
            ...(flags.overwrite ? { overwrite: true } : {}),
            onProgress: (done, total) => progress.count('synthesizing galaxies', done, total),
          });
        } finally {
          progress.done();
        }
        const seconds = (performance.now() - t0) / 1000;
        const result: SynthResult = {
          manifest: join(resolve(flags.out), MANIFEST_FILE),
          samples: manifest.samples,
          partitions: manifest.partitions.length,
          bytes: manifest.bytes,
          labelled: manifest.labelled,
          seed: flags.seed,
          seconds: Number(seconds.toFixed(3)),
          samplesPerSecond: Math.round(manifest.samples / Math.max(seconds, 1e-9)),
        };
        emit(flags, result, () => renderSynthResult(result));
      }),
    );
}

interface InspectFlags {
  verify?: boolean;
  json?: boolean;
}

/** What PATH names: a data set (directory or manifest), one partition file, or a foreign file to import. */
async function classify(path: string): Promise<'dataset' | 'partition' | 'foreign'> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    throw new DataError(path, 'not found');
  }
  // The importers load only for paths that are not native data.
  const isImportable = async (p: string): Promise<boolean> => (await import('../../data/importers/index.js')).isImportable(p);
  if (isDir) {
    try {
      await stat(join(path, MANIFEST_FILE));
      return 'dataset';
    } catch {
      if (await isImportable(path)) return 'foreign';
      throw new DataError(path, `is a directory without ${MANIFEST_FILE} (not a data set)`);
    }
  }
  const lower = path.toLowerCase();
  if (lower.endsWith('.json')) return 'dataset';
  if (lower.endsWith('.safetensors')) return 'partition';
  if (await isImportable(path)) return 'foreign';
  throw new DataError(path, 'is not a data set, a manifest.json, a .safetensors partition or an importable file (.pt, .npy, .npz, .h5, .hdf5)');
}

/** Partition files larger than this are refused before reading (Node buffers stop near 4 GB). */
const MAX_PARTITION_FILE = 2 ** 31 - 1;

function registerInspect(data: Command): void {
  data
    .command('inspect')
    .description('summarize a data set, a partition file or a foreign file; --verify checks every partition')
    .argument('<path>', 'data set directory, manifest.json, .safetensors partition, or .pt/.npy/.npz/.h5/.hdf5 file')
    .option('--verify', 'check every partition against the manifest: size, sha256, shapes, unique object ids, finite values within physical bounds (a foreign file: read every sample and check its values)')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Without --verify, inspect still reads every partition once (for the redshift and magnitude ranges) but
checks only sizes. With --verify every problem is printed, one line each naming the file.

Examples:
  cai data inspect ./synth
  cai data inspect ./synth/manifest.json --verify
  cai data inspect ./synth/partitions/part-00000.safetensors --json
  cai data inspect survey.h5

Exit codes: 3 the data are bad (a verification problem, a corrupt file or manifest), 2 bad flags.`,
    )
    .action(
      action(async (path: string, flags: InspectFlags) => {
        const kind = await classify(path);
        if (kind === 'foreign') {
          const { formatImportInspection, inspectImportFile, verifyImportFile } = await import('../../data/importers/index.js');
          const info = await inspectImportFile(path);
          if (flags.verify && info.mapping) {
            const progress = new Progress(flags);
            try {
              info.verified = await verifyImportFile(path, {}, (done, total) => progress.count('verifying samples', done, total));
            } finally {
              progress.done();
            }
          }
          emit(flags, { kind: 'foreign', ...info }, () => formatImportInspection(info));
          if (info.verified && !info.verified.ok) {
            if (flags.json) for (const p of info.verified.problems) process.stderr.write(`cai: ${p}\n`);
            process.exitCode = ExitCode.data;
          }
          return;
        }
        if (kind === 'partition') {
          const abs = resolve(path);
          const bytes = await new LocalStorage(dirname(abs)).get(basename(abs), { maxBytes: MAX_PARTITION_FILE });
          const info = inspectPartitionBytes(bytes, abs, { verify: flags.verify });
          emit(flags, info, () => formatInspection(info));
          if (info.verified && !info.verified.ok) process.exitCode = ExitCode.data;
          return;
        }
        const ds = await openLocalDataset(path);
        const progress = new Progress(flags);
        let info;
        try {
          info = await inspectDataset(ds, { verify: flags.verify, onPartition: (done, total) => progress.count(`${flags.verify ? 'verifying' : 'reading'} partitions`, done, total) });
        } finally {
          progress.done();
        }
        emit(flags, info, () => formatInspection(info));
        if (info.verified && !info.verified.ok) {
          // Problems also go to stderr, one line each, so scripts using --json still see them.
          if (flags.json) for (const p of info.verified.problems) process.stderr.write(`cai: ${p}\n`);
          process.exitCode = ExitCode.data;
        }
      }),
    );
}

interface RepartitionFlags extends PartitionSizeFlags {
  data: string;
  out: string;
  overwrite?: boolean;
  verify: string;
  json?: boolean;
}

function registerRepartition(data: Command): void {
  const [mb, samples] = partitionSizeOptions('the CAI paper used 25, 50, 75 and 100');
  data
    .command('repartition')
    .description('split or merge a data set into partitions of a target size (order and object ids preserved)')
    .requiredOption('--data <manifest>', 'input data set directory or its manifest.json')
    .requiredOption('--out <dir>', 'output data set directory (created if missing; not the input directory)')
    .addOption(mb)
    .addOption(samples)
    .addOption(verifyOption('check of the input partitions: sha256 (every byte) or size'))
    .option('--overwrite', 'replace a data set already in --out')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Examples:
  cai data repartition --data ./synth --out ./synth-100mb --partition-mb 100
  cai data repartition --data ./synth/manifest.json --out ./synth-1k --partition-samples 1000 --json

Exit codes: 2 bad flags or an unusable output, 3 a bad input partition (named in the message).`,
    )
    .action(
      action(async (flags: RepartitionFlags) => {
        const size = partitionSize(flags, true);
        const verify = parseVerifyMode(flags.verify);
        await checkOutputDir(flags.out);
        const { repartition } = await import('../../data/repartition.js');
        const src = await openLocalDataset(flags.data);
        const progress = new Progress(flags);
        const t0 = performance.now();
        let manifest;
        try {
          manifest = await repartition(src, flags.out, {
            ...size,
            verify,
            ...(flags.overwrite ? { overwrite: true } : {}),
            onPartition: (done, total) => progress.count('repartitioning input partitions', done, total),
          });
        } finally {
          progress.done();
        }
        const out = new LocalStorage(flags.out);
        const result: RepartitionResult = {
          manifest: describeKey(out, MANIFEST_FILE),
          from: src.location,
          samples: manifest.samples,
          partitionsIn: src.manifest.partitions.length,
          partitions: manifest.partitions.length,
          bytes: manifest.bytes,
          seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
        };
        emit(flags, result, () => renderRepartitionResult(result));
      }),
    );
}
