// The human text of the data commands: what `cai data synth`, `cai data repartition` and `cai data import`
// wrote. (`cai data inspect` prints the library's own formatInspection.)
import { formatBytes } from '../../data/inspect.js';
import type { ImportReport } from '../../data/importers/import-job.js';

/** What `cai data synth` reports (its --json output). */
export interface SynthResult {
  manifest: string;
  samples: number;
  partitions: number;
  bytes: number;
  labelled: boolean;
  seed: number;
  seconds: number;
  samplesPerSecond: number;
}

export function renderSynthResult(r: SynthResult): string {
  return `synthesized ${r.samples} galaxies (seed ${r.seed}) into ${r.partitions} partitions (${formatBytes(r.bytes)}, ${r.labelled ? 'labelled' : 'unlabelled'}) in ${r.seconds.toFixed(1)} s (${r.samplesPerSecond}/s)\nmanifest: ${r.manifest}`;
}

/** What `cai data repartition` reports (its --json output). */
export interface RepartitionResult {
  manifest: string;
  from: string;
  samples: number;
  partitionsIn: number;
  partitions: number;
  bytes: number;
  seconds: number;
}

export function renderRepartitionResult(r: RepartitionResult): string {
  return `repartitioned ${r.samples} samples from ${r.partitionsIn} into ${r.partitions} partitions (${formatBytes(r.bytes)})\nmanifest: ${r.manifest}`;
}

export function renderImportReport(r: ImportReport): string {
  const lines = [`imported ${r.samples} samples from ${r.files.length} file${r.files.length === 1 ? '' : 's'} into ${r.partitions} partitions (${(r.bytes / 1e6).toFixed(1)} MB, ${r.labelled ? 'labelled' : 'unlabelled'})`, `manifest: ${r.manifest}`];
  for (const f of r.files) {
    const m = f.mapping;
    const ids = 'array' in m.objectId ? m.objectId.array : `sequential from ${m.objectId.sequentialFrom}`;
    lines.push(`  ${f.file} [${f.format}] ${f.samples} samples: image=${m.image.array} (${m.image.layout}) magnitude=${m.magnitude.array} redshift=${m.redshift?.array ?? '-'} object_id=${ids}`);
  }
  return lines.join('\n');
}
