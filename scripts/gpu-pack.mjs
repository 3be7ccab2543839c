#!/usr/bin/env node
// Packs what scripts/gpu-check.sh needs on a GPU machine that has no Node.js and no network: this Node
// binary, the built CLI (dist/), the node_modules the checked commands load (found by running them here
// with a resolve hook, so the list follows the code), onnxruntime-node's linux-x64 binaries only, and the
// Vulkan loader with vulkaninfo and the libraries it links, from Debian's packages (unpacked into a private
// root that the check puts on LD_LIBRARY_PATH; nothing is installed into the GPU machine's /).
// Output: .gpu-pack/cai-gpu-pack.tar.xz (ignored by git: .gitignore), under 56 MiB so
// that it and the working tree travel together within 64 MiB.
// Usage: npm run build && node scripts/gpu-pack.mjs
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const packDir = join(root, '.gpu-pack');
const archive = join(packDir, 'cai-gpu-pack.tar.xz');
const MAX_ARCHIVE_BYTES = 56 * 1024 * 1024;
/** vulkaninfo and what it links beyond glibc and libstdc++ (which every GPU image has), plus the loader. */
const DEBS = ['libvulkan1', 'vulkan-tools', 'libwayland-client0', 'libx11-6', 'libxcb1', 'libxau6', 'libxdmcp6', 'libbsd0', 'libmd0', 'libffi8'];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (r.status !== 0) {
    console.error(`gpu-pack: ${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-5).join(' | ')}`);
    process.exit(1);
  }
  return r.stdout;
}

if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
  console.error('gpu-pack: dist/ is missing; run npm run build first');
  process.exit(2);
}
rmSync(packDir, { recursive: true, force: true });
const stage = join(packDir, 'stage');
mkdirSync(stage, { recursive: true });

// 1. Which packages the checked commands load: run them on a tiny job with a hook that records every
//    module resolved from node_modules.
const work = mkdtempSync(join(tmpdir(), 'cai-gpu-pack-'));
const log = join(work, 'resolved.txt');
const hook = join(work, 'hook.mjs');
writeFileSync(
  hook,
  `import { register } from 'node:module';\n` +
    `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(
      `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes('/node_modules/')) appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }`,
    )}));\n`,
);
const cai = (...args) => run(process.execPath, ['--import', hook, join(root, 'dist', 'cli', 'main.js'), ...args], { cwd: work });
console.log('gpu-pack: tracing the modules the checked commands load');
cai('model', 'build', '--uncalibrated', '--seed', '1', '--out', join(work, 'm.onnx'));
cai('model', 'inspect', join(work, 'm.onnx'), '--json');
cai('data', 'synth', '--samples', '8', '--partition-samples', '4', '--out', join(work, 'data'), '--seed', '1', '--json');
cai('infer', '--data', join(work, 'data'), '--model', join(work, 'm.onnx'), '--out', join(work, 'out'), '--batch-size', '4', '--json');
cai('bench', 'infer', '--model', join(work, 'm.onnx'), '--samples', '8', '--batch-size', '4', '--repeats', '1', '--json');
const packages = new Set();
for (const url of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
  const path = decodeURIComponent(new URL(url).pathname);
  const rest = path.slice(path.lastIndexOf(`${sep}node_modules${sep}`) + 14).split(sep);
  packages.add(rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]);
}
// The session hosts load onnxruntime-node in their own thread or process, which the hook does not see,
// and require() inside CommonJS packages bypasses the hook: add every package's dependencies, transitively.
packages.add('onnxruntime-node');
for (const pkg of [...packages]) addDependencies(pkg);
rmSync(work, { recursive: true, force: true });

function addDependencies(pkg) {
  const meta = JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8'));
  for (const dep of Object.keys({ ...meta.dependencies, ...meta.optionalDependencies })) {
    // An optional dependency for another platform is not installed here, and not needed there either.
    if (packages.has(dep) || !existsSync(join(root, 'node_modules', dep, 'package.json'))) continue;
    packages.add(dep);
    addDependencies(dep);
  }
}

// 2. The application: dist, package.json, those packages (onnxruntime-node with its linux-x64 binaries only).
const app = join(stage, 'app');
cpSync(join(root, 'dist'), join(app, 'dist'), { recursive: true });
cpSync(join(root, 'package.json'), join(app, 'package.json'));
for (const pkg of [...packages].sort()) {
  const from = join(root, 'node_modules', pkg);
  const to = join(app, 'node_modules', pkg);
  if (pkg !== 'onnxruntime-node') {
    cpSync(from, to, { recursive: true });
    continue;
  }
  cpSync(from, to, { recursive: true, filter: (src) => !src.includes(`${sep}bin${sep}`) || /bin(\/napi-v\d+(\/linux(\/x64(\/.*)?)?)?)?$/.test(src) });
}

// 3. Node itself.
mkdirSync(join(stage, 'node', 'bin'), { recursive: true });
cpSync(process.execPath, join(stage, 'node', 'bin', 'node'));

// 4. The Vulkan loader and vulkaninfo from Debian's packages, for amd64, unpacked into a private root.
const debs = join(packDir, 'debs');
mkdirSync(debs, { recursive: true });
const o = ['-oAPT::Architecture=amd64', '-oAPT::Architectures=amd64'];
console.log(`gpu-pack: downloading ${DEBS.join(', ')} (Debian)`);
run('apt-get', [...o, 'download', ...DEBS], { cwd: debs });
const sysroot = join(stage, 'sysroot');
for (const f of readdirSync(debs).filter((f) => f.endsWith('.deb'))) run('dpkg-deb', ['-x', join(debs, f), sysroot]);
rmSync(join(sysroot, 'usr', 'share'), { recursive: true, force: true });
rmSync(debs, { recursive: true, force: true });
writeFileSync(join(stage, 'PACKAGES.txt'), `node ${process.version}\nnode_modules: ${[...packages].sort().join(' ')}\ndebian: ${DEBS.join(' ')}\n`);

// 5. One archive.
console.log('gpu-pack: compressing');
run('tar', ['-C', stage, '-cJf', archive, '.'], { env: { ...process.env, XZ_OPT: '-6 -T0' } });
rmSync(stage, { recursive: true, force: true });
const bytes = statSync(archive).size;
console.log(`gpu-pack: ${relative(root, archive)} ${(bytes / 1048576).toFixed(1)} MiB (${packages.size} packages)`);
if (bytes > MAX_ARCHIVE_BYTES) {
  console.error(`gpu-pack: over ${MAX_ARCHIVE_BYTES / 1048576} MiB; it and the working tree must travel within 64 MiB`);
  process.exit(1);
}
