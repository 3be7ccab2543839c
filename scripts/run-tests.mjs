#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [--time-scale N] [path-filter ...]   e.g. `npm test -- test/data`
//
// Deadlines in tests are multiplied by one factor, CAI_TEST_TIME_SCALE (test/support/time-scale.ts reads
// it): --time-scale N or the variable sets it; otherwise it follows this machine's load (load average per
// core, from 1 to 4), so a suite beside other work waits longer instead of failing. Asserted values never
// depend on it.
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const MAX_AUTO_SCALE = 4;

const root = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
let scaleArg;
const filters = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--time-scale') scaleArg = argv[++i];
  else if (argv[i].startsWith('--time-scale=')) scaleArg = argv[i].slice('--time-scale='.length);
  else filters.push(argv[i]);
}

function timeScale() {
  const given = scaleArg ?? process.env.CAI_TEST_TIME_SCALE;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isFinite(n) || n < 1 || n > 100) {
      console.error(`run-tests: the time scale must be a number from 1 to 100, got "${given}"`);
      process.exit(2);
    }
    return { scale: n, why: 'as given' };
  }
  const cores = availableParallelism();
  const load = loadavg()[0];
  const scale = Math.min(MAX_AUTO_SCALE, Math.max(1, Math.ceil(load / cores)));
  return { scale, why: `load ${load.toFixed(1)} on ${cores} cores` };
}

const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
})(join(root, 'test'));
const chosen = filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
if (chosen.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const { scale, why } = timeScale();
if (scale !== 1) console.error(`run-tests: test deadlines x${scale} (CAI_TEST_TIME_SCALE; ${why})`);
const env = {
  ...process.env,
  CAI_TEST: '1',
  CAI_TEST_TIME_SCALE: String(scale),
  // The AWS SDK's notice about its future Node.js support window, printed once per process on Node 20: only
  // that notice is silenced, every other warning still shows.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...chosen];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
process.exit(r.status ?? 1);
