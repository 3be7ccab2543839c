// `cai bench study`: the original study's experiments reproduced on this machine, each measured here, or
// for AWS and GPU modelled by the planner's model and labelled so, beside the published figures: one HTML
// page (study.html) with study.json, a CSV per experiment and the plots (SVG, PNG) beside it, and the
// headline table as Markdown (headline.md). An experiment that fails is recorded; the others still run.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitCodeOf, oneLine, UsageError } from '../../errors.js';
import { renderSvg, svgToPng } from '../../report/plots.js';
import { openStorage } from '../../storage/index.js';
import { FULL, QUICK, machineFacts, makeContext, type StudySizes } from './context.js';
import { EXPERIMENTS } from './experiments/index.js';
import { EXPERIMENT_IDS } from './ids.js';
import { experimentPlot, studyHtml } from './page.js';
import { readPublished } from './published.js';
import { STUDY_FORMAT, STUDY_VERSION, headlineMarkdown, studySchema, tableCsv, type StudyExperiment, type StudyResults } from './results.js';

export { FULL, QUICK, type StudySizes } from './context.js';
export { EXPERIMENT_IDS } from './ids.js';
export { parseStudy, type StudyResults, type StudyExperiment } from './results.js';

export interface StudyOptions {
  out: string;
  /** 'full' or 'quick' sizes, or sizes of one's own (mode 'custom'). */
  sizes?: StudySizes;
  quick?: boolean;
  /** Experiment ids to run (default: all). */
  only?: readonly string[];
  /** Model file (default: the built-in calibrated AstroMAE model). */
  model?: string;
  /** `done` of `total` in the step `label` ("2/6 batch size: batch 64"). */
  onStep?: (label: string, done: number, total: number) => void;
  /** A line when an experiment ends. */
  log?: (line: string) => void;
}

export interface StudyFiles {
  html: string;
  json: string;
  headline: string;
  csv: string[];
  svg: string[];
  png: string[];
}

export async function runStudy(o: StudyOptions): Promise<{ results: StudyResults; files: StudyFiles }> {
  const only: readonly string[] = o.only ?? EXPERIMENT_IDS;
  const unknown = only.filter((id) => !(EXPERIMENT_IDS as readonly string[]).includes(id));
  if (unknown.length) throw new UsageError(`--only: unknown experiment ${unknown.join(', ')} (the study has ${EXPERIMENT_IDS.join(', ')})`);
  const chosen = EXPERIMENTS.filter((e) => only.includes(e.id));
  const sizes = o.sizes ?? (o.quick ? QUICK : FULL);
  const mode = o.sizes ? 'custom' : o.quick ? 'quick' : 'full';
  const loadBefore = loadavg();
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const published = await readPublished();
  const model = o.model ?? (await (await import('../../model/builtin.js')).ensureBuiltinModel());
  const tmp = await mkdtemp(join(tmpdir(), 'cai-study-'));
  const experiments: StudyExperiment[] = [];
  const failures: StudyResults['failures'] = [];
  try {
    let current = '';
    const ctx = await makeContext({ sizes, model, tmp, published, step: (what, done, total) => o.onStep?.(`${current}: ${what}`, done, total) });
    for (const [i, e] of chosen.entries()) {
      current = `${i + 1}/${chosen.length} ${e.title}`;
      o.onStep?.(current, 0, 1);
      const started = performance.now();
      try {
        const r = await e.run(ctx);
        const seconds = (performance.now() - started) / 1000;
        experiments.push({ id: e.id, title: e.title, ...r, seconds: Math.round(seconds * 10) / 10 });
        o.log?.(`${e.title}: done in ${seconds.toFixed(1)} s`);
      } catch (err) {
        failures.push({ id: e.id, error: oneLine(err), exitCode: exitCodeOf(err) });
        o.log?.(`${e.title}: FAILED: ${oneLine(err)}`);
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const results = studySchema.parse({
    format: STUDY_FORMAT,
    version: STUDY_VERSION,
    mode,
    startedAt,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    machine: machineFacts(loadBefore),
    model,
    experiments,
    failures,
  });
  return { results, files: await writeStudy(o.out, results) };
}

/** Write the page, the JSON, the Markdown headline, and per experiment its CSV and plot. */
export async function writeStudy(out: string, results: StudyResults): Promise<StudyFiles> {
  const storage = openStorage(out);
  const files: StudyFiles = { html: join(out, 'study.html'), json: join(out, 'study.json'), headline: join(out, 'headline.md'), csv: [], svg: [], png: [] };
  const svgs = new Map<string, string>();
  for (const e of results.experiments) {
    const svg = await renderSvg(experimentPlot(e).spec);
    svgs.set(e.id, svg);
    await storage.put(`${e.id}.svg`, svg);
    await storage.put(`${e.id}.png`, svgToPng(svg));
    await storage.put(`${e.id}.csv`, tableCsv(e.columns, e.rows));
    files.svg.push(join(out, `${e.id}.svg`));
    files.png.push(join(out, `${e.id}.png`));
    files.csv.push(join(out, `${e.id}.csv`));
  }
  await storage.put('study.json', JSON.stringify(results, null, 2) + '\n');
  await storage.put('headline.md', headlineMarkdown(results));
  await storage.put('study.html', studyHtml(results, svgs, { csv: (id) => `${id}.csv`, json: 'study.json' }));
  return files;
}
