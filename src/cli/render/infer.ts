// The human text of single-process inference: the progress line of `cai infer` and its summary.
import type { InferReport } from '../../inference/infer-job.js';
import { describeAdapter } from '../../runtime/adapters.js';
import { fmtEta } from '../output.js';

export interface InferProgress {
  samplesDone: number;
  partitionsDone: number;
  samples: number;
  partitions: number;
}

export function inferProgressLine(p: InferProgress, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (p.samplesDone / elapsedMs) * 1000 : 0;
  const eta = rate > 0 ? (p.samples - p.samplesDone) / rate : NaN;
  return `partitions ${p.partitionsDone}/${p.partitions}  samples ${p.samplesDone.toLocaleString('en-US')}/${p.samples.toLocaleString('en-US')}  ${rate.toFixed(0)} samples/s  ${fmtEta(eta)}`;
}

const fmt = (v: number | null, digits = 4): string => (v === null ? 'n/a' : v.toFixed(digits));

export function renderInferReport(r: InferReport): string {
  const p = r.performance;
  const lines = [
    `Predicted ${p.samples} samples from ${r.data.partitions} partitions on ${p.device} in ${p.wallTimeS.toFixed(2)} s ` +
      `(model ${p.totalTimeS.toFixed(2)} s, ${fmt(p.samplesPerS, 0)} samples/s, ${p.throughputBps === null ? 'n/a' : (p.throughputBps / 1e6).toFixed(1)} Mbit/s of input; ` +
      `end to end ${fmt(p.endToEndSamplesPerS, 0)} samples/s; ${p.numBatches} batches of ${p.batchSize}; peak memory ${p.peakMemoryMB.toFixed(0)} MB)`,
  ];
  const pl = p.placement;
  if (p.adapter)
    lines.push(
      `GPU: ${describeAdapter(p.adapter)}${p.adapter.software ? ' (correct results, no GPU speed)' : ''}; ${pl.sessions} session(s) on ${pl.gpus} GPU slot(s); ` +
        `first session ${pl.firstSessionOpenS.toFixed(1)} s to open + ${pl.firstSessionWarmUpS.toFixed(1)} s warm-up batch`,
    );
  const a = r.accuracy;
  if (a)
    lines.push(
      `Accuracy: MAE ${fmt(a.mae)}  MSE ${fmt(a.mse)}  bias ${fmt(a.biasMean)} (median ${fmt(a.biasMedian)})  sigma_NMAD ${fmt(a.sigmaNmad)}  sigma_IQR ${fmt(a.sigmaIqr)}  ` +
        `R2 ${fmt(a.r2)}  outliers ${fmt(a.outlierRate === null ? null : a.outlierRate * 100, 2)}% (|dz|>0.15), ${fmt(a.outlierRateRail === null ? null : a.outlierRateRail * 100, 2)}% (RAIL)`,
    );
  else lines.push('Accuracy: not computed (the data set is unlabelled)');
  lines.push(`Wrote ${r.outputs.predictions} and ${r.outputs.metrics}`);
  return lines.join('\n');
}
