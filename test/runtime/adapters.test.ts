// Reading the machine's Vulkan adapters: vulkaninfo's report parsed field by field, Dawn's order, the
// environment that pins a session process to one adapter, and what `auto` makes of a software adapter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { adapterSelectionEnv, dawnOrder, hardwareAdapters, listAdapters, parseVulkaninfo } from '../../src/runtime/adapters.js';
import { planDevices } from '../../src/runtime/devices.js';
import { vulkanProcessEnv } from '../../src/runtime/vulkan-env.js';

const report = spawnSync('vulkaninfo', [], { encoding: 'utf8', env: vulkanProcessEnv(), maxBuffer: 64 << 20 });
const summary = spawnSync('vulkaninfo', ['--summary'], { encoding: 'utf8', env: vulkanProcessEnv() });
const noVulkaninfo = report.error || !/deviceName/.test(report.stdout ?? '') ? 'vulkaninfo lists no device here (as root, node scripts/provision.mjs installs it and llvmpipe)' : false;

/** One GPU section of a vulkaninfo report, with the fields that matter here. */
function section(i: number, f: { name: string; type: string; vendor: string; device: string; pci?: [number, number, number, number]; heap?: number }): string {
  return [
    `GPU${i}:`,
    'VkPhysicalDeviceProperties:',
    '---------------------------',
    '\tapiVersion        = 1.3.289 (4206881)',
    `\tvendorID          = ${f.vendor}`,
    `\tdeviceID          = ${f.device}`,
    `\tdeviceType        = ${f.type}`,
    `\tdeviceName        = ${f.name}`,
    '',
    'VkPhysicalDeviceLimits:',
    '-----------------------',
    '\tmaxStorageBufferRange                           = 4294967295',
    '\tmaxComputeSharedMemorySize                      = 49152',
    '\tmaxComputeWorkGroupSize: count = 3',
    '\t\t1024',
    '\t\t1024',
    '\t\t64',
    ...(f.pci ? ['VkPhysicalDevicePCIBusInfoPropertiesEXT:', `\tpciDomain   = ${f.pci[0]}`, `\tpciBus      = ${f.pci[1]}`, `\tpciDevice   = ${f.pci[2]}`, `\tpciFunction = ${f.pci[3]}`] : []),
    'VkPhysicalDeviceMemoryProperties:',
    '=================================',
    'memoryHeaps: count = 2',
    '\tmemoryHeaps[0]:',
    `\t\tsize   = ${f.heap ?? 1000} (0x0) (1 GiB)`,
    '\t\tbudget = 1 (0x1) (1 B)',
    '\t\tflags: count = 1',
    '\t\t\tMEMORY_HEAP_DEVICE_LOCAL_BIT',
    '\tmemoryHeaps[1]:',
    '\t\tsize   = 99999999 (0x0) (1 GiB)',
    '\t\tflags:',
    '\t\t\tNone',
    '',
  ].join('\n');
}

const machine = (sections: string[]): string => `VULKANINFO\n\nDevice Properties and Extensions:\n=================================\n${sections.join('\n')}`;

test("this machine's vulkaninfo report parses into the devices its summary lists", { skip: noVulkaninfo }, () => {
  const adapters = parseVulkaninfo(report.stdout);
  const names = [...summary.stdout.matchAll(/^\s*deviceName\s*=\s*(.+?)\s*$/gm)].map((m) => m[1]);
  const types = [...summary.stdout.matchAll(/^\s*deviceType\s*=\s*PHYSICAL_DEVICE_TYPE_(\w+)\s*$/gm)].map((m) => m[1]);
  assert.deepEqual(adapters.map((a) => a.name), names);
  adapters.forEach((a, i) => {
    assert.equal(a.index, i);
    assert.equal(a.software, types[i] === 'CPU');
    assert.equal(a.backend, 'vulkan');
    assert.match(a.vendorId, /^[0-9a-f]+$/);
    assert.ok(a.limits.maxStorageBufferRange! > 0);
    assert.equal(a.limits.maxComputeWorkGroupSize?.length, 3);
    assert.ok(a.limits.deviceLocalBytes! > 0);
  });
});

test('fields, limits and the device-local heap are read; Dawn puts discrete before integrated before CPU', () => {
  const text = machine([
    section(0, { name: 'llvmpipe (LLVM 19.1.7, 256 bits)', type: 'PHYSICAL_DEVICE_TYPE_CPU', vendor: '0x10005', device: '0x0000' }),
    section(1, { name: 'Intel(R) UHD Graphics 770', type: 'PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU', vendor: '0x8086', device: '0x4680' }),
    section(2, { name: 'NVIDIA H200', type: 'PHYSICAL_DEVICE_TYPE_DISCRETE_GPU', vendor: '0x10de', device: '0x2335', pci: [0, 0x1b, 0, 0], heap: 150_000_000_000 }),
  ]);
  const adapters = parseVulkaninfo(text);
  assert.deepEqual(adapters.map((a) => [a.index, a.type, a.software]), [[0, 'cpu', true], [1, 'integrated', false], [2, 'discrete', false]]);
  const h200 = adapters[2]!;
  assert.equal(h200.vendorId, '10de');
  assert.equal(h200.deviceId, '2335');
  assert.equal(h200.pciAddress, '0000:1b:00.0');
  assert.equal(h200.apiVersion, '1.3.289 (4206881)');
  assert.deepEqual(h200.limits, { maxStorageBufferRange: 4294967295, maxComputeSharedMemorySize: 49152, maxComputeWorkGroupSize: [1024, 1024, 64], deviceLocalBytes: 150_000_000_000 });
  assert.deepEqual(dawnOrder(adapters).map((a) => a.index), [2, 1, 0]);
  assert.deepEqual(hardwareAdapters(adapters).map((a) => a.name), ['NVIDIA H200', 'Intel(R) UHD Graphics 770']);
  assert.deepEqual(parseVulkaninfo('no devices here'), []);
});

test('a session process is pinned by vendor:device id, or by PCI address where GPUs are identical', () => {
  const twins = parseVulkaninfo(
    machine([
      section(0, { name: 'NVIDIA H100', type: 'PHYSICAL_DEVICE_TYPE_DISCRETE_GPU', vendor: '0x10de', device: '0x2330', pci: [0, 0x18, 0, 0] }),
      section(1, { name: 'NVIDIA H100', type: 'PHYSICAL_DEVICE_TYPE_DISCRETE_GPU', vendor: '0x10de', device: '0x2330', pci: [0, 0x2a, 0, 0] }),
      section(2, { name: 'AMD Instinct MI300X', type: 'PHYSICAL_DEVICE_TYPE_DISCRETE_GPU', vendor: '0x1002', device: '0x74a1' }),
    ]),
  );
  assert.deepEqual(adapterSelectionEnv(twins[1]!, twins), { DRI_PRIME: 'pci-0000_2a_00_0', MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1' });
  assert.deepEqual(adapterSelectionEnv(twins[2]!, twins), { MESA_VK_DEVICE_SELECT: '1002:74a1', MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1' });
  const noPci = twins.map((a) => ({ ...a, pciAddress: undefined }));
  assert.deepEqual(adapterSelectionEnv(noPci[0]!, noPci), {}, 'identical GPUs without a PCI address cannot be told apart');
});

test('auto never picks a software adapter: WebGPU is passed over, with the reason, unless a hardware GPU is listed', async () => {
  const { adapters } = await listAdapters();
  const plan = await planDevices('auto');
  const webgpu = plan.candidates.find((c) => c.device.name === 'webgpu')!;
  assert.equal(plan.candidates.at(-1)!.device.name, 'cpu');
  if (hardwareAdapters(adapters).length) {
    assert.equal(webgpu.skip, undefined);
    assert.ok(webgpu.adapters.every((a) => !a.software));
  } else {
    assert.match(webgpu.skip!, adapters.some((a) => a.software) ? /^WebGPU: only a software adapter, .* \(used only with --device webgpu\)$/ : /^WebGPU: no GPU adapter found/);
    assert.deepEqual(webgpu.adapters, []);
  }
  const explicit = await planDevices('webgpu');
  assert.equal(explicit.candidates.length, 1);
  assert.equal(explicit.candidates[0]!.skip, undefined, 'asked for, WebGPU is tried whatever the adapters');
});
