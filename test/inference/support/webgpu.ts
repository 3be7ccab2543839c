// Whether this machine can run the WebGPU tests: onnxruntime-node must bundle the provider here and
// Vulkan must list an adapter (llvmpipe after scripts/provision.mjs). Otherwise the tests skip and say why.
import { listAdapters } from '../../../src/runtime/adapters.js';
import { bundledProviders } from '../../../src/runtime/onnxruntime.js';

export async function webgpuSkipReason(): Promise<string | false> {
  if (!bundledProviders().includes('webgpu')) return `onnxruntime-node bundles no WebGPU provider on ${process.platform}-${process.arch}`;
  const { adapters, problem } = await listAdapters();
  if (adapters.length === 0) return `no Vulkan adapter (${problem ?? 'none listed'}); as root, node scripts/provision.mjs installs Mesa's software driver`;
  return false;
}
