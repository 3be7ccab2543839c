#!/usr/bin/env node
// Makes sure the external programs the tests use are on this machine, from Debian's packages only:
// - redis-server (FMI Redis channel) and Chromium (HTML report check): required.
// - Vulkan for the WebGPU path (docs/gpu.md): the loader (libvulkan1), vulkaninfo (vulkan-tools, which
//   names the adapters) and Mesa's software Vulkan driver, llvmpipe (mesa-vulkan-drivers), so every
//   machine, CI included, runs the WebGPU tests without a GPU. onnxruntime-node links its WebGPU provider
//   (Dawn) statically: `ldd libonnxruntime.so.1` shows only libc, libm, libstdc++ and libgcc, and Dawn
//   opens libvulkan.so.1 at run time. bookworm's own Mesa 22.3 lacks what the provider needs, so on
//   bookworm the driver comes from bookworm-backports (Mesa 25), whose source is added when absent.
// As root it installs what is missing; otherwise it says what to install. A missing Vulkan is not an
// error here: the WebGPU tests then skip and say why.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

const sh = (cmd) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
const onPath = (bin) => sh(`command -v ${bin}`).status === 0;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const apt = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;

const required = [
  { pkg: 'redis-server', have: () => existsSync('/usr/bin/redis-server') || onPath('redis-server') },
  { pkg: 'chromium', have: () => existsSync('/usr/bin/chromium') || onPath('chromium') },
];

/** The oldest Mesa whose llvmpipe Vulkan driver runs onnxruntime's WebGPU provider (bookworm's 22.3 does not). */
const MIN_MESA_MAJOR = 23;
const codename = () => (/^VERSION_CODENAME=(.*)$/m.exec(existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '') ?? [])[1]?.trim();
const installedVersion = (pkg) => {
  const r = sh(`dpkg-query -W -f='\${Version}' ${pkg} 2>/dev/null`);
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
};
const mesaMajor = () => Number((/^(?:\d+:)?(\d+)\./.exec(installedVersion('mesa-vulkan-drivers') ?? '') ?? [])[1] ?? 0);
const vulkan = [
  { pkg: 'libvulkan1', have: () => sh('ldconfig -p | grep -q "libvulkan.so.1 "').status === 0 },
  { pkg: 'vulkan-tools', have: () => onPath('vulkaninfo') },
  { pkg: 'mesa-vulkan-drivers', backports: true, have: () => mesaMajor() >= MIN_MESA_MAJOR },
];

const missingRequired = required.filter((n) => !n.have());
const missingVulkan = vulkan.filter((n) => !n.have());
if (missingRequired.length === 0 && missingVulkan.length === 0) {
  console.log('provision: redis-server, chromium and Vulkan (loader, vulkaninfo, Mesa llvmpipe) present');
  process.exit(0);
}

const onBookworm = codename() === 'bookworm';
const backportsHint = onBookworm ? ' -t bookworm-backports (add bookworm-backports to the apt sources first)' : '';
if (!isRoot) {
  if (missingRequired.length) {
    const pkgs = missingRequired.map((n) => n.pkg);
    console.error(`provision: missing ${pkgs.join(', ')}; install them with: sudo apt-get install -y ${pkgs.join(' ')}`);
  }
  if (missingVulkan.length) {
    const pkgs = missingVulkan.map((n) => n.pkg);
    console.error(`provision: no software Vulkan for the WebGPU tests (they will skip); install: sudo apt-get install -y --no-install-recommends${backportsHint} ${pkgs.join(' ')}`);
  }
  process.exit(missingRequired.length ? 1 : 0);
}

/** Add Debian's bookworm-backports to apt's sources unless some source already lists it. */
function ensureBackportsSource() {
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`) : [])];
  const listed = files.some((f) => {
    try {
      return /bookworm-backports/.test(readFileSync(f, 'utf8'));
    } catch {
      return false;
    }
  });
  if (listed) return false;
  writeFileSync(
    '/etc/apt/sources.list.d/bookworm-backports.sources',
    ['Types: deb', 'URIs: http://deb.debian.org/debian', 'Suites: bookworm-backports', 'Components: main', 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg', ''].join('\n'),
  );
  console.log('provision: added bookworm-backports to the apt sources (Mesa 25 for the software Vulkan driver)');
  return true;
}

let failed = false;
if (missingVulkan.some((n) => n.backports) && onBookworm) ensureBackportsSource();
if (!apt(['update', '-qq'])) {
  console.error('provision: apt-get update failed');
  process.exit(1);
}
if (missingRequired.length) {
  const pkgs = missingRequired.map((n) => n.pkg);
  console.log(`provision: installing ${pkgs.join(', ')} from Debian packages`);
  if (!apt(['install', '-y', '-qq', '--no-install-recommends', ...pkgs])) {
    console.error(`provision: apt-get install ${pkgs.join(' ')} failed`);
    process.exit(1);
  }
}
if (missingVulkan.length) {
  const pkgs = missingVulkan.map((n) => n.pkg);
  console.log(`provision: installing ${pkgs.join(', ')} from Debian packages${onBookworm ? ' (bookworm-backports)' : ''}`);
  // -t prefers backports for these packages and the Mesa libraries they depend on; nothing else changes suite.
  if (!apt(['install', '-y', '-qq', '--no-install-recommends', ...(onBookworm ? ['-t', 'bookworm-backports'] : []), ...pkgs])) {
    console.error(`provision: apt-get install ${pkgs.join(' ')} failed; the WebGPU tests will skip`);
    failed = true;
  }
}
const still = [...required, ...vulkan].filter((n) => !n.have());
if (still.some((n) => required.includes(n))) {
  console.error(`provision: ${still.map((n) => n.pkg).join(', ')} still missing after install`);
  process.exit(1);
}
if (still.length && !failed) console.error(`provision: ${still.map((n) => n.pkg).join(', ')} still missing after install (mesa-vulkan-drivers ${installedVersion('mesa-vulkan-drivers') ?? 'absent'}); the WebGPU tests will skip`);
console.log('provision: done');
