// Speed of the synthetic generator, against baselines measured in the same run: the catalogue alone (no
// images) and a noise-only fill of the same image array (the least any image generator must do). CPU time
// is reported next to wall time because shared machines make wall time noisy.
import { N_BANDS } from '../data/manifest.js';
import { PIXELS_PER_SAMPLE } from '../data/partition.js';
import { synthCatalog, synthesize } from '../data/synth/generator.js';
import { NOISE_TABLE } from '../data/synth/random.js';

export interface SynthBenchResult {
  samples: number;
  repeats: number;
  /** Full generator (catalogue + images + ids), best of the repeats. */
  galaxiesPerCpuSecond: number;
  galaxiesPerWallSecond: number;
  /** Catalogue only. */
  catalogPerCpuSecond: number;
  /** Filling 5x32x32 floats per galaxy with table noise only. */
  noiseOnlyPerCpuSecond: number;
  /** Full generator speed / noise-only speed (1 would mean images cost no more than their noise). */
  ratioToNoiseOnly: number;
  /** One-off cost of the first call (building the photometry table), milliseconds of CPU. */
  firstCallCpuMs: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Galaxies per call, about one 25 MB partition: memory use stays flat and both sides allocate alike. */
const CHUNK = 1000;

function noiseOnly(n: number, seed: number): Float32Array {
  const image = new Float32Array(n * PIXELS_PER_SAMPLE);
  const table = NOISE_TABLE;
  let state = seed | 1;
  for (let p = 0; p < image.length; p += 2) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    image[p] = 0.05 * table[state & 0xffff]!;
    image[p + 1] = 0.05 * table[(state >>> 16) & 0xffff]!;
  }
  return image;
}

export function runSynthBench(opts: { samples?: number; repeats?: number; seed?: number; onStep?: (text: string) => void } = {}): SynthBenchResult {
  const samples = opts.samples ?? 20_000;
  const repeats = opts.repeats ?? 3;
  const seed = opts.seed ?? 1;
  let c0 = cpuMs();
  synthesize({ samples: 1, seed });
  const firstCallCpuMs = cpuMs() - c0;
  synthesize({ samples: Math.min(2000, samples), seed }); // warm the JIT
  let best = { cpu: Infinity, wall: Infinity, cat: Infinity, noise: Infinity };
  let sink = 0;
  for (let r = 0; r < repeats; r++) {
    opts.onStep?.(`repeat ${r + 1}/${repeats}: generator`);
    c0 = cpuMs();
    const t0 = performance.now();
    for (let done = 0; done < samples; done += CHUNK) {
      const p = synthesize({ samples: Math.min(CHUNK, samples - done), seed, startIndex: r * samples + done });
      sink += p.magnitude[N_BANDS - 1]!;
    }
    const cpu = cpuMs() - c0;
    const wall = performance.now() - t0;
    opts.onStep?.(`repeat ${r + 1}/${repeats}: catalogue only`);
    c0 = cpuMs();
    for (let done = 0; done < samples; done += CHUNK) sink += synthCatalog({ samples: Math.min(CHUNK, samples - done), seed, startIndex: r * samples + done }).length;
    const cat = cpuMs() - c0;
    opts.onStep?.(`repeat ${r + 1}/${repeats}: noise only`);
    c0 = cpuMs();
    for (let done = 0; done < samples; done += CHUNK) sink += noiseOnly(Math.min(CHUNK, samples - done), r + done + 1)[7]!;
    const noise = cpuMs() - c0;
    best = { cpu: Math.min(best.cpu, cpu), wall: Math.min(best.wall, wall), cat: Math.min(best.cat, cat), noise: Math.min(best.noise, noise) };
  }
  if (Number.isNaN(sink)) throw new Error('unreachable: keeps the work observable');
  const perSec = (ms: number): number => Math.round((samples / Math.max(ms, 1e-6)) * 1000);
  return {
    samples,
    repeats,
    galaxiesPerCpuSecond: perSec(best.cpu),
    galaxiesPerWallSecond: perSec(best.wall),
    catalogPerCpuSecond: perSec(best.cat),
    noiseOnlyPerCpuSecond: perSec(best.noise),
    ratioToNoiseOnly: Number((best.noise / best.cpu).toFixed(3)),
    firstCallCpuMs: Number(firstCallCpuMs.toFixed(1)),
  };
}

export function formatSynthBench(r: SynthBenchResult): string {
  return [
    `generator      ${r.galaxiesPerCpuSecond} galaxies per CPU second (${r.galaxiesPerWallSecond} per wall second), one thread`,
    `catalogue only ${r.catalogPerCpuSecond} per CPU second`,
    `noise only     ${r.noiseOnlyPerCpuSecond} per CPU second; generator / noise-only = ${r.ratioToNoiseOnly}`,
    `first call     ${r.firstCallCpuMs} ms CPU (photometry table)`,
    `best of ${r.repeats} runs of ${r.samples} galaxies`,
  ].join('\n');
}
