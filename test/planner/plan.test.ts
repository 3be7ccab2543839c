import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadCatalog } from '../../src/cost/index.js';
import { partitionPath, tensorSpecs } from '../../src/data/dataset.js';
import { CaiError, ExitCode } from '../../src/errors.js';
import { planEnv } from '../../src/planner/env.js';
import { dominates } from '../../src/planner/pareto.js';
import { pickCandidate, type Objective } from '../../src/planner/pick.js';
import { predictionOf, predictionSchema } from '../../src/planner/prediction.js';
import { enumerateCandidates } from '../../src/planner/search.js';
import { sweep, crossovers } from '../../src/planner/sweep.js';
import { workloadOfSize } from '../../src/planner/sweep.js';

const catalog = await loadCatalog();
const env = planEnv({ catalog });
const root = mkdtempSync(join(tmpdir(), 'cai-plan-'));
after(() => rmSync(root, { recursive: true, force: true }));

function cai(...args: string[]) {
  // A profile `cai calibrate` left at the default location must not change what these tests see.
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, CAI_PROFILE_DIR: join(root, 'no-profiles') } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('50 MB on this machine: the pick is local, by every objective', () => {
  const w = workloadOfSize(0.05, 'local', 20_500);
  const cands = enumerateCandidates(w, env);
  for (const objective of ['balanced', 'time', 'cost'] as Objective[]) {
    const p = pickCandidate(cands, { objective });
    console.log(`50 MB, ${objective}: ${p.reason}`);
    assert.equal(cands[p.index].platform, 'local', objective);
  }
});

test('12.6 GB in S3 with a 120 s deadline: the pick is Lambda', () => {
  const w = workloadOfSize(12.6, 's3', 20_500);
  const cands = enumerateCandidates(w, env);
  for (const objective of ['balanced', 'time'] as Objective[]) {
    const p = pickCandidate(cands, { deadlineS: 120, objective });
    console.log(`12.6 GB, 120 s, ${objective}: ${p.reason}`);
    assert.equal(cands[p.index].platform, 'lambda');
    assert.ok(cands[p.index].wall_s <= 120);
  }
  // The prediction record a planned run will store.
  const rec = predictionSchema.parse(predictionOf(cands[pickCandidate(cands, { deadlineS: 120, objective: 'balanced' }).index], env));
  assert.equal(rec.platform, 'lambda');
  assert.equal(rec.basedOn.catalogDate, catalog.date);
  assert.equal(rec.basedOn.profile.isDefault, true);
  assert.ok(rec.basedOn.timeParams);
});

test('a deadline nothing meets: exit code 6, naming the nearest candidates', () => {
  const cands = enumerateCandidates(workloadOfSize(12.6, 'local', 20_500), env);
  assert.throws(
    () => pickCandidate(cands, { deadlineS: 120, objective: 'balanced' }),
    (e: unknown) => e instanceof CaiError && e.exitCode === ExitCode.timeout && /no candidate meets the 120 s deadline; nearest: local .*\(/.test(e.message) && !e.message.includes('\n'),
  );
  assert.throws(() => pickCandidate(cands, { budgetUsd: 0, deadlineS: 5, objective: 'cost' }), /deadline and the 0 USD budget/);
});

test('property: the front has no dominated candidate and the pick meets its limits', () => {
  fc.assert(
    fc.property(
      fc.double({ min: -3, max: 4, noNaN: true }),
      fc.constantFrom('local' as const, 's3' as const),
      fc.option(fc.double({ min: 1, max: 1e5, noNaN: true }), { nil: undefined }),
      fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: undefined }),
      fc.constantFrom<Objective>('time', 'cost', 'balanced'),
      (logGB, location, deadlineS, budgetUsd, objective) => {
        const cands = enumerateCandidates(workloadOfSize(10 ** logGB, location, 20_500), env);
        const ok = cands.filter((c) => c.feasible);
        for (const c of cands) {
          const dominated = ok.some((o) => dominates(o, c));
          assert.equal(c.pareto, c.feasible && !dominated, c.label);
        }
        assert.ok(cands.some((c) => c.pareto));
        try {
          const p = pickCandidate(cands, { deadlineS, budgetUsd, objective });
          const c = cands[p.index];
          assert.ok(c.feasible && (deadlineS === undefined || c.wall_s <= deadlineS) && (budgetUsd === undefined || c.cost_usd <= budgetUsd));
          // Nothing eligible beats it on its objective.
          const eligible = ok.filter((o) => (deadlineS === undefined || o.wall_s <= deadlineS) && (budgetUsd === undefined || o.cost_usd <= budgetUsd));
          const key = (o: typeof c) => (objective === 'time' ? o.wall_s : objective === 'cost' ? o.cost_usd : o.wall_s * o.cost_usd);
          assert.ok(eligible.every((o) => key(o) >= key(c)));
        } catch (e) {
          if (!(e instanceof CaiError && e.exitCode === ExitCode.timeout)) throw e;
          assert.ok(!ok.some((o) => (deadlineS === undefined || o.wall_s <= deadlineS) && (budgetUsd === undefined || o.cost_usd <= budgetUsd)));
        }
      },
    ),
    { numRuns: 40, seed: 12 },
  );
});

test('where each platform wins: local for small sets, Lambda in the middle, instance fleets at terabytes', () => {
  const rows = sweep(env, 's3', 20_500, [0.01, 0.1, 1, 10, 100, 1000, 10_000]);
  const byTime = crossovers(rows, 'byTime');
  console.log(`fastest: ${byTime.map((c) => `${c.platform} from ${c.fromGB} GB`).join(', ')}`);
  console.log(`cheapest: ${crossovers(rows, 'byCost').map((c) => `${c.platform} from ${c.fromGB} GB`).join(', ')}`);
  assert.equal(rows[0].byTime.platform, 'local');
  assert.equal(rows[3].byTime.platform, 'lambda');
  assert.ok(['gpu', 'ec2'].includes(rows[6].byTime.platform));
});

/** A manifest of `samples` samples in partitions of `per` (the planner reads the manifest only). */
function writeManifest(dir: string, samples: number, per: number): string {
  mkdirSync(dir, { recursive: true });
  const partitions = [];
  for (let i = 0, left = samples; left > 0; i++, left -= per) {
    const n = Math.min(per, left);
    partitions.push({ path: partitionPath(i), samples: n, bytes: n * 20_524 + 600, sha256: '0'.repeat(64) });
  }
  const m = { schemaVersion: 1, bands: ['u', 'g', 'r', 'i', 'z'], labelled: false, format: 'safetensors', tensors: tensorSpecs(false), samples, bytes: partitions.reduce((s, p) => s + p.bytes, 0), partitions };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

test('cai plan: a local 50 MB data set picks local; JSON has the pick and every candidate; --out writes the plot', () => {
  const data = writeManifest(join(root, 'data50'), 2440, 1220);
  const out = join(root, 'plan');
  const r = cai('plan', '--data', data, '--json', '--out', out, '--cores', '2');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.workload.location, 'local');
  assert.equal(j.pick.platform, 'local');
  assert.match(j.pick.reason, /best time x cost/);
  assert.ok(j.candidates.length > 20);
  for (const c of j.candidates) for (const k of ['platform', 'wall_s', 'cost_usd', 'pareto', 'settings']) assert.ok(k in c, k);
  assert.ok(j.candidates.some((c: { platform: string }) => c.platform === 'gpu') && j.candidates.some((c: { platform: string }) => c.platform === 'ec2'));
  assert.deepEqual(j.files.map((f: string) => f.slice(out.length + 1)), ['plan.json', 'front.svg', 'front.png']);
  assert.ok(readFileSync(join(out, 'front.svg'), 'utf8').startsWith('<svg'));
  assert.deepEqual([...readFileSync(join(out, 'front.png')).subarray(1, 4)], [0x50, 0x4e, 0x47]);
  assert.equal(JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')).pick.platform, 'local');
});

test('cai plan: 12.6 GB with a 120 s deadline picks Lambda; an impossible one exits 6 in one line', () => {
  const ok = cai('plan', '--data-gb', '12.6', '--deadline', '120', '--cores', '2');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^pick: lambda /m);
  const no = cai('plan', '--data-gb', '12.6', '--deadline', '5', '--cores', '2');
  assert.equal(no.code, 6);
  assert.equal(no.stderr.trim().split('\n').length, 1, no.stderr);
  assert.match(no.stderr, /^cai: no candidate meets the 5.00 s deadline; nearest: /);
});

test('cai estimate: JSON keys, cost arithmetic, usage errors', () => {
  const r = cai('estimate', '--platform', 'lambda', '--data-gb', '12.6', '--partition-mb', '50', '--memory-mb', '10240', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const k of ['platform', 'wall_s', 'cost_usd', 'invocations', 'waves', 'cost']) assert.ok(k in j, k);
  assert.equal(j.platform, 'lambda');
  assert.equal(j.invocations, Math.ceil(Math.round(12.6e9 / 20_500) / Math.floor(50e6 / 20_500)));
  assert.equal(j.waves, 1);
  assert.match(j.cost.arithmetic, /= [\d.]+ USD$/);
  assert.ok(j.cost.items.some((i: { id: string; arithmetic: string }) => i.id === 'lambda.duration.ranks' && /req x [\d.]+ s x 10 GB x 0.0000166667 USD\/GB-s/.test(i.arithmetic)));
  assert.equal(j.prediction.basedOn.modelVersion, 'cai-planner/1');
  // --per-sample-ms overrides the profile: 2,439 samples a rank at 4 ms.
  const s = JSON.parse(cai('estimate', '--platform', 'lambda', '--data-gb', '12.6', '--partition-mb', '50', '--per-sample-ms', '4', '--json').stdout);
  assert.ok(s.wall_parts.ranks > 2439 * 0.004);
  const human = cai('estimate', '--platform', 'gpu', '--samples', '100000', '--instance', 'g6.xlarge', '--instances', '2');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /gpu 2 x g6\.xlarge \(modelled\)/);
  assert.match(human.stdout, /GPU rate modelled/);
  const both = cai('estimate', '--platform', 'local', '--data-gb', '1', '--samples', '5');
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give exactly one of --data MANIFEST, --data-gb G, --samples N/);
  const wrong = cai('estimate', '--platform', 'local', '--data-gb', '1', '--memory-mb', '2048');
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--memory-mb does not apply to --platform local/);
  const cannot = cai('estimate', '--platform', 'lambda', '--data-gb', '1', '--partition-mb', '1000', '--memory-mb', '128');
  assert.equal(cannot.code, 2);
  assert.match(cannot.stderr, /this configuration cannot run: /);
  const badProfile = join(root, 'bad-profile.json');
  writeFileSync(badProfile, '{"format":"cai-profile"}');
  const bp = cai('estimate', '--platform', 'local', '--data-gb', '1', '--profile', badProfile);
  assert.equal(bp.code, 3);
  assert.match(bp.stderr, /bad-profile\.json: invalid profile at version/);
});
