// `cai run --auto` as a user runs it: the run it starts records in summary.json the prediction `cai plan
// --json` gives for the same inputs; a pick this machine cannot start is printed as commands (exit 0);
// an infeasible deadline exits 6; the planner's flags need --auto and --auto chooses the run's shape.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { DEFAULT_PROFILE, type Profile } from '../../src/planner/profile.js';
import { summarySchema } from '../../src/workflow/contracts.js';
import { seededModel, tempDir, writeDataset } from '../workflow/support.js';

const t = tempDir('cai-auto-');
const repo = join(import.meta.dirname, '../..');
const profileFile = join(t.dir, 'profile.json');
const data = join(t.dir, 'data');
// No profile left at the default location by anyone reaches these runs.
const env = { ...process.env, CAI_PROFILE_DIR: join(t.dir, 'no-profiles'), CAI_STATE_MACHINE_ARN: '' };

function cai(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repo, encoding: 'utf8', timeout: 300_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  const profile: Profile = { ...DEFAULT_PROFILE, isDefault: false, label: 'auto-run test profile', measuredAt: '2026-12-02' };
  writeFileSync(profileFile, JSON.stringify(profile));
  await writeDataset({ dir: data, partitions: 3, perPartition: 16 });
});
after(() => t.cleanup());

test('run --auto records the prediction plan --json gives for the same inputs', () => {
  const common = ['--data', data, '--profile', profileFile, '--platforms', 'local'];
  const plan = cai('plan', ...common, '--json');
  assert.equal(plan.code, 0, plan.stderr);
  const pick = JSON.parse(plan.stdout).pick;
  const r = cai('run', '--auto', ...common, '--model', seededModel(), '--out', join(t.dir, 'out'), '--no-report', '--json');
  assert.equal(r.code, 0, r.stderr);
  const s = summarySchema.parse(JSON.parse(r.stdout));
  assert.equal(s.status, 'complete');
  assert.ok(s.prediction, 'summary.json has the prediction');
  assert.deepEqual(s.prediction, pick.prediction);
  // The run has the pick's shape, and the prediction names what it rests on.
  assert.equal(s.configuration.worldSize, pick.settings.worldSize);
  assert.equal(s.configuration.concurrency, pick.settings.concurrency);
  assert.equal(s.configuration.threadsPerInstance, pick.settings.threads);
  assert.equal(s.prediction.platform, 'local');
  assert.equal(s.prediction.basedOn.profile.label, 'auto-run test profile');
  assert.ok(s.prediction.wall_s > 0);
  console.log(`run --auto on 48 samples: predicted ${s.prediction.wall_s.toFixed(2)} s, measured ${s.wallTimeS.toFixed(2)} s (built-in figures, not this machine's)`);
});

test('a deadline nothing meets exits 6 with one line naming the nearest candidates', () => {
  const r = cai('run', '--auto', '--data', data, '--profile', profileFile, '--out', join(t.dir, 'late'), '--deadline', '0.01', '--model', seededModel());
  assert.equal(r.code, ExitCode.timeout);
  assert.match(r.stderr, /^cai: no candidate meets the 0\.01\d* s deadline; nearest: local [^\n]*\n$/);
});

test('a pick this machine cannot start is printed as the commands that run it (exit 0)', () => {
  const r = cai('run', '--auto', '--data', data, '--profile', profileFile, '--out', join(t.dir, 'cloud'), '--platforms', 'lambda', '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ran: boolean; why: string; commands: string[]; pick: { platform: string; settings: Record<string, number>; prediction: { wall_s: number } } };
  assert.equal(out.ran, false);
  assert.equal(out.pick.platform, 'lambda');
  assert.match(out.why, /no deployed state machine/);
  assert.match(out.commands[0]!, new RegExp(`^cai aws deploy --memory-mb ${out.pick.settings.memoryMB}\\b`));
  assert.ok(out.commands.some((c) => c.startsWith('aws s3 sync ')), 'the local data set is uploaded first');
  const run = out.commands.at(-1)!;
  assert.match(run, new RegExp(`^cai aws run --state-machine-arn \\$CAI_STATE_MACHINE_ARN --data s3://BUCKET/cai/data/\\S+ .*--world-size ${out.pick.settings.worldSize} --concurrency ${out.pick.settings.concurrency} --memory-mb ${out.pick.settings.memoryMB}`));
  assert.ok(out.pick.prediction.wall_s > 0);
  // Nothing ran: no results.
  assert.equal(existsSync(join(t.dir, 'cloud')), false);
  // --dry-run prints a local pick's command instead of running it.
  const dry = cai('run', '--auto', '--data', data, '--profile', profileFile, '--out', join(t.dir, 'dry'), '--platforms', 'local', '--dry-run');
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^pick: local /);
  assert.match(dry.stdout, new RegExp(`\\n  cai run --data ${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --out \\S+ --world-size \\d+ --concurrency \\d+ --threads \\d+ --batch-size 256\\n`));
});

test('the planner flags need --auto, and --auto chooses the shape of the run', () => {
  const lone = cai('run', '--data', data, '--out', join(t.dir, 'x'), '--deadline', '10', '--model', seededModel());
  assert.equal(lone.code, ExitCode.usage);
  assert.equal(lone.stderr, 'cai: --deadline applies to --auto\n');
  const shaped = cai('run', '--auto', '--data', data, '--out', join(t.dir, 'x'), '--world-size', '2', '--threads', '1');
  assert.equal(shaped.code, ExitCode.usage);
  assert.match(shaped.stderr, /^cai: --auto chooses --world-size, --concurrency and --threads itself; leave out --world-size, --threads/);
  const help = cai('run', '--help');
  for (const flag of ['--auto', '--deadline', '--budget', '--objective', '--profile', '--state-machine-arn', '--platforms', '--dry-run']) assert.ok(help.stdout.includes(flag), flag);
});
