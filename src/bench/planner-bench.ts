// The planner benchmark: does `cai plan` predict this machine? It calibrates a profile here, then for each
// data size synthesizes a data set, asks `cai plan --json --platforms local` for the pick, runs `cai run
// --auto` on the same inputs (real processes, as a user runs them), and sets the prediction the run
// recorded in summary.json beside the wall time it measured. Target: every measured wall time within 20%
// of the prediction. The load average is recorded around each step: on a shared machine the profile and the
// runs must see the same load for the comparison to mean anything.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDemoDataset } from '../data/demo-dataset.js';
import { UsageError } from '../errors.js';
import { measureCalibration } from '../planner/calibrate/measure.js';
import { profileOfMeasurements } from '../planner/calibrate/profile-of.js';
import type { Profile } from '../planner/profile.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { summarySchema, type Summary } from '../workflow/contracts.js';

export const PLANNER_BENCH_TARGET = 0.2;
export const PLANNER_BENCH_SIZES = [2000, 12_000] as const;

export interface PlannerBenchOptions {
  sizes?: readonly number[];
  /** Calibrate with --quick. */
  quick?: boolean;
  /** A profile to use instead of calibrating (its file). */
  profile?: string;
  /** How to start `cai`: node flags and the entry script. */
  cli: string[];
  keep?: boolean;
  log?: (line: string) => void;
}

export interface PlannerBenchRow {
  samples: number;
  partitions: number;
  pick: string;
  predictedS: number;
  measuredS: number;
  /** measured / predicted */
  ratio: number;
  /** (predicted - measured) / measured */
  error: number;
  /** The prediction `cai plan --json` printed equals the one the run recorded. */
  planMatches: boolean;
  loadBefore: number;
  loadAfter: number;
  runId: string;
}

export interface PlannerBenchResult {
  profile: { label: string; loadAverage?: number; file: string; seconds: number };
  rows: PlannerBenchRow[];
  target: number;
  meetsTarget: boolean;
  dir?: string;
}

interface Child {
  code: number;
  stdout: string;
  stderr: string;
}

function cai(cli: readonly string[], args: readonly string[], env: NodeJS.ProcessEnv): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function ok(r: Child, what: string): Child {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.trim().split('\n').pop() ?? ''}`);
  return r;
}

export async function benchPlanner(o: PlannerBenchOptions): Promise<PlannerBenchResult> {
  const sizes = o.sizes ?? PLANNER_BENCH_SIZES;
  if (!sizes.length || sizes.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new UsageError('--sizes must be positive whole numbers');
  const log = o.log ?? (() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'cai-bench-planner-'));
  // The children see no profile but the one given: never one a user left at the default location.
  const env = { ...process.env, CAI_PROFILE_DIR: join(dir, 'no-default-profiles') };
  try {
    let profileFile = o.profile;
    let profile: Profile | undefined;
    const t0 = performance.now();
    if (!profileFile) {
      log(`calibrating${o.quick ? ' (--quick)' : ''} at load average ${loadavg()[0]!.toFixed(1)}...`);
      profile = profileOfMeasurements(await measureCalibration({ quick: o.quick, command: `cai bench planner${o.quick ? ' --quick' : ''} (cai calibrate${o.quick ? ' --quick' : ''})` }));
      profileFile = join(dir, 'profile.json');
      await writeFileAtomic(profileFile, JSON.stringify(profile, null, 2) + '\n');
    }
    const calibrationS = (performance.now() - t0) / 1000;
    if (!profile) profile = JSON.parse((await import('node:fs')).readFileSync(profileFile, 'utf8')) as Profile;
    log(`profile: ${profile.label} (load average ${profile.machine.loadAverage ?? '?'} while measuring, ${calibrationS.toFixed(0)} s)`);

    const rows: PlannerBenchRow[] = [];
    for (const samples of sizes) {
      const data = await ensureDemoDataset({ dir: join(dir, `data-${samples}`), samples, seed: 42 });
      const common = ['--data', data.manifestPath, '--profile', profileFile, '--platforms', 'local'];
      const plan = JSON.parse(ok(await cai(o.cli, ['plan', ...common, '--json'], env), 'cai plan').stdout) as { pick: { label: string; wall_s: number; prediction: unknown } };
      log(`${samples} samples (${data.partitions} partitions): plan picks ${plan.pick.label}, predicted ${plan.pick.wall_s.toFixed(1)} s; running cai run --auto...`);
      const loadBefore = loadavg()[0]!;
      const run = ok(await cai(o.cli, ['run', '--auto', ...common, '--out', join(dir, `out-${samples}`), '--no-report', '--json'], env), 'cai run --auto');
      const loadAfter = loadavg()[0]!;
      const summary: Summary = summarySchema.parse(JSON.parse(run.stdout));
      const p = summary.prediction;
      if (!p) throw new Error(`the run ${summary.runId} recorded no prediction`);
      const row: PlannerBenchRow = {
        samples,
        partitions: data.partitions,
        pick: plan.pick.label,
        predictedS: p.wall_s,
        measuredS: summary.wallTimeS,
        ratio: summary.wallTimeS / p.wall_s,
        error: (p.wall_s - summary.wallTimeS) / summary.wallTimeS,
        planMatches: JSON.stringify(plan.pick.prediction) === JSON.stringify(p),
        loadBefore,
        loadAfter,
        runId: summary.runId,
      };
      log(`  measured ${row.measuredS.toFixed(1)} s: measured / predicted ${row.ratio.toFixed(2)} (load average ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)})`);
      rows.push(row);
    }
    return {
      profile: { label: profile.label, loadAverage: profile.machine.loadAverage, file: profileFile, seconds: calibrationS },
      rows,
      target: PLANNER_BENCH_TARGET,
      meetsTarget: rows.every((r) => Math.abs(r.error) <= PLANNER_BENCH_TARGET && r.planMatches),
      ...(o.keep ? { dir } : {}),
    };
  } finally {
    if (!o.keep) await rm(dir, { recursive: true, force: true });
  }
}

export function formatPlannerBench(r: PlannerBenchResult): string {
  const lines = [
    `planner benchmark: cai plan's predicted wall time of a local run against the measured cai run --auto`,
    `  profile: ${r.profile.label}; load average ${r.profile.loadAverage ?? '?'} while calibrating (${r.profile.seconds.toFixed(0)} s)`,
    `  ${'samples'.padStart(8)}  ${'partitions'.padStart(10)}  ${'predicted s'.padStart(11)}  ${'measured s'.padStart(10)}  ${'measured/predicted'.padStart(18)}  ${'error'.padStart(7)}  ${'load'.padStart(11)}  pick`,
  ];
  for (const x of r.rows)
    lines.push(
      `  ${String(x.samples).padStart(8)}  ${String(x.partitions).padStart(10)}  ${x.predictedS.toFixed(1).padStart(11)}  ${x.measuredS.toFixed(1).padStart(10)}  ${x.ratio.toFixed(2).padStart(18)}  ${`${(x.error * 100).toFixed(1)}%`.padStart(7)}  ${`${x.loadBefore.toFixed(1)}-${x.loadAfter.toFixed(1)}`.padStart(11)}  ${x.pick}${x.planMatches ? '' : ' (plan --json printed another prediction)'}`,
    );
  lines.push(`  target: every |error| <= ${(r.target * 100).toFixed(0)}%: ${r.meetsTarget ? 'meets' : 'MISSES'}`);
  return lines.join('\n');
}
