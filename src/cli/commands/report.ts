// `cai report`: rebuild the page and plots of one finished run (--run), or put several side by side
// (--compare). The library does the work (src/report/); this file parses flags and prints.
import type { Command } from 'commander';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { Progress, action, emit, parseIntOption } from '../output.js';

interface ReportFlags {
  run?: string;
  compare?: string[];
  out?: string;
  title?: string;
  maxPoints: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('rebuild the HTML report and plots of a finished run, or compare several runs side by side')
    .option('--run <dir>', 'run directory: summary.json (or metrics.json of `cai infer`), predictions.csv, rank-NNNNN.json')
    .option('--compare <dirs...>', 'two or more run directories to put side by side (the first is the baseline); needs --out')
    .option('--out <dir>', 'output directory (default with --run: <run>/report)')
    .option('--title <text>', 'page title (default: "CAI run <run id>", or "CAI: N runs compared")')
    .option('--max-points <n>', 'above this many samples, scatter plots become 2-D histograms', parseIntOption('max-points'), 4000)
    .option('--json', 'print the written files as JSON (with --compare: the comparison table)')
    .addHelpText(
      'after',
      `
--run writes report.html (self-contained: inline SVG and CSS, no scripts, no external requests, a print
stylesheet) and its plots as SVG and PNG: scatter, residual and dz (labelled data) or histogram
(unlabelled), timeline and throughput (per rank), cost.

--compare writes compare.html, compare.json (the table: each run's headline figures and their change
against the first run) and overlaid plots: throughput, wall, cost, accuracy.

Examples:
  cai report --run results/run-2024-06-01
  cai report --run ./infer-out --out ./infer-out/report --json
  cai report --compare out/results/w2 out/results/w4 out/results/w8 --out compare-w

Exit codes: 2 bad flags; 3 a run file is missing, corrupt or not a regular file.`,
    )
    .action(
      action(async (flags: ReportFlags) => {
        if (flags.maxPoints < 0) throw new UsageError(`--max-points must be 0 or more, got ${flags.maxPoints}`);
        if ((flags.run === undefined) === (flags.compare === undefined)) throw new UsageError('give either --run DIR or --compare DIR DIR...');
        if (flags.compare) await compare(flags, flags.compare);
        else await one(flags, flags.run!);
      }),
    );
}

async function one(flags: ReportFlags, dir: string): Promise<void> {
  // Loaded on use: vega and resvg are only needed here.
  const { loadRunDir } = await import('../../report/load-run.js');
  const { writeRunReport } = await import('../../report/run-report.js');
  const progress = new Progress(flags);
  try {
    progress.update(`reading ${dir}`, true);
    const run = await loadRunDir(dir);
    progress.update(`rendering plots of ${run.zPred.length.toLocaleString('en-US')} samples`, true);
    const files = await writeRunReport({ ...run, outDir: flags.out ?? join(dir, 'report'), title: flags.title, maxPoints: flags.maxPoints });
    progress.done();
    emit(flags, { ...files, samples: run.zPred.length }, () =>
      [`report: ${files.html}`, ...files.plots.map((p) => `  ${p.name}: ${p.svg}, ${p.png} (${p.aggregation}, ${p.marks.toLocaleString('en-US')} marks)`)].join('\n'),
    );
  } finally {
    progress.done();
  }
}

async function compare(flags: ReportFlags, dirs: string[]): Promise<void> {
  if (dirs.length < 2) throw new UsageError(`--compare needs at least two run directories, got ${dirs.length}`);
  if (!flags.out) throw new UsageError('--compare needs --out DIR');
  const { loadRunDir } = await import('../../report/load-run.js');
  const { writeCompareReport } = await import('../../report/compare.js');
  const { renderCompareTable } = await import('../render/report.js');
  const progress = new Progress(flags);
  try {
    const runs = [];
    for (const [i, dir] of dirs.entries()) {
      progress.count('reading runs', i, dirs.length);
      runs.push({ dir, run: await loadRunDir(dir) });
    }
    progress.update('rendering the overlaid plots', true);
    const files = await writeCompareReport({ runs, outDir: flags.out, title: flags.title });
    progress.done();
    emit(flags, { ...files.table, files: { html: files.html, json: files.json, plots: files.plots } }, () => `${renderCompareTable(files.table)}\ncompare: ${files.html}\ntable: ${files.json}`);
  } finally {
    progress.done();
  }
}
