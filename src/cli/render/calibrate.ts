// The human text of `cai calibrate`: the progress line while it measures, the profile it wrote, and what
// `--from-run` changed.
import type { CalibrationProgress } from '../../planner/calibrate/measure.js';
import type { Refined } from '../../planner/calibrate/refine.js';
import type { Profile } from '../../planner/profile.js';

const num = (x: number): string => (Math.abs(x) >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : Math.abs(x) >= 100 ? x.toFixed(0) : Number(x.toPrecision(3)).toString());

export function calibrationProgressLine(p: CalibrationProgress): string {
  const eta = p.etaS === null ? 'ETA ?' : `ETA ${Math.ceil(p.etaS)} s`;
  return `calibrating: step ${p.done + 1}/${p.total}: ${p.step}  |  ${eta}`;
}

export function renderProfile(p: Profile, file: string): string {
  const batches = [...new Set(p.throughput.map((t) => t.batchSize))].sort((a, b) => a - b);
  const threads = [...new Set(p.throughput.map((t) => t.threads))].sort((a, b) => a - b);
  const rate = (t: number, b: number) => p.throughput.find((x) => x.threads === t && x.batchSize === b)?.samplesPerS;
  const lines = [
    `profile: ${p.label}`,
    `  machine ${p.machine.cpuModel}, ${p.machine.cores} cores${p.machine.loadAverage !== undefined ? `, load average ${p.machine.loadAverage} while measuring` : ''}; device ${p.device.adapter ? `${p.device.kind} (${p.device.adapter})` : p.device.kind}`,
    `  samples/s of one instance (data in memory):`,
    `    ${'threads'.padEnd(8)}${batches.map((b) => `batch ${b}`.padStart(12)).join('')}`,
    ...threads.map((t) => `    ${String(t).padEnd(8)}${batches.map((b) => (rate(t, b) !== undefined ? num(rate(t, b)!) : '-').padStart(12)).join('')}`),
    ...(p.allCores ? [`    ${p.allCores.instances} one-thread instances at once (all cores busy), batch ${p.allCores.batchSize}: ${num(p.allCores.samplesPerS)} each`] : []),
    `  model load ${num(p.modelLoadS)} s, worker start ${num(p.workerStartS)} s, partition read ${num(p.readBytesPerS / 1e6)} MB/s (sha256 included)`,
    `  per-partition overhead ${num(p.partitionOverheadS ?? 0)} s, run fixed cost ${num(p.orchestrationS ?? 0)} s, instance memory ${num(p.instanceMemoryMB ?? 0)} MB`,
  ];
  if (p.lambda) lines.push(`  lambda (from ${p.lambda.runs.length} AWS run(s)): ${num(p.lambda.samplesPerS)} samples/s per rank at ${p.lambda.memoryMB} MB, cold start ${num(p.lambda.coldStartS)} s, S3 ${num(p.lambda.s3BytesPerS / 1e6)} MB/s, orchestration ${num(p.lambda.timeParams?.orchestrationS ?? 0)} s + ${num(p.lambda.timeParams?.resultReadS ?? 0)} s per result`);
  lines.push(`written: ${file}`);
  return lines.join('\n');
}

export function renderRefined(r: Refined, file: string): string {
  const lines = [`refined from a ${r.kind === 'local' ? 'run on this machine' : 'run on AWS Lambda'}:`];
  for (const c of r.changes) lines.push(`  ${c.figure.padEnd(44)} ${(c.before === null ? '-' : num(c.before)).padStart(10)} -> ${num(c.after)}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  lines.push(renderProfile(r.profile, file));
  return lines.join('\n');
}
