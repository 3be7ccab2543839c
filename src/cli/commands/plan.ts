// `cai plan`: every platform's candidates for a data set, the Pareto front of time against cost (table and
// plot), and the pick under a deadline and budget with a one-line reason. `--sweep` draws where each
// platform wins from 10 MB to 10 TB instead.
import { Option, type Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BYTES_PER_SAMPLE, fitStudyFigures, fitTimeModel, referenceConfigurations, referenceObservationsOf, scaleRuns } from '../../cost/index.js';
import { UsageError } from '../../errors.js';
import { PLATFORM_NAMES } from '../../planner/platforms/index.js';
import { frontPlot, sweepPlot, type MeasuredPoint } from '../../planner/plot.js';
import { OBJECTIVES, pickCandidate, type Objective } from '../../planner/pick.js';
import { predictionOf } from '../../planner/prediction.js';
import { enumerateCandidates, type Candidate } from '../../planner/search.js';
import { consistentScaleRuns, studyMeasuredPoints, studyModelledPoints } from '../../planner/study.js';
import { crossovers, sweep, SWEEP_SIZES_GB } from '../../planner/sweep.js';
import type { DataLocation, PlanEnv, Workload } from '../../planner/types.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { action, emit, Progress } from '../output.js';
import { checkOutputDir, nonNegativeNumber, positiveNumber } from '../parse.js';
import { candidateJson, formatPlan, formatSweep } from '../render/plan.js';
import { inputOptions, parsePlatforms, readEnv, readWorkload, type PlannerInputFlags } from '../flags/planner-inputs.js';

interface PlanFlags extends PlannerInputFlags {
  deadline?: number;
  budget?: number;
  objective: Objective;
  platforms?: string;
  all?: boolean;
  sweep?: boolean;
  out?: string;
  json?: boolean;
}

/** The study's published runs, shipped with the repository (not with the npm package). */
const REFERENCE_DIR = fileURLToPath(new URL('../../../reference/', import.meta.url));

export function register(program: Command): void {
  const cmd = program.command('plan').description('candidates on local, lambda, gpu and ec2, their Pareto front of time against cost, and the pick');
  for (const o of inputOptions()) cmd.addOption(o);
  cmd
    .option('--deadline <s>', 'longest acceptable wall time, seconds', positiveNumber)
    .option('--budget <usd>', 'most a run may cost, USD', nonNegativeNumber)
    .addOption(new Option('--objective <o>', 'time: fastest; cost: cheapest; balanced: least time x cost').choices(OBJECTIVES).default('balanced'))
    .option('--platforms <list>', `platforms to consider, comma-separated (default: ${PLATFORM_NAMES.join(',')})`)
    .option('--all', 'list every candidate, not only the front')
    .option('--sweep', 'instead of one data set: the best platform by time and by cost for 10 MB to 10 TB (writes where-platforms-win.svg/.png with --out)')
    .option('--out <dir>', 'write plan.json and the plot (front.svg, front.png) here')
    .option('--json', 'print the plan as JSON')
    .addHelpText(
      'after',
      `
All figures are modelled (docs/planner.md). The pick is the best candidate that can run and meets
--deadline and --budget; when none does, exit code 6 and one line naming the nearest candidates.

Examples:
  cai plan --data ./sdss
  cai plan --data-gb 12.6 --deadline 120 --out ./plan
  cai plan --data-gb 1000 --budget 5 --objective time --json
  cai plan --sweep --out docs/img

Exit codes: 2 bad flags; 3 an unreadable manifest, profile or price catalog; 6 nothing meets the
deadline or budget.`,
    )
    .action(
      action(async (flags: PlanFlags) => {
        if (flags.out) await checkOutputDir(flags.out);
        const platforms = parsePlatforms(flags.platforms);
        if (flags.sweep) return runSweep(flags);
        const progress = new Progress(flags);
        const w = await readWorkload(flags);
        const { env } = await readEnv(flags);
        progress.update('predicting candidates', true);
        const candidates = enumerateCandidates(w, env, platforms);
        progress.done();
        let pick: ReturnType<typeof pickCandidate> | undefined;
        let failure: unknown;
        try {
          pick = pickCandidate(candidates, { deadlineS: flags.deadline, budgetUsd: flags.budget, objective: flags.objective });
        } catch (err) {
          failure = err;
        }
        const doc = planJson(w, env, candidates, pick, flags);
        const files = flags.out ? await writePlanFiles(flags.out, doc, candidates, pick?.index, w) : [];
        emit(flags, { ...doc, files }, () => formatPlan(w, candidates, pick, flags, files));
        if (failure) throw failure;
      }),
    );
}

function planJson(w: Workload, env: PlanEnv, candidates: Candidate[], pick: ReturnType<typeof pickCandidate> | undefined, f: PlanFlags): Record<string, unknown> {
  const chosen = pick ? candidates[pick.index] : undefined;
  return {
    workload: w,
    constraints: { deadline_s: f.deadline ?? null, budget_usd: f.budget ?? null, objective: f.objective },
    modelled: true,
    pick: chosen ? { ...candidateJson(chosen), reason: pick!.reason, cost: chosen.cost, notes: chosen.notes, prediction: predictionOf(chosen, env) } : null,
    candidates: candidates.map(candidateJson),
  };
}

async function writePlanFiles(dir: string, doc: Record<string, unknown>, candidates: Candidate[], pickIndex: number | undefined, w: Workload): Promise<string[]> {
  // Loaded on use: vega and resvg are only needed to draw.
  const { renderSvg, svgToPng } = await import('../../report/plots.js');
  const svg = await renderSvg(frontPlot(candidates, pickIndex, `Pareto front for ${w.description}`));
  const files = [join(dir, 'plan.json'), join(dir, 'front.svg'), join(dir, 'front.png')];
  await writeFileAtomic(files[0], JSON.stringify(doc, null, 2) + '\n', { mkdir: true });
  await writeFileAtomic(files[1], svg, { mkdir: true });
  await writeFileAtomic(files[2], svgToPng(svg), { mkdir: true });
  return files;
}


async function runSweep(f: PlanFlags): Promise<void> {
  if (f.data !== undefined || f.dataGb !== undefined || f.samples !== undefined) throw new UsageError('--sweep covers 10 MB to 10 TB itself: leave out --data, --data-gb and --samples');
  const { env } = await readEnv(f);
  const location: DataLocation = f.dataAt ?? 's3';
  const progress = new Progress(f);
  progress.update(`planning ${SWEEP_SIZES_GB.length} data sizes`, true);
  const rows = sweep(env, location, BYTES_PER_SAMPLE);
  progress.done();
  const study = await studyPoints();
  const files: string[] = [];
  if (f.out) {
    const { renderSvg, svgToPng } = await import('../../report/plots.js');
    const subtitle = [
      `lines: each platform's best; diamonds: the winner; data set ${location === 's3' ? 'in S3' : 'on this machine'}; profile: ${env.cpuProfile.isDefault ? 'built-in default' : env.cpuProfile.label}`,
      "black marks: the study's measured AWS Lambda runs; dashed: the same model on the study's own figures",
    ];
    const svg = await renderSvg(sweepPlot(rows, study.measured, study.modelled, subtitle));
    files.push(join(f.out, 'where-platforms-win.svg'), join(f.out, 'where-platforms-win.png'), join(f.out, 'where-platforms-win.json'));
    await writeFileAtomic(files[0], svg, { mkdir: true });
    await writeFileAtomic(files[1], svgToPng(svg), { mkdir: true });
    await writeFileAtomic(files[2], JSON.stringify({ modelled: true, location, profile: env.cpuProfile.label, rows }, null, 2) + '\n', { mkdir: true });
  }
  emit(f, { modelled: true, location, rows, crossovers: { byTime: crossovers(rows, 'byTime'), byCost: crossovers(rows, 'byCost') }, files }, () => formatSweep(rows, files, study.note));
}

/** The study's measured runs and the model on its figures, when the repository's reference data is there. */
async function studyPoints(): Promise<{ measured: MeasuredPoint[]; modelled: MeasuredPoint[]; note?: string }> {
  try {
    const read = (p: string) => readFile(join(REFERENCE_DIR, p), 'utf8');
    const configs = referenceConfigurations(await read('cai/aws_total_execution_time.csv'), await read('cai/aws_partition_stats.csv'));
    const figures = fitStudyFigures(configs);
    const params = fitTimeModel(referenceObservationsOf(configs, figures)).params;
    const scale = consistentScaleRuns(scaleRuns(await read('cai-scale/state_machine_logs.csv')), figures.partitionOverheadS + 5113 * figures.perSampleS);
    return { measured: studyMeasuredPoints(configs, scale), modelled: studyModelledPoints(figures, params, [1, 2, 5, 12.6, 20, 50, 100, 200, 500, 1024]) };
  } catch (err) {
    return { measured: [], modelled: [], note: `the study's reference data was not drawn (${(err as Error).message})` };
  }
}

