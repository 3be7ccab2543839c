// The options of an inference job as a user gives them (flag text and numbers), checked and turned into
// what runInferJob and the engine take. One home for the rules, so every command that infers accepts the
// same values with the same one-line messages, before the model or the data are opened.
import { parseVerifyMode, type VerifyMode } from '../data/verify-mode.js';
import { UsageError } from '../errors.js';
import { MAX_LANES, parseDeviceChoice, type DeviceChoice, type GpuCount } from '../runtime/devices.js';

export interface InferOptionValues {
  device: string;
  /** A count or "all"; default 1. */
  gpus?: string;
  sessionsPerGpu?: number;
  verify: string;
  threads?: number;
  readAhead: number;
  /** "IMAGE,MAGNITUDE": the model's two input names, in that order. */
  inputNames: string;
}

export interface CheckedInferOptions {
  device: DeviceChoice;
  gpus: GpuCount;
  sessionsPerGpu?: number;
  verify: VerifyMode;
  threads?: number;
  readAhead: number;
  inputNames: { image: string; magnitude: string };
}

export function checkInferOptions(v: InferOptionValues): CheckedInferOptions {
  const device = parseDeviceChoice(v.device);
  const verify = parseVerifyMode(v.verify);
  if (v.threads !== undefined && v.threads < 1) throw new UsageError(`--threads must be at least 1, got ${v.threads}`);
  if (v.readAhead < 0) throw new UsageError(`--read-ahead must be 0 or more, got ${v.readAhead}`);
  const gpus = parseGpuCount(v.gpus ?? '1');
  if (v.sessionsPerGpu !== undefined && (v.sessionsPerGpu < 1 || v.sessionsPerGpu > MAX_LANES)) throw new UsageError(`--sessions-per-gpu must be from 1 to ${MAX_LANES}, got ${v.sessionsPerGpu}`);
  return {
    device,
    gpus,
    ...(v.sessionsPerGpu !== undefined ? { sessionsPerGpu: v.sessionsPerGpu } : {}),
    verify,
    ...(v.threads !== undefined ? { threads: v.threads } : {}),
    readAhead: v.readAhead,
    inputNames: parseInputNames(v.inputNames),
  };
}

/** "2" -> 2, "all" -> 'all'; anything else is a usage error naming `flag`. */
export function parseGpuCount(text: string, flag = '--gpus'): GpuCount {
  if (text === 'all') return 'all';
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1 || n > MAX_LANES) throw new UsageError(`${flag} must be all or an integer from 1 to ${MAX_LANES}, got "${text}"`);
  return n;
}

/** "image,magnitude" -> the two names; anything but two non-empty names is a usage error. */
export function parseInputNames(text: string): { image: string; magnitude: string } {
  const names = text.split(',').map((s) => s.trim());
  if (names.length !== 2 || names.some((s) => s === '')) throw new UsageError(`--input-names must be two comma-separated names (image,magnitude), got "${text}"`);
  return { image: names[0]!, magnitude: names[1]! };
}
