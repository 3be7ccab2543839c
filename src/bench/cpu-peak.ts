// The CPU's arithmetic peak, so that benchmarks can say how far from the hardware a figure is:
//   peak = cores x FLOPs per cycle per core x clock,
//   FLOPs per cycle per core (fp32) = FMA pipes x (vector bits / 32) x 2,
//   int8 ops per cycle per core = FMA pipes x (vector bits / 8) x 2 with VNNI (VPDPBUSD: four 8-bit
//   multiply-adds per 32-bit lane in one instruction), half that without (VPMADDUBSW + VPMADDWD).
// The vector width comes from the /proc/cpuinfo flags (avx512f: 512, avx2 + fma: 256, else 128); two FMA
// pipes per core is assumed (true of current server cores, a few client parts have one); AMD Zen 4
// (family 0x19 with AVX-512) runs 512-bit instructions on 256-bit pipes and is counted at 256 bits.
// The clock is cpufreq's cpuinfo_max_freq when the kernel exposes it, else the largest "cpu MHz" of
// /proc/cpuinfo (under a hypervisor often the nominal clock: boost would raise the peak). Pure parsing
// here; the benchmark reads the files.

export interface CpuPeak {
  model: string;
  /** Physical cores: distinct (physical id, core id) pairs, else the processor count. */
  cores: number;
  logicalCpus: number;
  clockMHz: number;
  clockSource: string;
  /** The vector width that sets the throughput, and the flags it came from. */
  vectorBits: number;
  vectorBasis: string;
  fmaPipes: number;
  fp32FlopsPerCycle: number;
  int8OpsPerCycle: number;
  int8Basis: string;
  /** One sentence: how the figures were derived. */
  how: string;
}

interface Processor {
  fields: Map<string, string>;
}

function processors(cpuinfo: string): Processor[] {
  const out: Processor[] = [];
  for (const block of cpuinfo.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      fields.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    if (fields.has('processor')) out.push({ fields });
  }
  return out;
}

/**
 * Derive the peak from the text of /proc/cpuinfo and, when present, of
 * /sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq (kHz).
 */
export function parseCpuPeak(cpuinfo: string, maxFreqKHz?: string): CpuPeak {
  const procs = processors(cpuinfo);
  if (procs.length === 0) throw new Error('no processor entries in /proc/cpuinfo');
  const first = procs[0]!.fields;
  const flags = new Set((first.get('flags') ?? first.get('features') ?? '').split(/\s+/).filter(Boolean));
  const model = first.get('model name') ?? first.get('cpu model') ?? first.get('hardware') ?? 'unknown CPU';
  const coreIds = new Set(procs.filter((p) => p.fields.has('core id')).map((p) => `${p.fields.get('physical id') ?? 0}/${p.fields.get('core id')}`));
  const cores = coreIds.size || procs.length;

  const freq = Number(maxFreqKHz?.trim());
  let clockMHz: number;
  let clockSource: string;
  if (Number.isFinite(freq) && freq > 0) {
    clockMHz = freq / 1000;
    clockSource = 'cpufreq cpuinfo_max_freq';
  } else {
    const mhz = procs.map((p) => Number(p.fields.get('cpu mhz'))).filter((v) => Number.isFinite(v) && v > 0);
    clockMHz = mhz.length ? Math.max(...mhz) : 0;
    clockSource = mhz.length ? '/proc/cpuinfo "cpu MHz"' : 'unknown (no clock in /proc/cpuinfo or cpufreq)';
  }

  const family = Number(first.get('cpu family'));
  const amd = first.get('vendor_id') === 'AuthenticAMD';
  let vectorBits = 128;
  let vectorBasis = 'no avx2+fma or avx512f flag: 128-bit vectors assumed';
  if (flags.has('avx512f')) {
    if (amd && family === 0x19) {
      vectorBits = 256;
      vectorBasis = 'avx512f on AMD family 0x19 (Zen 4): 512-bit instructions on 256-bit pipes';
    } else {
      vectorBits = 512;
      vectorBasis = 'avx512f';
    }
  } else if (flags.has('avx2') && flags.has('fma')) {
    vectorBits = 256;
    vectorBasis = 'avx2 + fma';
  }
  const fmaPipes = 2;
  const fp32FlopsPerCycle = fmaPipes * (vectorBits / 32) * 2;
  const vnni = flags.has('avx512_vnni') && flags.has('avx512f') ? 'avx512_vnni' : flags.has('avx_vnni') ? 'avx_vnni' : undefined;
  const int8OpsPerCycle = vnni ? fmaPipes * (vectorBits / 8) * 2 : fmaPipes * (vectorBits / 8);
  const int8Basis = vnni ? `${vnni} (VPDPBUSD, 4 int8 multiply-adds per 32-bit lane)` : 'no VNNI flag: VPMADDUBSW + VPMADDWD, half the VNNI rate';
  const how = `${cores} cores x ${fp32FlopsPerCycle} fp32 FLOP/cycle (${fmaPipes} FMA pipes x ${vectorBits}-bit, ${vectorBasis}) x ${clockMHz.toFixed(0)} MHz (${clockSource}); int8: ${int8OpsPerCycle} op/cycle per core from ${int8Basis}`;
  return { model, cores, logicalCpus: procs.length, clockMHz, clockSource, vectorBits, vectorBasis, fmaPipes, fp32FlopsPerCycle, int8OpsPerCycle, int8Basis, how };
}

/** Peak fp32 GFLOP/s of `cores` cores. */
export function peakFp32Gflops(p: CpuPeak, cores = p.cores): number {
  return (cores * p.fp32FlopsPerCycle * p.clockMHz) / 1000;
}

/** Peak int8 GOP/s (2 per multiply-add) of `cores` cores. */
export function peakInt8Gops(p: CpuPeak, cores = p.cores): number {
  return (cores * p.int8OpsPerCycle * p.clockMHz) / 1000;
}

/**
 * The fraction of the peak a measured rate reaches, for a model whose work per sample is `fp32Flops`
 * on float units and `int8Ops` on integer units: the time the peak would need over the time measured.
 */
export function fractionOfPeak(p: CpuPeak, cores: number, samplesPerS: number, fp32Flops: number, int8Ops: number): number {
  const fp = peakFp32Gflops(p, cores) * 1e9;
  const i8 = peakInt8Gops(p, cores) * 1e9;
  if (fp <= 0 || i8 <= 0) return NaN;
  return samplesPerS * (fp32Flops / fp + int8Ops / i8);
}
