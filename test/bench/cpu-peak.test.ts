// CPU peak detection from /proc/cpuinfo text: vector width and VNNI from the flags, cores from the core ids,
// clock from cpufreq or "cpu MHz", and the fraction-of-peak arithmetic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fractionOfPeak, parseCpuPeak, peakFp32Gflops, peakInt8Gops } from '../../src/bench/cpu-peak.js';

interface Machine {
  vendor: string;
  family: number;
  model: string;
  cores: number;
  threadsPerCore: number;
  /** MHz of processor p. */
  mhz: (p: number) => number;
  flags: string;
}

/** /proc/cpuinfo text of a machine, one block per logical processor, with the fields the parser reads. */
function cpuinfo(m: Machine): string {
  const blocks: string[] = [];
  for (let p = 0; p < m.cores * m.threadsPerCore; p++)
    blocks.push([`processor\t: ${p}`, `vendor_id\t: ${m.vendor}`, `cpu family\t: ${m.family}`, `model name\t: ${m.model}`, `cpu MHz\t\t: ${m.mhz(p).toFixed(3)}`, 'physical id\t: 0', `core id\t\t: ${p % m.cores}`, `flags\t\t: ${m.flags}`].join('\n'));
  return blocks.join('\n\n') + '\n';
}

// This project's 2-core development machine: an AMD EPYC (Zen 4) guest, flags trimmed to the vector ones.
const ZEN4 = cpuinfo({ vendor: 'AuthenticAMD', family: 25, model: 'AMD EPYC', cores: 2, threadsPerCore: 1, mhz: () => 2596.132, flags: 'fpu sse sse2 ht pni ssse3 fma sse4_1 sse4_2 avx f16c hypervisor avx2 avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx512_bf16 avx512vbmi avx512_vbmi2 avx512_vnni avx512_bitalg avx512_vpopcntdq' });

function intelCpuinfo(flags: string, threadsPerCore: number): string {
  return cpuinfo({ vendor: 'GenuineIntel', family: 6, model: 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz', cores: 4, threadsPerCore, mhz: (p) => 1800 + p, flags });
}

test('Zen 4 with AVX-512: counted at 256-bit pipes, VNNI for int8, clock from cpu MHz', () => {
  const p = parseCpuPeak(ZEN4);
  const { model, cores, logicalCpus, vectorBits, fp32FlopsPerCycle, int8OpsPerCycle, clockSource, clockMHz } = p;
  assert.deepEqual({ model, cores, logicalCpus, vectorBits, fp32FlopsPerCycle, int8OpsPerCycle, clockSource, clockMHz }, { model: 'AMD EPYC', cores: 2, logicalCpus: 2, vectorBits: 256, fp32FlopsPerCycle: 32, int8OpsPerCycle: 128, clockSource: '/proc/cpuinfo "cpu MHz"', clockMHz: 2596.132 });
  assert.match(p.vectorBasis, /Zen 4/);
  assert.match(p.int8Basis, /avx512_vnni/);
  assert.ok(Math.abs(peakFp32Gflops(p) - 2 * 32 * 2.596132) < 1e-9);
  assert.ok(Math.abs(peakInt8Gops(p, 1) - 128 * 2.596132) < 1e-9);
  assert.match(p.how, /^2 cores x 32 fp32 FLOP\/cycle \(2 FMA pipes x 256-bit/);
});

test('Intel AVX-512 with VNNI and hyper-threads: 512-bit, physical cores, cpufreq max clock wins', () => {
  const p = parseCpuPeak(intelCpuinfo('fpu sse2 avx fma avx2 avx512f avx512bw avx512_vnni', 2), '3200000\n');
  const { cores, logicalCpus, vectorBits, fp32FlopsPerCycle, int8OpsPerCycle, clockSource, clockMHz } = p;
  assert.deepEqual({ cores, logicalCpus, vectorBits, fp32FlopsPerCycle, int8OpsPerCycle, clockSource, clockMHz }, { cores: 4, logicalCpus: 8, vectorBits: 512, fp32FlopsPerCycle: 64, int8OpsPerCycle: 256, clockSource: 'cpufreq cpuinfo_max_freq', clockMHz: 3200 });
  assert.equal(peakFp32Gflops(p), 4 * 64 * 3.2);
});

test('AVX2 without VNNI: 256-bit, int8 at twice the fp32 rate; the largest cpu MHz is taken without cpufreq', () => {
  const p = parseCpuPeak(intelCpuinfo('fpu sse2 avx fma avx2', 1), '');
  assert.equal(p.vectorBits, 256);
  assert.equal(p.fp32FlopsPerCycle, 32);
  assert.equal(p.int8OpsPerCycle, 64);
  assert.match(p.int8Basis, /no VNNI/);
  assert.equal(p.clockMHz, 1803);
  const avxVnni = parseCpuPeak(intelCpuinfo('fpu avx fma avx2 avx_vnni', 1));
  assert.equal(avxVnni.int8OpsPerCycle, 128);
  const old = parseCpuPeak(intelCpuinfo('fpu sse2 sse4_2', 1));
  assert.equal(old.vectorBits, 128);
  assert.throws(() => parseCpuPeak(''), /no processor entries/);
});

test('fraction of peak: time at peak for the float and integer parts over the measured time', () => {
  const p = parseCpuPeak(intelCpuinfo('avx2 fma avx512f avx512_vnni', 1), '2000000');
  // 1 core: 128 GFLOP/s fp32, 512 GOP/s int8. 100 samples/s of 0.64 GFLOP fp32 + 2.56 GOP int8 each:
  // at peak a sample takes 5 ms + 5 ms, so 100 samples/s is exactly the peak.
  assert.ok(Math.abs(fractionOfPeak(p, 1, 100, 0.64e9, 2.56e9) - 1) < 1e-12);
  assert.ok(Math.abs(fractionOfPeak(p, 1, 25, 1.28e9, 0) - 0.25) < 1e-12);
});
