// The partition-size flags of every command that writes a data set (synth, import, repartition): one size
// given either in MB or in samples, turned into the form the data set writer takes.
import { Option } from 'commander';
import { UsageError } from '../../errors.js';
import { positiveInt, positiveNumber } from '../parse.js';

export interface PartitionSizeFlags {
  partitionMb?: number;
  partitionSamples?: number;
}

/** The --partition-mb and --partition-samples options; `mbHelp` describes the size's default or use. */
export function partitionSizeOptions(mbHelp: string): [Option, Option] {
  return [
    new Option('--partition-mb <mb>', `target partition size in MB (10^6 bytes; ${mbHelp})`).argParser(positiveNumber),
    new Option('--partition-samples <k>', 'samples per partition (instead of --partition-mb)').argParser(positiveInt),
  ];
}

/** The partition size the flags ask for, in the form the data set writer takes. */
export function partitionSize(flags: PartitionSizeFlags, required: boolean): { partitionSamples?: number; partitionBytes?: number } {
  if (flags.partitionMb !== undefined && flags.partitionSamples !== undefined) throw new UsageError('give --partition-mb or --partition-samples, not both');
  if (flags.partitionSamples !== undefined) return { partitionSamples: flags.partitionSamples };
  if (flags.partitionMb !== undefined) return { partitionBytes: Math.round(flags.partitionMb * 1_000_000) };
  if (required) throw new UsageError('give a partition size: --partition-mb M or --partition-samples K');
  return {};
}
