#!/usr/bin/env node
// Makes sure the external programs the tests use are on this machine: redis-server (FMI Redis channel) and
// Chromium (HTML report check). As root it installs missing ones from Debian's packages; otherwise it
// says what to install. Nothing else is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const needs = [
  { bin: 'redis-server', pkg: 'redis-server', probe: ['/usr/bin/redis-server'] },
  { bin: 'chromium', pkg: 'chromium', probe: ['/usr/bin/chromium'] },
];
const have = (n) => n.probe.some((p) => existsSync(p)) || spawnSync('sh', ['-c', `command -v ${n.bin}`]).status === 0;
const missing = needs.filter((n) => !have(n));
if (missing.length === 0) {
  console.log('provision: redis-server and chromium present');
  process.exit(0);
}
const pkgs = missing.map((n) => n.pkg);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot) {
  console.error(`provision: missing ${pkgs.join(', ')}; install them with: sudo apt-get install -y ${pkgs.join(' ')}`);
  process.exit(1);
}
console.log(`provision: installing ${pkgs.join(', ')} from Debian packages`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const run = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
if (!run(['update', '-qq']) || !run(['install', '-y', '-qq', '--no-install-recommends', ...pkgs])) {
  console.error(`provision: apt-get install ${pkgs.join(' ')} failed`);
  process.exit(1);
}
const still = missing.filter((n) => !have(n));
if (still.length) {
  console.error(`provision: ${still.map((n) => n.pkg).join(', ')} still missing after install`);
  process.exit(1);
}
console.log('provision: done');
