// The built-in model: seeded AstroMAE calibrated on synthetic galaxies, built once into a cache file.
import { open, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { ModelError } from '../errors.js';
import { writeModel } from './astromae.js';
import { calibrateAstroMAE, type CalibrationOptions } from './calibrate.js';
import { inspectModelBytes } from './inspect.js';

/** Identifies the recipe of the built-in model; a cached file with another key is rebuilt. */
export const BUILTIN_KEY = 'astromae-calibrated-v1';
export const BUILTIN_METADATA_KEY = 'cai.builtin';
export const DEFAULT_BUILTIN_PATH = join('build', 'models', 'astromae-calibrated.onnx');

/** Where the built-in model lives: $CAI_BUILTIN_MODEL, else build/models/astromae-calibrated.onnx under the cwd. */
export function builtinModelPath(): string {
  return resolve(process.env.CAI_BUILTIN_MODEL || DEFAULT_BUILTIN_PATH);
}

async function isCurrentBuiltin(path: string): Promise<boolean> {
  try {
    const info = inspectModelBytes(new Uint8Array(await readFile(path)), path);
    return info.metadata[BUILTIN_METADATA_KEY] === BUILTIN_KEY;
  } catch {
    return false;
  }
}

const inFlight = new Map<string, Promise<string>>();

/**
 * Return the path of the calibrated built-in model, building it first if the cache holds none (or an
 * outdated one). Concurrent callers, in this process or others, share one build through a lock file.
 */
export function ensureBuiltinModel(path?: string, opts: Pick<CalibrationOptions, 'onProgress' | 'threads'> = {}): Promise<string> {
  const target = resolve(path ?? builtinModelPath());
  let p = inFlight.get(target);
  if (!p) {
    p = ensure(target, opts).finally(() => inFlight.delete(target));
    inFlight.set(target, p);
  }
  return p;
}

/** A lock older than this is taken to belong to a crashed build. */
const STALE_LOCK_MS = 10 * 60 * 1000;

async function ensure(target: string, opts: Pick<CalibrationOptions, 'onProgress' | 'threads'>): Promise<string> {
  if (await isCurrentBuiltin(target)) return target;
  await mkdir(dirname(target), { recursive: true });
  const lock = `${target}.lock`;
  for (;;) {
    let handle;
    try {
      handle = await open(lock, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ModelError(target, `cannot create the build lock (${(err as Error).message})`);
      // Someone else is building: wait for their result, or take over a stale lock.
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_LOCK_MS) await rm(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 500));
      if (await isCurrentBuiltin(target)) return target;
      continue;
    }
    try {
      await handle.writeFile(String(process.pid));
      await handle.close();
      if (await isCurrentBuiltin(target)) return target;
      const model = await calibrateAstroMAE({ ...opts, metadata: { [BUILTIN_METADATA_KEY]: BUILTIN_KEY } });
      await writeModel(target, model.bytes);
      return target;
    } finally {
      await rm(lock, { force: true });
    }
  }
}
