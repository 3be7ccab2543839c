// The study's results: one versioned JSON document (study.json, with its zod schema) holding every
// experiment's table, plotted points and headline, and the CSV of each table beside it. This module is
// the one home of both formats: what writes them and what reads them back.
import { z } from 'zod';
import { DataError } from '../../errors.js';
import { parseContract } from '../../workflow/contracts.js';

export const STUDY_FORMAT = 'cai-study';
export const STUDY_VERSION = 1;
/** study.json is a few hundred KB at most; refuse anything far larger before parsing it. */
export const MAX_STUDY_BYTES = 16 * 1024 * 1024;

const figureKind = z.enum(['measured', 'modelled', 'published']);
const cell = z.union([z.number(), z.string(), z.null()]);

export const studyExperimentSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]{0,40}$/),
    title: z.string(),
    /** What the experiment does and what the original study did, in a sentence or two. */
    description: z.string(),
    x: z.object({ title: z.string(), log: z.boolean() }).strict(),
    y: z.object({ title: z.string(), log: z.boolean() }).strict(),
    /** The plotted figures: one series per source, each labelled with where it comes from. */
    points: z.array(z.object({ series: z.string(), kind: figureKind, x: z.number().finite(), y: z.number().finite() }).strict()),
    /** The table (and the CSV): columns in order; `kind` marks where a column's figures come from. */
    columns: z.array(z.object({ key: z.string(), title: z.string(), kind: z.enum(['setting', 'measured', 'modelled', 'published', 'ratio']) }).strict()),
    rows: z.array(z.record(cell)),
    /** One or two lines for the headline table: a figure here against a reference figure, and their ratio. */
    headline: z.array(z.object({ what: z.string(), here: z.string(), reference: z.string(), ratio: z.number().finite().nullable(), ratioMeaning: z.string() }).strict()),
    notes: z.array(z.string()),
    /** Wall time the experiment took here. */
    seconds: z.number().nonnegative(),
  })
  .strict();
export type StudyExperiment = z.infer<typeof studyExperimentSchema>;
export type StudyColumn = StudyExperiment['columns'][number];
export type StudyRow = StudyExperiment['rows'][number];
export type StudyPoint = StudyExperiment['points'][number];

export const machineSchema = z
  .object({
    cpuModel: z.string(),
    cores: z.number().int().positive(),
    memoryGB: z.number().positive(),
    node: z.string(),
    platform: z.string(),
    /** 1-, 5- and 15-minute load averages when the study started and ended. */
    loadBefore: z.array(z.number()).length(3),
    loadAfter: z.array(z.number()).length(3),
    /** True when other work kept the machine busy (load above its cores): figures will move on a quiet one. */
    shared: z.boolean(),
  })
  .strict();
export type StudyMachine = z.infer<typeof machineSchema>;

export const studySchema = z
  .object({
    format: z.literal(STUDY_FORMAT),
    version: z.literal(STUDY_VERSION),
    /** quick, full, or custom (sizes given). */
    mode: z.string(),
    startedAt: z.string(),
    seconds: z.number().nonnegative(),
    machine: machineSchema,
    model: z.string(),
    experiments: z.array(studyExperimentSchema),
    /** Experiments that did not finish, with the one-line error; the others' figures stand. */
    failures: z.array(z.object({ id: z.string(), error: z.string(), exitCode: z.number().int() }).strict()),
  })
  .strict();
export type StudyResults = z.infer<typeof studySchema>;

export function parseStudy(text: string, file: string): StudyResults {
  if (text.length > MAX_STUDY_BYTES) throw new DataError(file, `${text.length} bytes is more than the ${MAX_STUDY_BYTES} allowed`);
  return parseContract(studySchema, text, file);
}

/** A table as CSV: a header of the column keys, numbers as they are, text quoted when it needs to be. */
export function tableCsv(columns: readonly StudyColumn[], rows: readonly StudyRow[]): string {
  const cellText = (v: StudyRow[string] | undefined) => (v === null || v === undefined ? '' : typeof v === 'number' ? String(v) : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [columns.map((c) => c.key).join(','), ...rows.map((r) => columns.map((c) => cellText(r[c.key])).join(','))].join('\n') + '\n';
}

/** The headline rows of every experiment as a Markdown table (the README's). */
export function headlineMarkdown(s: StudyResults): string {
  const lines = ['| experiment | what | here | reference | ratio |', '| --- | --- | ---: | ---: | ---: |'];
  for (const e of s.experiments) for (const h of e.headline) lines.push(`| ${e.title} | ${h.what} | ${h.here} | ${h.reference} | ${h.ratio === null ? '-' : `${fmtRatio(h.ratio)} (${h.ratioMeaning})`} |`);
  return lines.join('\n') + '\n';
}

export function fmtRatio(r: number): string {
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(2) : r.toPrecision(2)}x`;
}
