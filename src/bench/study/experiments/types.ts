// One experiment of the study: an id, a title, and what it measures on this machine given the context.
import type { StudyContext } from '../context.js';
import type { StudyExperiment } from '../results.js';

export type ExperimentResult = Omit<StudyExperiment, 'id' | 'title' | 'seconds'>;

export interface Experiment {
  id: string;
  title: string;
  run(ctx: StudyContext): Promise<ExperimentResult>;
}

/** a / b, or null when either is missing or b is not positive. */
export function ratioOf(a: number | null | undefined, b: number | null | undefined): number | null {
  return a !== null && a !== undefined && b !== null && b !== undefined && b > 0 && Number.isFinite(a) ? round(a / b, 4) : null;
}

/** Rounded to `digits` significant digits, for tables and JSON that people read. */
export function round(x: number, digits = 4): number {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : x;
}

/** A figure for a sentence: 3 significant digits, thousands separated ("1,790", "0.314"). */
export function fig(x: number): string {
  return round(x, 3).toLocaleString('en-US', { maximumSignificantDigits: 3 });
}
