// The environment a process needs before its first WebGPU (Dawn over Vulkan) session, set only where the
// user has not set it:
// - XDG_RUNTIME_DIR: the Vulkan loader and Mesa's window-system code probe it (and print an error when it
//   is missing, as on a service account, in a container or in Lambda); a private directory stands in.
// - a writable shader disk cache: the drivers keep compiled pipelines there across processes (Mesa under
//   MESA_SHADER_CACHE_DIR, NVIDIA under __GL_SHADER_DISK_CACHE_PATH). On software Vulkan the first session
//   of a model compiles its shaders for tens of seconds; with the cache, later processes skip that. Only
//   where the default location (~/.cache) cannot be written is another one chosen; CAI_GPU_CACHE names one.
// Vulkan reads these when a process creates its instance, so they are set in the process itself (native
// code reads the process environment) and passed to the processes it starts.
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

let runtimeDir: string | undefined;

function uidSuffix(): string {
  try {
    return String(userInfo().uid);
  } catch {
    return 'user';
  }
}

function writable(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where the drivers' shader caches live when the user has not chosen: null keeps the drivers' default. */
export function shaderCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.CAI_GPU_CACHE) return env.CAI_GPU_CACHE;
  const home = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, '.cache') : join(homedir(), '.cache'));
  if (writable(home)) return null;
  return join(tmpdir(), `cai-gpu-cache-${uidSuffix()}`);
}

/** The variables to add to `env` (none when all are set). */
export function vulkanEnvAdditions(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const add: Record<string, string> = {};
  if (!env.XDG_RUNTIME_DIR) {
    if (runtimeDir === undefined) {
      const made = mkdtempSync(join(tmpdir(), 'cai-xdg-runtime-'));
      runtimeDir = made;
      // Only this process made it (the processes it starts inherit the variable): it goes when this one does.
      process.once('exit', () => rmSync(made, { recursive: true, force: true }));
    }
    add.XDG_RUNTIME_DIR = runtimeDir;
  }
  const cache = shaderCacheDir(env);
  if (cache !== null && writable(cache)) {
    if (!env.MESA_SHADER_CACHE_DIR || env.CAI_GPU_CACHE) add.MESA_SHADER_CACHE_DIR = join(cache, 'mesa');
    if (!env.__GL_SHADER_DISK_CACHE_PATH || env.CAI_GPU_CACHE) add.__GL_SHADER_DISK_CACHE_PATH = join(cache, 'nvidia');
  }
  return add;
}

/** A copy of this process's environment with the Vulkan additions, for a child process. */
export function vulkanProcessEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  return { ...env, ...vulkanEnvAdditions(env) };
}

/** Set the additions in this process, before its first WebGPU session. Idempotent. */
export function prepareVulkanProcess(): void {
  for (const [k, v] of Object.entries(vulkanEnvAdditions())) {
    if (k.endsWith('_CACHE_DIR') || k.endsWith('_CACHE_PATH')) mkdirSync(v, { recursive: true, mode: 0o700 });
    process.env[k] = v;
  }
}
