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
  /** Absent: the device's default. */
  batchSize?: number;
  threads?: number;
  device: string;
  gpus: string;
  sessionsPerGpu?: number;
  readAhead: number;
  verify: string;
}

export function batchSizeOption(): Option {
  return new Option('--batch-size <n>', 'samples per model call (default: 256 on CPU, 1024 on a GPU, 32 on a software adapter)').argParser(parseIntOption('batch-size'));
}

export function threadsOption(): Option {
  return new Option('--threads <n>', `intra-op threads (default: all ${availableParallelism()} cores)`).argParser(parseIntOption('threads'));
}

/** `--device`: every registered device, or auto; `explain` adds what auto does. */
export function deviceOption(explain: boolean): Option {
  const accelerators = DEVICE_NAMES.map(executionDevice).filter((d) => d.accelerator).map((d) => d.label);
  const what = explain ? ` (${accelerators.join(' or ')} on a hardware GPU when available, else CPU)` : '';
  return new Option('--device <device>', `${DEVICE_NAMES.join(', ')}, or auto${what}`).default('cpu');
}

/** `--gpus` and `--sessions-per-gpu`: how sessions spread over a machine's GPUs (ignored on CPU). */
export function gpuOptions(): Option[] {
  return [
    new Option('--gpus <n|all>', 'GPUs to spread sessions over; all: every hardware adapter (ignored on CPU)').default('1'),
    new Option('--sessions-per-gpu <n>', 'sessions in flight per GPU (default: 2 on a GPU, 1 on a software adapter)').argParser(parseIntOption('sessions-per-gpu')),
  ];
}

/** `--read-ahead`; `help` says what the command does with the partitions ahead. */
export function readAheadOption(help: string): Option {
  return new Option('--read-ahead <n>', help).argParser(parseIntOption('read-ahead')).default(1);
}

/** `--verify` (sha256 or size, default sha256); `help` describes the check for this command. */
export function verifyOption(help: string): Option {
  return new Option('--verify <how>', help).default('sha256' satisfies VerifyMode);
}
