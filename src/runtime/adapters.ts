// The GPU adapters of this machine, as the WebGPU provider will see them. onnxruntime-node's bundled WebGPU
// provider (Dawn over Vulkan) says nothing about the adapter it opens, so the Vulkan physical devices are
// read from `vulkaninfo` (Debian's vulkan-tools), and the adapter Dawn opens is predicted by Dawn's own
// rule for the high-performance preference that onnxruntime asks for: a discrete GPU first, then an
// integrated one, then a virtual one, a software (CPU) device such as llvmpipe last. The same list names
// the adapter in metrics.json and lets `auto` refuse a software adapter.
import { spawn } from 'node:child_process';
import { vulkanProcessEnv } from './vulkan-env.js';

export type AdapterType = 'discrete' | 'integrated' | 'virtual' | 'cpu' | 'other';

export interface AdapterInfo {
  /** The Vulkan physical-device index (vulkaninfo's GPU<n>). */
  index: number;
  name: string;
  type: AdapterType;
  /** A CPU device (llvmpipe, SwiftShader): correct results, no GPU speed. */
  software: boolean;
  /** The graphics API under WebGPU here. */
  backend: 'vulkan';
  vendorId: string;
  deviceId: string;
  apiVersion?: string;
  driverName?: string;
  driverInfo?: string;
  /** "dddd:bb:dd.f", when the driver reports it (VK_EXT_pci_bus_info). */
  pciAddress?: string;
  limits: AdapterLimits;
}

/** The Vulkan limits that bound what the WebGPU provider can dispatch and hold. */
export interface AdapterLimits {
  maxStorageBufferRange?: number;
  maxComputeSharedMemorySize?: number;
  maxComputeWorkGroupInvocations?: number;
  maxComputeWorkGroupSize?: number[];
  maxComputeWorkGroupCount?: number[];
  maxMemoryAllocationCount?: number;
  /** Bytes of the largest device-local memory heap. */
  deviceLocalBytes?: number;
}

export interface AdapterList {
  adapters: AdapterInfo[];
  /** Why the list is empty or incomplete (vulkaninfo missing, no Vulkan driver), for messages. */
  problem?: string;
}

const TYPE_BY_VULKAN: Record<string, AdapterType> = {
  PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: 'discrete',
  PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: 'integrated',
  PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: 'virtual',
  PHYSICAL_DEVICE_TYPE_CPU: 'cpu',
};

/** Dawn's order for the high-performance power preference; lower comes first. */
const DAWN_RANK: Record<AdapterType, number> = { discrete: 0, integrated: 1, virtual: 2, other: 3, cpu: 4 };

/** The caps on what vulkaninfo may print and how long it may take: it is a tool of this machine, not trusted. */
const MAX_VULKANINFO_BYTES = 16 << 20;
const VULKANINFO_TIMEOUT_MS = 15_000;

/**
 * Parse the text report of `vulkaninfo` (its default output, one "GPU<n>:" section per physical device
 * under "Device Properties and Extensions"). Unknown or missing fields are left out, never guessed.
 */
export function parseVulkaninfo(text: string): AdapterInfo[] {
  const start = text.indexOf('Device Properties and Extensions:');
  const body = start < 0 ? text : text.slice(start);
  const sections = body.split(/^GPU(\d+):[ \t]*$/m);
  const adapters: AdapterInfo[] = [];
  // split() with a capture group gives [before, index0, section0, index1, section1, ...]
  for (let i = 1; i + 1 < sections.length; i += 2) {
    const adapter = parseSection(Number(sections[i]), sections[i + 1]!);
    if (adapter) adapters.push(adapter);
  }
  return adapters;
}

function parseSection(index: number, section: string): AdapterInfo | undefined {
  const scalar = new Map<string, string>();
  const arrays = new Map<string, number[]>();
  const lines = section.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!;
    const kv = /^\t(\w+)\s*=\s*(.*?)\s*$/.exec(line);
    if (kv) {
      if (!scalar.has(kv[1]!)) scalar.set(kv[1]!, kv[2]!);
      continue;
    }
    const arr = /^\t(\w+): count = (\d+)\s*$/.exec(line);
    if (arr && !arrays.has(arr[1]!)) {
      const count = Math.min(Number(arr[2]), 16);
      const values: number[] = [];
      for (let j = 1; j <= count && k + j < lines.length; j++) {
        const v = /^\t\t(\d+)\s*$/.exec(lines[k + j]!);
        if (!v) break;
        values.push(Number(v[1]));
      }
      if (values.length === count) arrays.set(arr[1]!, values);
    }
  }
  const name = scalar.get('deviceName');
  if (!name) return undefined;
  const type = TYPE_BY_VULKAN[scalar.get('deviceType') ?? ''] ?? 'other';
  const num = (key: string): number | undefined => {
    const raw = scalar.get(key);
    if (raw === undefined) return undefined;
    const v = Number(raw.split(/\s/)[0]);
    return Number.isFinite(v) ? v : undefined;
  };
  const pci = ['pciDomain', 'pciBus', 'pciDevice', 'pciFunction'].map(num);
  const hex = (v: number, width: number): string => v.toString(16).padStart(width, '0');
  const limits: AdapterLimits = {};
  const setLimit = <K extends keyof AdapterLimits>(key: K, value: AdapterLimits[K] | undefined): void => {
    if (value !== undefined) limits[key] = value;
  };
  setLimit('maxStorageBufferRange', num('maxStorageBufferRange'));
  setLimit('maxComputeSharedMemorySize', num('maxComputeSharedMemorySize'));
  setLimit('maxComputeWorkGroupInvocations', num('maxComputeWorkGroupInvocations'));
  setLimit('maxComputeWorkGroupSize', arrays.get('maxComputeWorkGroupSize'));
  setLimit('maxComputeWorkGroupCount', arrays.get('maxComputeWorkGroupCount'));
  setLimit('maxMemoryAllocationCount', num('maxMemoryAllocationCount'));
  setLimit('deviceLocalBytes', deviceLocalBytes(section));
  return {
    index,
    name,
    type,
    software: type === 'cpu',
    backend: 'vulkan',
    vendorId: normalHex(scalar.get('vendorID')),
    deviceId: normalHex(scalar.get('deviceID')),
    ...optional('apiVersion', scalar.get('apiVersion')),
    ...optional('driverName', scalar.get('driverName')),
    ...optional('driverInfo', scalar.get('driverInfo')),
    ...(pci.every((v) => v !== undefined) ? { pciAddress: `${hex(pci[0]!, 4)}:${hex(pci[1]!, 2)}:${hex(pci[2]!, 2)}.${pci[3]!}` } : {}),
    limits,
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined || value === '' ? {} : ({ [key]: value } as Record<K, string>);
}

/** "0x10de" -> "10de"; vulkaninfo prints ids in hex with a 0x prefix. */
function normalHex(raw: string | undefined): string {
  if (!raw) return '';
  const v = raw.trim().toLowerCase().replace(/^0x/, '');
  return /^[0-9a-f]+$/.test(v) ? v.replace(/^0+(?=.)/, '') : '';
}

/** The largest heap flagged MEMORY_HEAP_DEVICE_LOCAL_BIT in the section's memory properties. */
function deviceLocalBytes(section: string): number | undefined {
  let best: number | undefined;
  const heap = /memoryHeaps\[\d+\]:\n\t\tsize\s*=\s*(\d+)[^\n]*\n(?:\t\t(?!flags)[^\n]*\n)*\t\tflags:[^\n]*\n((?:\t\t\t[^\n]*\n)*)/g;
  for (let m = heap.exec(section); m; m = heap.exec(section)) {
    if (/MEMORY_HEAP_DEVICE_LOCAL_BIT/.test(m[2]!)) best = Math.max(best ?? 0, Number(m[1]));
  }
  return best;
}

/** Adapters in the order Dawn offers them for the high-performance preference (stable within a type). */
export function dawnOrder(adapters: readonly AdapterInfo[]): AdapterInfo[] {
  return [...adapters].sort((a, b) => DAWN_RANK[a.type] - DAWN_RANK[b.type] || a.index - b.index);
}

/** Hardware adapters only, in Dawn's order: what `auto` and `--gpus` spread work over. */
export function hardwareAdapters(adapters: readonly AdapterInfo[]): AdapterInfo[] {
  return dawnOrder(adapters).filter((a) => !a.software);
}

/** "NVIDIA H200 (discrete, vulkan)" */
export function describeAdapter(a: AdapterInfo): string {
  return `${a.name} (${a.software ? 'software' : a.type}, ${a.backend})`;
}

let cached: Promise<AdapterList> | undefined;

/**
 * The Vulkan adapters of this machine, read once per process. Never throws: a machine without
 * vulkaninfo or without a Vulkan driver gets an empty list and the reason.
 */
export function listAdapters(): Promise<AdapterList> {
  cached ??= readAdapters();
  return cached;
}

async function readAdapters(): Promise<AdapterList> {
  const run = await runVulkaninfo();
  if ('problem' in run) return { adapters: [], problem: run.problem };
  const adapters = parseVulkaninfo(run.stdout);
  if (adapters.length === 0) return { adapters, problem: 'vulkaninfo lists no Vulkan device (no Vulkan driver installed?)' };
  return { adapters };
}

function runVulkaninfo(): Promise<{ stdout: string } | { problem: string }> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn('vulkaninfo', [], { env: vulkanProcessEnv(), stdio: ['ignore', 'pipe', 'ignore'], timeout: VULKANINFO_TIMEOUT_MS });
    } catch (err) {
      resolve({ problem: `vulkaninfo could not start (${(err as Error).message})` });
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    child.stdout.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes <= MAX_VULKANINFO_BYTES) chunks.push(c);
      else child.kill();
    });
    child.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ problem: err.code === 'ENOENT' ? 'vulkaninfo is not installed (Debian: apt-get install vulkan-tools)' : `vulkaninfo failed (${err.message})` }),
    );
    child.on('close', (code, signal) => {
      if (bytes > MAX_VULKANINFO_BYTES) resolve({ problem: `vulkaninfo printed more than ${MAX_VULKANINFO_BYTES} bytes` });
      else if (signal) resolve({ problem: `vulkaninfo was stopped (${signal})` });
      // vulkaninfo exits non-zero when the loader finds no driver; what it printed before still counts.
      else resolve(code === 0 || chunks.length ? { stdout: Buffer.concat(chunks).toString('utf8') } : { problem: `vulkaninfo exited with code ${code} (no Vulkan driver?)` });
    });
  });
}

/**
 * The environment that pins a process's Vulkan instance to one adapter, for a session process per GPU:
 * Mesa's device-select layer (installed with mesa-vulkan-drivers, and applied to every Vulkan driver,
 * NVIDIA's included) then exposes that device alone. By vendor:device id, or by PCI address where the
 * ids do not tell identical GPUs apart. Without the layer the variables are inert and Dawn opens its
 * first adapter.
 */
export function adapterSelectionEnv(a: AdapterInfo, all?: readonly AdapterInfo[]): Record<string, string> {
  const twins = (all ?? []).filter((b) => b.vendorId === a.vendorId && b.deviceId === a.deviceId).length > 1;
  if (twins) return a.pciAddress ? { DRI_PRIME: `pci-${a.pciAddress.replace(/[:.]/g, '_')}`, MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1' } : {};
  if (!a.vendorId || !a.deviceId) return {};
  return { MESA_VK_DEVICE_SELECT: `${a.vendorId}:${a.deviceId}`, MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1' };
}
