// The execution devices a model can run on, as one registry: what `--device` accepts, which onnxruntime
// execution providers a session on each device asks for, what the machine needs for it, how a failure
// to open a session there is told apart from a bad model, and how work is best fed to it (batch size,
// sessions in flight, thread or process per session). `auto` tries the accelerators in registry order
// and falls back to CPU; nothing else names devices.
import { UnavailableError, UsageError } from '../errors.js';
import { hardwareAdapters, listAdapters, describeAdapter, type AdapterInfo } from './adapters.js';
import type { ProviderConfig } from './onnxruntime.js';
import { prepareVulkanProcess } from './vulkan-env.js';

export interface ExecutionDevice {
  /** The `--device` value, and the device a report names. */
  readonly name: string;
  /** How messages name it: "CUDA is not available (...)". */
  readonly label: string;
  /** What the machine needs for it beyond `npm ci`, for documentation and messages. */
  readonly needs: string;
  /** Accelerators are what `auto` tries, in registry order, before CPU. */
  readonly accelerator: boolean;
  /** Samples per model call when the user gives none: GPUs want large batches, a CPU does not. */
  readonly defaultBatchSize: number;
  /**
   * Where each session lives. 'thread': a worker thread of this process. 'process': a child process per
   * session, for a provider whose sessions in one process share one device context that is not safe to
   * use from two threads at once, and whose adapter can only be chosen per process (WebGPU).
   */
  readonly host: 'thread' | 'process';
  /** Sessions per GPU kept busy at once, so one batch's upload and download overlap another's compute. */
  readonly sessionsPerGpu: number;
  /** Run one batch at open (shader compilation, kernel selection) so the first partition is not slowed. */
  readonly warmUp: boolean;
  /** Pad a partition's last batch to the full batch size: one input shape, so no kernel is compiled mid-run. */
  readonly fixedBatchShape: boolean;
  /** Its adapters can be listed before a session opens (Vulkan's, for WebGPU), so `auto` can require hardware. */
  readonly listsVulkanAdapters: boolean;
  /**
   * Sessions load the model through the optimized-model cache (inference/session-cache.ts). Only where
   * onnxruntime's saved graph is known to reload as it ran: a GPU provider's own graph rewrites are
   * not, and its session creation is dwarfed by kernel compilation anyway.
   */
  readonly cachesOptimizedModel: boolean;
  /** Set what the provider reads from the process environment, before this process's first session. */
  prepareProcess(): void;
  /**
   * The onnxruntime execution providers of a session pinned to GPU `slot` (its index among the GPUs in
   * use), in order of preference; a trailing 'cpu' runs the operators the device's provider lacks.
   */
  providers(slot: number): ProviderConfig[];
  /**
   * Availability is checked by opening the session itself, because only loading the provider's library
   * tells: this says whether the error that opening gave means the provider cannot load on this machine
   * (so `auto` moves on) rather than that the model is bad.
   */
  isUnavailable(err: unknown): boolean;
}

/** Words onnxruntime uses for any execution provider whose library is missing or does not load. */
const PROVIDER_LOAD_FAILURE = /ExecutionProvider|Failed to load (shared )?library|providers_shared|is unsupported: '/i;

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
    needs: 'nothing: the CPU provider ships in the onnxruntime-node package',
    accelerator: false,
    defaultBatchSize: 256,
    host: 'thread',
    sessionsPerGpu: 1,
    warmUp: false,
    fixedBatchShape: false,
    listsVulkanAdapters: false,
    cachesOptimizedModel: true,
    prepareProcess: () => undefined,
    providers: () => ['cpu'],
    // Every failure on CPU is the model's.
    isUnavailable: () => false,
  },
  cuda: {
    name: 'cuda',
    label: 'CUDA',
    needs: "an NVIDIA GPU with CUDA 12 and cuDNN 9, and onnxruntime-node's CUDA provider (a separate download; docs/gpu.md)",
    accelerator: true,
    defaultBatchSize: 1024,
    // CUDA sessions are independent (a CUDA context per device, thread-safe): threads of one process.
    host: 'thread',
    sessionsPerGpu: 2,
    warmUp: true,
    fixedBatchShape: true,
    listsVulkanAdapters: false,
    cachesOptimizedModel: false,
    prepareProcess: () => undefined,
    providers: (slot) => [{ name: 'cuda', deviceId: slot }, 'cpu'],
    isUnavailable: providerLoadFailure(/CUDA|cudnn|libcu/i),
  },
  webgpu: {
    name: 'webgpu',
    label: 'WebGPU',
    needs: "a Vulkan driver and loader (Debian: libvulkan1, and mesa-vulkan-drivers from bookworm-backports for the llvmpipe software adapter, or the GPU vendor's driver); the provider itself is bundled in onnxruntime-node (docs/gpu.md)",
    accelerator: true,
    defaultBatchSize: 1024,
    // Every WebGPU session of a process shares one Dawn device that two threads must not drive at once
    // (measured: concurrent runs from two threads fail Dawn's validation), and the adapter is chosen once
    // per process: one child process per session.
    host: 'process',
    sessionsPerGpu: 2,
    warmUp: true,
    fixedBatchShape: true,
    listsVulkanAdapters: true,
    cachesOptimizedModel: false,
    // XDG_RUNTIME_DIR and a writable shader cache (runtime/vulkan-env.ts).
    prepareProcess: prepareVulkanProcess,
    providers: () => ['webgpu', 'cpu'],
    isUnavailable: providerLoadFailure(/WebGPU adapter|No supported adapters|WebGPU device lost|Dawn|Vulkan|vkCreateInstance/i),
  },
} as const satisfies Record<string, ExecutionDevice>;

/** A device a session runs on. */
export type Device = keyof typeof DEVICES;
/** What a caller may ask for: a device, or `auto` (the first accelerator that loads, else CPU). */
export type DeviceChoice = Device | 'auto';

export const DEVICE_NAMES = Object.keys(DEVICES) as Device[];
export const DEVICE_CHOICES: readonly DeviceChoice[] = [...DEVICE_NAMES, 'auto'];

/** How many GPUs to spread sessions over: a count, or every hardware adapter listed. */
export type GpuCount = number | 'all';
/** Upper bound on GPUs and sessions per GPU: each session is a thread or a process of its own. */
export const MAX_LANES = 64;

export function executionDevice(name: Device): ExecutionDevice {
  return DEVICES[name];
}

/** The devices a choice tries, in order: the device itself, or for `auto` every accelerator, then CPU. */
export function devicesToTry(choice: DeviceChoice): ExecutionDevice[] {
  if (choice !== 'auto') return [DEVICES[choice]];
  const all: ExecutionDevice[] = Object.values(DEVICES);
  return [...all.filter((d) => d.accelerator), DEVICES.cpu];
}

export interface DeviceCandidate {
  device: ExecutionDevice;
  /** The adapters sessions on it are spread over, in slot order (empty where the device lists none). */
  adapters: AdapterInfo[];
  /** Set where `auto` passes the device over without opening it: why ("WebGPU: only a software adapter ..."). */
  skip?: string;
}

export interface DevicePlan {
  /** What to try, in order; the first that opens (and is not skipped) is used. */
  candidates: DeviceCandidate[];
}

/**
 * The devices a choice tries, with their adapters. An explicit WebGPU choice uses the adapters Dawn would
 * open, software ones included (the llvmpipe path is how every machine tests it); `auto` tries WebGPU
 * only where a hardware adapter is listed, so a software adapter is never picked unasked.
 */
export async function planDevices(choice: DeviceChoice): Promise<DevicePlan> {
  if (choice === 'cpu') return { candidates: [{ device: DEVICES.cpu, adapters: [] }] };
  const candidates: DeviceCandidate[] = [];
  for (const device of devicesToTry(choice)) {
    if (!device.listsVulkanAdapters) {
      candidates.push({ device, adapters: [] });
      continue;
    }
    const { adapters, problem } = await listAdapters();
    const hardware = hardwareAdapters(adapters);
    const software = adapters.filter((a) => a.software);
    if (choice !== 'auto') candidates.push({ device, adapters: hardware.length ? hardware : software });
    else if (hardware.length) candidates.push({ device, adapters: hardware });
    else {
      const skip = software.length
        ? `${device.label}: only a software adapter, ${describeAdapter(software[0]!)} (used only with --device ${device.name})`
        : `${device.label}: no GPU adapter found${problem ? ` (${problem})` : ''}`;
      candidates.push({ device, adapters: [], skip });
    }
  }
  return { candidates };
}

/** The message of a device that cannot open here; `auto` moves on after it. */
export class DeviceUnavailable extends UnavailableError {
  readonly device: ExecutionDevice;
  /** The provider's own words, shortened. */
  readonly reason: string;
  constructor(device: ExecutionDevice, reason: string, options?: { cause?: unknown }) {
    super(`--device ${device.name}: the ${device.label} execution provider is not available here (${reason})`, options);
    this.device = device;
    this.reason = reason;
  }
}

export interface Opened<T> {
  value: T;
  candidate: DeviceCandidate;
  /** For `auto`: the sentence that says what was chosen and why; undefined for an explicit device. */
  choice?: string;
}

/**
 * Open the first candidate of a plan that is available: `open` throws DeviceUnavailable for a device
 * that cannot load here (then `auto` tries the next) and anything else for a real failure (a bad model),
 * which ends the search. An explicit device that is unavailable is the caller's error, exit code 7.
 */
export async function openFirstAvailable<T>(choice: DeviceChoice, plan: DevicePlan, open: (c: DeviceCandidate) => Promise<T>): Promise<Opened<T>> {
  const passed: string[] = [];
  for (const candidate of plan.candidates) {
    if (candidate.skip !== undefined) {
      passed.push(candidate.skip);
      continue;
    }
    try {
      const value = await open(candidate);
      return { value, candidate, ...(choice === 'auto' ? { choice: autoChoiceSentence(passed, candidate) } : {}) };
    } catch (err) {
      if (!(err instanceof DeviceUnavailable) || choice !== 'auto') throw err;
      passed.push(`${err.device.label} is not available (${err.reason})`);
    }
  }
  // CPU ends every auto list and is never unavailable, so only a registry without it gets here.
  throw new UnavailableError(`no device could open the model: ${passed.join('; ')}`);
}

/** "cai: --device auto: CUDA is not available (...); running on WebGPU, NVIDIA H200 (discrete, vulkan), ..." */
function autoChoiceSentence(passed: readonly string[], c: DeviceCandidate): string {
  const where = c.adapters.length
    ? `, ${c.adapters.length > 1 ? `${c.adapters.length} adapters, first ` : 'adapter '}${describeAdapter(c.adapters[0]!)}: the first hardware adapter in Dawn's high-performance order`
    : c.device.accelerator
      ? ''
      : ': no accelerator is available';
  return `cai: --device auto: ${passed.length ? passed.join('; ') + '; ' : ''}running on ${c.device.label}${where}`;
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
