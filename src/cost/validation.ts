// Validation of the run model against the study's published runs: leave one partition size out (fit the
// unknown figures on the other three, predict the fourth), and the whole set refitted to show the model
// reproduces the study. Pure: configurations in, rows and a text table out.
import { UsageError } from '../errors.js';
import { fmtUsd } from './format.js';
import { fitStudyFigures, measuredComputeUsd, publishedMemoryGB, referenceObservationsOf, studyRunConfig, type ReferenceConfig, type StudyFigures } from './reference.js';
import { fitTimeModel, predictRun, rankComputeUsd, type TimeModelParams } from './time-model.js';

export interface ValidationRow {
  partitionMB: number;
  dataGB: number;
  worldSize: number;
  measuredWallS: number;
  predictedWallS: number;
  /** (predicted - measured) / measured */
  wallError: number;
  measuredComputeUsd?: number;
  predictedComputeUsd?: number;
  computeError?: number;
}

export interface Fold {
  /** The partition size predicted (not fitted); undefined for the fit on everything. */
  heldOutMB?: number;
  figures: StudyFigures;
  params: TimeModelParams;
}

export interface ValidationResult {
  folds: Fold[];
  rows: ValidationRow[];
  worstWallError: number;
  worstComputeError: number;
  meanAbsWallError: number;
}

/** Fit on every partition size but one, predict that one; repeat for each size. */
export function leaveOnePartitionSizeOut(configs: readonly ReferenceConfig[]): ValidationResult {
  const sizes = [...new Set(configs.map((c) => c.partitionMB))].sort((a, b) => a - b);
  if (sizes.length < 3) throw new UsageError(`leave-one-out needs at least 3 partition sizes, got ${sizes.length}`);
  const folds: Fold[] = [];
  const rows: ValidationRow[] = [];
  for (const held of sizes) {
    const train = configs.filter((c) => c.partitionMB !== held);
    const fold = fitFold(train, held);
    folds.push(fold);
    rows.push(...configs.filter((c) => c.partitionMB === held).map((c) => predictRow(c, fold, configs)));
  }
  return summarise(folds, rows);
}

/** Fit on everything and predict everything: how closely the model with the study's figures reproduces the study. */
export function refitAll(configs: readonly ReferenceConfig[]): ValidationResult {
  const fold = fitFold(configs, undefined);
  return summarise([fold], configs.map((c) => predictRow(c, fold, configs)));
}

function fitFold(train: readonly ReferenceConfig[], heldOutMB: number | undefined): Fold {
  const figures = fitStudyFigures(train);
  const params = fitTimeModel(referenceObservationsOf(train, figures)).params;
  return { heldOutMB, figures, params };
}

function predictRow(c: ReferenceConfig, fold: Fold, all: readonly ReferenceConfig[]): ValidationRow {
  const memoryGB = publishedMemoryGB(c.partitionMB);
  const wall = predictRun(studyRunConfig(c, fold.figures), fold.params).wallS;
  const row: ValidationRow = { partitionMB: c.partitionMB, dataGB: c.dataGB, worldSize: c.worldSize, measuredWallS: c.wallS, predictedWallS: wall, wallError: (wall - c.wallS) / c.wallS };
  const measured = measuredComputeUsd(c, all);
  if (measured !== undefined && memoryGB !== undefined) {
    // Priced as the study priced it: the published memory of that partition size.
    const predicted = rankComputeUsd(predictRun({ ...studyRunConfig(c, fold.figures), memoryGB }, fold.params).cost);
    Object.assign(row, { measuredComputeUsd: measured, predictedComputeUsd: predicted, computeError: (predicted - measured) / measured });
  }
  return row;
}

function summarise(folds: Fold[], rows: ValidationRow[]): ValidationResult {
  const wallAbs = rows.map((r) => Math.abs(r.wallError));
  const costAbs = rows.filter((r) => r.computeError !== undefined).map((r) => Math.abs(r.computeError!));
  return {
    folds,
    rows,
    worstWallError: Math.max(...wallAbs),
    worstComputeError: costAbs.length ? Math.max(...costAbs) : 0,
    meanAbsWallError: wallAbs.reduce((s, x) => s + x, 0) / wallAbs.length,
  };
}

/** The table as Markdown: one row per configuration, errors as signed percentages; `limit` marks misses. */
export function formatValidationTable(result: ValidationResult, limit = 0.25): string {
  const pct = (x: number | undefined) => (x === undefined ? '-' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%${Math.abs(x) > limit ? ' !' : ''}`);
  const lines = [
    '| partition | data | W | wall measured | wall predicted | wall error | compute measured | compute predicted | compute error |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of result.rows) {
    lines.push(
      `| ${r.partitionMB} MB | ${r.dataGB} GB | ${r.worldSize} | ${r.measuredWallS.toFixed(1)} s | ${r.predictedWallS.toFixed(1)} s | ${pct(r.wallError)} | ${r.measuredComputeUsd === undefined ? '-' : fmtUsd(r.measuredComputeUsd)} | ${r.predictedComputeUsd === undefined ? '-' : fmtUsd(r.predictedComputeUsd)} | ${pct(r.computeError)} |`,
    );
  }
  return lines.join('\n');
}

/** One line per fold: what was fitted. */
export function formatFolds(result: ValidationResult): string {
  return result.folds
    .map(
      (f) =>
        `${f.heldOutMB === undefined ? 'all sizes' : `without ${f.heldOutMB} MB`}: orchestration ${f.params.orchestrationS.toFixed(2)} s + ${(f.params.resultReadS * 1000).toFixed(1)} ms per result read; ` +
        `${(f.figures.perSampleS * 1000).toFixed(3)} ms/sample + ${f.figures.partitionOverheadS.toFixed(2)} s per invocation; S3 ${Number.isFinite(f.figures.downloadBytesPerS) ? `${(f.figures.downloadBytesPerS / 1e6).toFixed(0)} MB/s` : 'unbounded'}`,
    )
    .join('\n');
}
