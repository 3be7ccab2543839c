// The calibration set of static quantization: the first samples of a data set (its manifest), read with
// the same checks as inference reads them, up to a sample budget.
import { openLocalDataset } from '../../data/dataset.js';
import { concatPartitions, slicePartition, type Partition } from '../../data/partition.js';
import { DataError } from '../../errors.js';

export const DEFAULT_CALIBRATION_SAMPLES = 4096;

export async function readCalibrationSet(manifest: string, maxSamples = DEFAULT_CALIBRATION_SAMPLES): Promise<Partition> {
  const ds = await openLocalDataset(manifest);
  const parts: Partition[] = [];
  let have = 0;
  for (const entry of ds.manifest.partitions) {
    if (have >= maxSamples) break;
    if (entry.samples === 0) continue;
    const p = await ds.readPartition(entry);
    const take = Math.min(p.count, maxSamples - have);
    parts.push(take === p.count ? p : slicePartition(p, 0, take));
    have += take;
  }
  if (have === 0) throw new DataError(ds.location, 'holds no samples to calibrate with');
  return parts.length === 1 ? parts[0]! : concatPartitions(parts);
}
