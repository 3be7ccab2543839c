// `cai data import`: foreign files (.pt, .npy/.npz, HDF5) into a native data set through the importers.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { oneLine } from '../../errors.js';
import { parseKeys, type KeyMap } from '../../data/importers/mapping.js';
import type { ImportReport } from '../../data/importers/import-job.js';
import { DEFAULT_PARTITION_BYTES } from '../../data/dataset.js';
import { partitionSize, partitionSizeOptions, type PartitionSizeFlags } from '../flags/partition-flags.js';
import { Progress, action, emit } from '../output.js';
import { checkOutputDir } from '../parse.js';
import { renderImportReport } from '../render/data.js';

function int64(v: string): bigint {
  if (!/^-?\d{1,19}$/.test(v.trim())) throw new InvalidArgumentError('must be an integer');
  const n = BigInt(v.trim());
  if (n < -(2n ** 63n) || n >= 2n ** 63n) throw new InvalidArgumentError('must fit a signed 64-bit integer');
  return n;
}

function keyMap(v: string): KeyMap {
  try {
    return parseKeys(v);
  } catch (e) {
    throw new InvalidArgumentError(oneLine(e).replace(/^--keys: /, ''));
  }
}

interface ImportFlags extends PartitionSizeFlags {
  out: string;
  keys?: KeyMap;
  channelsLast?: boolean;
  idBase: bigint;
  name?: string;
  overwrite?: boolean;
  json?: boolean;
}

/** Adds `cai data import` to the `data` group. */
export function registerImport(data: Command): void {
  const [mb, samples] = partitionSizeOptions(`default ${DEFAULT_PARTITION_BYTES / 1e6}`);
  data
    .command('import')
    .description('convert PyTorch .pt partitions, NumPy .npy/.npz or HDF5 files into a native data set')
    .argument('<files...>', 'input files (.pt, .npz, .npy directory, .h5/.hdf5), imported in the order given')
    .requiredOption('--out <dir>', 'output data set directory (created if missing)')
    .addOption(mb)
    .addOption(samples)
    .option('--keys <role=name,...>', 'array names: image=NAME,magnitude=NAME,redshift=NAME|none,object_id=NAME|none', keyMap)
    .option('--channels-last', 'images are [N,32,32,5] (detected from the shape anyway; this makes it a requirement)')
    .addOption(new Option('--id-base <n>', 'first object id for files without an id array; ids continue across files').argParser(int64).default(0n, '0'))
    .option('--name <name>', 'data set name recorded in the manifest')
    .option('--overwrite', 'replace a data set already in --out')
    .option('--json', 'print the import report as JSON')
    .addHelpText(
      'after',
      `
Arrays are found by name: images/image/X/cube, magnitudes/magnitude/mags/dered_petro_mag,
redshifts/redshift/z/y/specz (optional), object_id/objid/ids (optional). A .pt TensorDataset is read in
order (images, magnitudes, redshifts). Without an id array, samples get sequential ids from --id-base.

Examples:
  cai data import 1.pt 2.pt 3.pt --out ./sdss
  cai data import cube.npz --out ./ds --partition-samples 2048 --json
  cai data import survey.h5 --out ./ds --keys image=cutouts,magnitude=photo/mags,redshift=none

Exit codes: 2 bad flags or an output that already holds a data set, 3 a bad input file (named in the
message; nothing is left behind and no manifest is written).`,
    )
    .action(
      action(async (files: string[], flags: ImportFlags) => {
        const size = partitionSize(flags, false);
        await checkOutputDir(flags.out);

        const { importFiles } = await import('../../data/importers/import-job.js');
        const progress = new Progress(flags);
        let report: ImportReport;
        try {
          report = await importFiles(files, {
            out: flags.out,
            keys: flags.keys,
            channelsLast: flags.channelsLast,
            ...size,
            name: flags.name,
            overwrite: flags.overwrite,
            idBase: flags.idBase,
            onProgress: (p) => progress.count(`importing ${p.file} (file ${p.fileIndex + 1}/${p.files}): samples`, p.samplesDone, p.samplesTotal),
          });
        } finally {
          progress.done();
        }
        emit(flags, report, () => renderImportReport(report));
      }),
    );
}
