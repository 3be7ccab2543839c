// The execution devices a model can run on, as one registry: what `--device` accepts, which onnxruntime
// execution providers a session on each device asks for, what the machine needs for it, and how a failure
// to open a session there is told apart from a bad model. `auto` tries the accelerators in registry order
// and falls back to CPU. Another device (WebGPU, say, which onnxruntime-node bundles on linux-x64) is one
// more entry here; nothing else names devices.
import { UsageError } from '../errors.js';

export interface ExecutionDevice {
  /** The `--device` value, and the device a report names. */
  readonly name: string;
  /** How messages name it: "CUDA is not available (...)". */
  readonly label: string;
  /**
   * The onnxruntime execution providers a session on this device lists, in order of preference; a
   * trailing 'cpu' runs the operators the device's provider does not implement.
   */
  readonly executionProviders: readonly string[];
  /** What the machine needs for it beyond `npm ci`, for documentation and messages. */
  readonly needs: string;
  /** Accelerators are what `auto` tries, in registry order, before CPU. */
  readonly accelerator: boolean;
  /**
   * Availability is checked by opening the session itself, because only loading the provider's library
   * tells: this says whether the error that opening gave means the provider cannot load on this machine
   * (so `auto` moves on) rather than that the model is bad.
   */
  isUnavailable(err: unknown): boolean;
}

/** Words onnxruntime uses for any execution provider whose library is missing or does not load. */
const PROVIDER_LOAD_FAILURE = /ExecutionProvider|Failed to load (shared )?library|providers_shared/i;

/** A provider-load failure: the generic words or the device's own, never a model that failed to parse. */
function providerLoadFailure(deviceWords: RegExp): (err: unknown) => boolean {
  return (err) => {
    const m = err instanceof Error ? err.message : String(err);
    return (PROVIDER_LOAD_FAILURE.test(m) || deviceWords.test(m)) && !/protobuf/i.test(m);
  };
}

export const DEVICES = {
  cpu: {
    name: 'cpu',
    label: 'CPU',
    executionProviders: ['cpu'],
    needs: 'nothing: the CPU provider ships in the onnxruntime-node package',
    accelerator: false,
    // Every failure on CPU is the model's.
    isUnavailable: () => false,
  },
  cuda: {
    name: 'cuda',
    label: 'CUDA',
    executionProviders: ['cuda', 'cpu'],
    needs: "an NVIDIA GPU with CUDA 12 and cuDNN 9, and onnxruntime-node's CUDA provider (a separate download; README, GPU)",
    accelerator: true,
    isUnavailable: providerLoadFailure(/CUDA|cudnn|libcu/i),
  },
} as const satisfies Record<string, ExecutionDevice>;

/** A device a session runs on. */
export type Device = keyof typeof DEVICES;
/** What a caller may ask for: a device, or `auto` (the first accelerator that loads, else CPU). */
export type DeviceChoice = Device | 'auto';

export const DEVICE_NAMES = Object.keys(DEVICES) as Device[];
export const DEVICE_CHOICES: readonly DeviceChoice[] = [...DEVICE_NAMES, 'auto'];

export function executionDevice(name: Device): ExecutionDevice {
  return DEVICES[name];
}

/** The devices a choice tries, in order: the device itself, or for `auto` every accelerator, then CPU. */
export function devicesToTry(choice: DeviceChoice): ExecutionDevice[] {
  if (choice !== 'auto') return [DEVICES[choice]];
  const all: ExecutionDevice[] = Object.values(DEVICES);
  return [...all.filter((d) => d.accelerator), DEVICES.cpu];
}

/** "a, b or c" */
function alternatives(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/** Check a device choice given as text (a flag, a request field); a UsageError naming `flag` otherwise. */
export function parseDeviceChoice(value: string, flag = '--device'): DeviceChoice {
  if ((DEVICE_CHOICES as readonly string[]).includes(value)) return value as DeviceChoice;
  throw new UsageError(`${flag} must be ${alternatives(DEVICE_CHOICES)}, got "${value}"`);
}
