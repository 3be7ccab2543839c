#!/usr/bin/env node
// The summary of scripts/gpu-check.sh: samples/s on WebGPU and CPU (the same model and batch), GFLOP/s
// achieved (samples/s x the model's FLOPs per sample, from `cai model inspect`) against the GPU's FP32
// peak, and the max |diff| between the two runs' predictions. Also written as summary.json.
// Usage: node scripts/gpu-report.mjs RESULTS_DIR
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * FP32 peak (non-tensor-core) TFLOP/s from the vendors' data sheets, boost clock: the WebGPU provider runs
 * ordinary FP32 compute shaders, so this, not a tensor-core figure, is the ceiling it is measured against.
 * NVIDIA H200 / H100 / A100 / L4 / L40S / A10 / T4 / V100 product data sheets.
 */
const FP32_PEAK_TFLOPS = [
  { match: /H200 NVL/i, tflops: 60, sheet: 'NVIDIA H200 NVL' },
  { match: /H200/i, tflops: 67, sheet: 'NVIDIA H200 SXM' },
  { match: /H100 NVL/i, tflops: 60, sheet: 'NVIDIA H100 NVL' },
  { match: /H100 PCIe/i, tflops: 51, sheet: 'NVIDIA H100 PCIe' },
  { match: /H100/i, tflops: 67, sheet: 'NVIDIA H100 SXM' },
  { match: /A100/i, tflops: 19.5, sheet: 'NVIDIA A100 (SXM and PCIe)' },
  { match: /L40S/i, tflops: 91.6, sheet: 'NVIDIA L40S' },
  { match: /\bL4\b/i, tflops: 30.3, sheet: 'NVIDIA L4' },
  { match: /A10G/i, tflops: 31.2, sheet: 'NVIDIA A10 (AWS A10G)' },
  { match: /\bA10\b/i, tflops: 31.2, sheet: 'NVIDIA A10' },
  { match: /\bT4\b/i, tflops: 8.1, sheet: 'NVIDIA T4' },
  { match: /V100/i, tflops: 15.7, sheet: 'NVIDIA V100 SXM2' },
];

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/gpu-report.mjs RESULTS_DIR');
  process.exit(2);
}
const json = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

/** object_id -> z_pred of a predictions.csv (the ids as text: they exceed 2^53). */
function predictions(file) {
  const rows = readFileSync(join(dir, file), 'utf8').trim().split('\n').slice(1);
  return new Map(rows.map((r) => r.split(',')).map(([id, , z]) => [id, Number(z)]));
}

const model = json('model.json');
const benchGpu = json('bench-webgpu.json');
const benchCpu = json('bench-cpu.json');
const inferGpu = json('infer-webgpu.json');
const cpuPred = predictions('predictions-cpu.csv');
const gpuPred = predictions('predictions-webgpu.csv');
let maxDiff = 0;
for (const [id, z] of cpuPred) {
  const g = gpuPred.get(id);
  if (g === undefined) throw new Error(`predictions-webgpu.csv has no row for ${id}`);
  maxDiff = Math.max(maxDiff, Math.abs(g - z));
}

const adapter = benchGpu.placement?.adapters?.[0] ?? null;
const gpuName = adapter?.name ?? '(adapter not listed)';
const peak = adapter && !adapter.software ? FP32_PEAK_TFLOPS.find((p) => p.match.test(gpuName)) : undefined;
const flops = model.flopsPerSample;
const gflops = (samplesPerS) => (samplesPerS * flops) / 1e9;
const row = (label, r) => ({
  label,
  samples: r.samples,
  batch: r.batchSize,
  rawSamplesPerS: r.raw.samplesPerS,
  endToEndSamplesPerS: r.endToEnd.samplesPerS,
  rawGflops: gflops(r.raw.samplesPerS),
  endToEndGflops: gflops(r.endToEnd.samplesPerS),
});
const rows = [row(`webgpu  ${gpuName}`, benchGpu), row(`cpu     ${benchCpu.threads} threads`, benchCpu)];
const summary = {
  gpu: gpuName,
  adapter,
  flopsPerSample: flops,
  fp32PeakTflops: peak ? { value: peak.tflops, dataSheet: peak.sheet } : null,
  rows,
  speedup: benchGpu.raw.samplesPerS / benchCpu.raw.samplesPerS,
  maxAbsDiff: maxDiff,
  comparedSamples: cpuPred.size,
  firstSessionWarmUpS: inferGpu.performance.placement.firstSessionWarmUpS,
  profile: existsSync(join(dir, 'gpu-profile.json')) ? 'gpu-profile.json (cai calibrate --device webgpu --quick)' : 'not produced: cai calibrate --device webgpu failed (see the log)',
};
writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');

const f = (v, d = 1) => v.toFixed(d).padStart(10);
const pct = (g) => (peak ? `${((g / (peak.tflops * 1000)) * 100).toFixed(2).padStart(6)}% of peak` : '');
console.log(`GPU check: ${gpuName}${adapter?.software ? ' (software adapter: correctness only, no GPU speed)' : ''}`);
console.log(`model: ${(flops / 1e9).toFixed(3)} GFLOP per sample (cai model inspect); FP32 peak: ${peak ? `${peak.tflops} TFLOP/s (${peak.sheet} data sheet)` : 'not in the table'}`);
console.log(`${''.padEnd(42)}samples/s              GFLOP/s`);
console.log(`${''.padEnd(42)}raw   end-to-end       raw   end-to-end`);
for (const r of rows) console.log(`${r.label.padEnd(40).slice(0, 40)} ${f(r.rawSamplesPerS)} ${f(r.endToEndSamplesPerS)} ${f(r.rawGflops)} ${f(r.endToEndGflops)} ${pct(r.rawGflops)}`);
console.log(`webgpu / cpu (raw samples/s): ${summary.speedup.toFixed(2)}x (batch ${benchGpu.batchSize}; ${benchGpu.samples} and ${benchCpu.samples} samples)`);
console.log(`max |webgpu - cpu| over ${cpuPred.size} predictions: ${maxDiff.toExponential(2)}`);
console.log(`first WebGPU session: warm-up batch ${summary.firstSessionWarmUpS.toFixed(1)} s (shader compilation)`);
console.log(`GPU profile: ${summary.profile}`);
