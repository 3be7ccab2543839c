// Option parsers for commander (they throw InvalidArgumentError, which commander reports as a usage error,
// exit code 2, naming the option) and early checks of output paths.
import { InvalidArgumentError } from 'commander';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';

export function positiveInt(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

export function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number of at least 0');
  return n;
}

export function nonNegativeNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of at least 0');
  return n;
}

export function positiveNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

/**
 * Walk from `dir` up to the first path that exists; a UsageError `${flag} ${shown}: ...` when that path is
 * not a directory (`dir` itself, when `dirIsTarget`, "exists and is not a directory").
 */
async function checkNearestExisting(dir: string, flag: string, shown: string, dirIsTarget: boolean): Promise<void> {
  const start = resolve(dir);
  for (let p = start; ; p = dirname(p)) {
    try {
      if ((await stat(p)).isDirectory()) return;
      throw new UsageError(`${flag} ${shown}: ${dirIsTarget && p === start ? 'exists and is not a directory' : `${p} is not a directory`}`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new UsageError(`${flag} ${shown}: cannot use it (${code ?? (err as Error).message})`);
      if (dirname(p) === p) return;
    }
  }
}

/**
 * Fail fast, as a usage error, on an output directory that cannot be one: the path (or a parent of it)
 * exists but is not a directory. A missing directory is fine: the command creates it.
 */
export async function checkOutputDir(path: string, flag = '--out'): Promise<void> {
  await checkNearestExisting(path, flag, path, true);
}

/** Like checkOutputDir for a file to be written: it may not be a directory, and its directory must be usable. */
export async function checkOutputFile(path: string, flag = '--out'): Promise<void> {
  try {
    if ((await stat(path)).isDirectory()) throw new UsageError(`${flag} ${path}: is a directory; give a file name`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
  await checkNearestExisting(dirname(resolve(path)), flag, path, false);
}
