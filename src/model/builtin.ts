// The built-in model: seeded AstroMAE calibrated on synthetic galaxies, built once into a cache file; and
// its int8 version, quantized from that file into a cache file beside it.
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
/** Recipe key of the int8 built-in model (it also records the key of the fp32 model it came from). */
export const BUILTIN_INT8_KEY = 'astromae-calibrated-int8-v1';

/** Where the built-in model lives: $CAI_BUILTIN_MODEL, else build/models/astromae-calibrated.onnx under the cwd. */
export function builtinModelPath(): string {
  return resolve(process.env.CAI_BUILTIN_MODEL || DEFAULT_BUILTIN_PATH);
}

/** The int8 built-in model: beside the fp32 one, `-int8` before `.onnx`. */
export function builtinInt8ModelPath(fp32Path = builtinModelPath()): string {
  return fp32Path.endsWith('.onnx') ? `${fp32Path.slice(0, -'.onnx'.length)}-int8.onnx` : `${fp32Path}-int8`;
}

async function hasBuiltinKey(path: string, key: string): Promise<boolean> {
  try {
    const info = inspectModelBytes(new Uint8Array(await readFile(path)), path);
    return info.metadata[BUILTIN_METADATA_KEY] === key;
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
  return ensureShared(target, BUILTIN_KEY, async () => (await calibrateAstroMAE({ ...opts, metadata: { [BUILTIN_METADATA_KEY]: BUILTIN_KEY } })).bytes);
}

/**
 * Return the path of the int8 built-in model (next to the fp32 one), quantizing the fp32 built-in model
 * first if the cache holds no current int8 file.
 */
export function ensureBuiltinInt8Model(fp32Path?: string, opts: Pick<CalibrationOptions, 'onProgress' | 'threads'> = {}): Promise<string> {
  const fp32 = resolve(fp32Path ?? builtinModelPath());
  return ensureShared(builtinInt8ModelPath(fp32), BUILTIN_INT8_KEY, async () => {
    const source = await ensureBuiltinModel(fp32, opts);
    const { quantizeAstroMAE } = await import('./quantize/astromae-int8.js');
    const q = await quantizeAstroMAE(new Uint8Array(await readFile(source)), {
      threads: opts.threads,
      metadata: { [BUILTIN_METADATA_KEY]: BUILTIN_INT8_KEY, 'cai.int8_source': BUILTIN_KEY },
    });
    return q.bytes;
  });
}

function ensureShared(target: string, key: string, build: () => Promise<Uint8Array>): Promise<string> {
  let p = inFlight.get(target);
  if (!p) {
    p = ensure(target, key, build).finally(() => inFlight.delete(target));
    inFlight.set(target, p);
  }
  return p;
}

/** A lock older than this is taken to belong to a crashed build. */
const STALE_LOCK_MS = 10 * 60 * 1000;

async function ensure(target: string, key: string, build: () => Promise<Uint8Array>): Promise<string> {
  if (await hasBuiltinKey(target, key)) return target;
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
      if (await hasBuiltinKey(target, key)) return target;
      continue;
    }
    try {
      await handle.writeFile(String(process.pid));
      await handle.close();
      if (await hasBuiltinKey(target, key)) return target;
      await writeModel(target, await build());
      return target;
    } finally {
      await rm(lock, { force: true });
    }
  }
}
