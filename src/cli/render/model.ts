// The human text of the model commands: a model's description (`cai model inspect`) and what
// `cai model build` wrote.
import type { ModelInfo } from '../../model/inspect.js';
import type { QuantizeResult } from '../../model/quantize/quantize-file.js';
import type { Precision } from '../flags/precision.js';

/** What `cai model build` reports (its --json output). */
export interface BuildResult {
  out: string;
  bytes: number;
  source: 'weights' | 'seeded' | 'calibrated';
  weights?: string;
  seed?: number;
  parameters: number;
  flopsPerSample: number;
  calibration?: unknown;
  savedWeights?: string;
  precision: Precision;
  quantization?: unknown;
  seconds: number;
}

const fmtFlops = (f: number): string => `${(f / 1e9).toFixed(3)} GFLOP`;
const fmtParams = (p: number): string => `${(p / 1e6).toFixed(2)} M`;
const fmtShape = (s: (number | string | null)[] | null): string => (s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '(unknown)');

export function renderModelInfo(i: ModelInfo): string {
  const lines = [
    `${i.file}`,
    `  format      ONNX IR ${i.irVersion}, opset ${i.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}`,
    `  producer    ${i.producer || '(none)'}`,
    `  size        ${(i.bytes / 1e6).toFixed(1)} MB, ${i.nodes} nodes`,
    `  parameters  ${i.parameters.toLocaleString('en-US')} (${fmtParams(i.parameters)})`,
    `  FLOPs       ${fmtFlops(i.flopsPerSample)} per sample (2 x MACs of Conv/Gemm/MatMul)${i.unresolved.length ? `, lower bound: ${i.unresolved.length} nodes not sized` : ''}`,
    '  inputs',
    ...i.inputs.map((t) => `    ${t.name.padEnd(12)} ${t.dtype.padEnd(8)} ${fmtShape(t.shape)}`),
    '  outputs',
    ...i.outputs.map((t) => `    ${t.name.padEnd(12)} ${t.dtype.padEnd(8)} ${fmtShape(t.shape)}`),
  ];
  const meta = Object.entries(i.metadata);
  if (meta.length) {
    lines.push('  metadata');
    for (const [k, v] of meta) lines.push(`    ${k}: ${v.length > 400 ? v.slice(0, 400) + '…' : v}`);
  }
  return lines.join('\n');
}

export function renderBuildResult(report: BuildResult): string {
  const lines = [`wrote ${report.out} (${(report.bytes / 1e6).toFixed(1)} MB, ${fmtParams(report.parameters)} parameters, ${fmtFlops(report.flopsPerSample)}/sample) in ${report.seconds.toFixed(1)} s`];
  if (report.source === 'calibrated') {
    const c = report.calibration as { heldOut: { count: number; sigmaNmad: number; outlierRate: number; biasMean: number }; seconds: Record<string, number> };
    const h = c.heldOut;
    lines.push(`held-out (${h.count} synthetic galaxies${report.quantization ? ', the fp32 model before quantization' : ''}): sigma_NMAD ${h.sigmaNmad.toFixed(4)}, outliers ${(100 * h.outlierRate).toFixed(2)}%, bias ${h.biasMean.toFixed(4)}`);
    lines.push(`stages: ${Object.entries(c.seconds).map(([k, v]) => `${k} ${v.toFixed(1)}s`).join(', ')}`);
  } else if (report.source === 'seeded') lines.push(`seeded weights (seed ${report.seed}), not calibrated: outputs are not meaningful redshifts`);
  if (report.quantization) lines.push(...quantizeSummary(report.quantization as QuantizeResult['report']));
  if (report.savedWeights) lines.push(`weights saved to ${report.savedWeights}`);
  return lines.join('\n');
}

/** The human summary of a quantization: what was quantized, how, and what stayed in float and why. */
export function quantizeSummary(r: QuantizeResult['report']): string[] {
  const lines = [
    `int8: ${r.quantizedLayers} layers quantized (${r.form} form, ${r.weightLevels === 63 ? '7-bit' : '8-bit'} per-channel weights, ${r.activations} activations${r.calibrationSamples ? ` calibrated on ${r.calibrationSamples} samples` : ''}); ${r.floatLayers} kept in float32`,
  ];
  const byReason = new Map<string, string[]>();
  for (const l of r.layers) if (!l.quantized) byReason.set(l.reason!, [...(byReason.get(l.reason!) ?? []), l.node]);
  for (const [reason, nodes] of byReason) lines.push(`  float32 (${nodes.length}): ${reason}${nodes.length <= 4 ? ` [${nodes.join(', ')}]` : ''}`);
  return lines;
}
