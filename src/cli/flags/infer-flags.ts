// The flags of single-process inference, declared once for `cai infer`, `cai bench infer` and the commands
// that verify partitions. The device list comes from the runtime's device registry, so a new device shows
// up in every --help by itself; the values are checked by the library (inference/options.ts,
// runtime/devices.ts, data/verify-mode.ts), not here.
import { Option } from 'commander';
import { availableParallelism } from 'node:os';
import { DEVICE_NAMES, executionDevice } from '../../runtime/devices.js';
import type { VerifyMode } from '../../data/verify-mode.js';
import { parseIntOption } from '../output.js';

/** The inference flags as commander hands them to an action (text where the library checks the value). */
export interface InferFlags {
  batchSize: number;
  threads?: number;
  device: string;
  readAhead: number;
  verify: string;
}

export function batchSizeOption(): Option {
  return new Option('--batch-size <n>', 'samples per model call').argParser(parseIntOption('batch-size')).default(256);
}

export function threadsOption(): Option {
  return new Option('--threads <n>', `intra-op threads (default: all ${availableParallelism()} cores)`).argParser(parseIntOption('threads'));
}

/** `--device`: every registered device, or auto; `explain` adds what auto does. */
export function deviceOption(explain: boolean): Option {
  const accelerators = DEVICE_NAMES.map(executionDevice).filter((d) => d.accelerator).map((d) => d.label);
  const what = explain ? ` (${accelerators.join(' or ')} when available, else CPU)` : '';
  return new Option('--device <device>', `${DEVICE_NAMES.join(', ')}, or auto${what}`).default('cpu');
}

/** `--read-ahead`; `help` says what the command does with the partitions ahead. */
export function readAheadOption(help: string): Option {
  return new Option('--read-ahead <n>', help).argParser(parseIntOption('read-ahead')).default(1);
}

/** `--verify` (sha256 or size, default sha256); `help` describes the check for this command. */
export function verifyOption(help: string): Option {
  return new Option('--verify <how>', help).default('sha256' satisfies VerifyMode);
}
