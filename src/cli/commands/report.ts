import type { Command } from 'commander';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import type { RunReportFiles } from '../../report/run-report.js';
import { Progress, action, emit, parseIntOption } from '../output.js';

interface ReportFlags {
  run: string;
  out?: string;
  title?: string;
  maxPoints: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('rebuild the HTML report and plots of a finished run from its summary, predictions and rank results')
    .requiredOption('--run <dir>', 'run directory: summary.json (or metrics.json of `cai infer`), predictions.csv, rank-NNNNN.json')
    .option('--out <dir>', 'output directory (default: <run>/report)')
    .option('--title <text>', 'page title (default: "CAI run <run id>")')
    .option('--max-points <n>', 'above this many samples, scatter plots become 2-D histograms', parseIntOption('max-points'), 4000)
    .option('--json', 'print the written files as JSON')
    .addHelpText(
      'after',
      `
Writes report.html (self-contained: inline SVG and CSS, no scripts, no external requests) and
scatter/residual (labelled data) or histogram (unlabelled) and timeline plots as SVG and PNG.

Examples:
  cai report --run results/run-2024-06-01
  cai report --run ./infer-out --out ./infer-out/report --json

Exit codes: 3 a run file is missing, corrupt or not a regular file.`,
    )
    .action(
      action(async (flags: ReportFlags) => {
        if (flags.maxPoints < 0) throw new UsageError(`--max-points must be 0 or more, got ${flags.maxPoints}`);
        // Loaded on use: vega and resvg are only needed here.
        const { loadRunDir } = await import('../../report/load-run.js');
        const { writeRunReport } = await import('../../report/run-report.js');
        const progress = new Progress(flags);
        let files: RunReportFiles;
        let samples: number;
        try {
          progress.update(`reading ${flags.run}`, true);
          const run = await loadRunDir(flags.run);
          samples = run.zPred.length;
          progress.update(`rendering plots of ${samples.toLocaleString('en-US')} samples`, true);
          files = await writeRunReport({ summary: run.summary, zTrue: run.zTrue, zPred: run.zPred, ranks: run.ranks, outDir: flags.out ?? join(flags.run, 'report'), title: flags.title, maxPoints: flags.maxPoints });
        } finally {
          progress.done();
        }
        emit(flags, { ...files, samples }, () =>
          [`report: ${files.html}`, ...files.plots.map((p) => `  ${p.name}: ${p.svg}, ${p.png} (${p.aggregation}, ${p.marks.toLocaleString('en-US')} marks)`)].join('\n'),
        );
      }),
    );
}
