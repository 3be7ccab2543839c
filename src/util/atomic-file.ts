// Atomic file writes: the bytes go to a temp file in the same directory (same file system, so rename is
// atomic), are flushed to disk, and the temp file is then renamed over the target. Readers see the old
// file or the whole new one, never a part; a crash leaves at most a recognisable temp file. A write the
// file system refuses (full, read-only, no permission) is a StorageWriteError naming the target, and its
// temp file is removed where the file system still allows it.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StorageWriteError } from '../errors.js';

/** Every temp file ends with this, so listings can skip leftovers of a crashed write. */
export const TEMP_SUFFIX = '.cai-tmp';

export function isTempFile(name: string): boolean {
  return name.endsWith(TEMP_SUFFIX);
}

/** A fresh, hidden temp name next to `path`. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
}

/** Refusals no retry fixes until someone acts on the file system, as a person reads them. */
const WRITE_REFUSALS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EFBIG: 'file too large for the file system',
};

/** `err` as a StorageWriteError naming `path` when the file system refused the write; unchanged otherwise. */
export function writeRefusal(err: unknown, path: string): unknown {
  if (err instanceof StorageWriteError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const problem = code ? WRITE_REFUSALS[code] : undefined;
  return problem ? new StorageWriteError(path, code!, problem, { cause: err }) : err;
}

export interface AtomicFileOptions {
  /** Create the parent directory first (default false). */
  mkdir?: boolean;
  /** File mode of the new file (default 0o644). */
  mode?: number;
}

/** A file being written under a temp name; commit() puts it in place, abort() removes it. Both are idempotent. */
export interface AtomicFile {
  readonly path: string;
  readonly handle: FileHandle;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export async function openAtomic(path: string, opts: AtomicFileOptions = {}): Promise<AtomicFile> {
  const tmp = tempPathFor(path);
  let handle: FileHandle;
  try {
    if (opts.mkdir) await mkdir(dirname(path), { recursive: true });
    handle = await open(tmp, 'wx', opts.mode ?? 0o644);
  } catch (err) {
    throw writeRefusal(err, path);
  }
  let done = false;
  const abort = async (): Promise<void> => {
    if (done) return;
    done = true;
    await handle.close().catch(() => undefined);
    // On a file system turned read-only the temp file stays: listings skip it and it is never read.
    await rm(tmp, { force: true }).catch(() => undefined);
  };
  return {
    path,
    handle,
    commit: async () => {
      if (done) return;
      try {
        await handle.sync();
        await handle.close();
        await rename(tmp, path);
        done = true;
      } catch (err) {
        await abort();
        throw writeRefusal(err, path);
      }
    },
    abort,
  };
}

/** Write `data` to `path` atomically. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicFileOptions = {}): Promise<void> {
  const f = await openAtomic(path, opts);
  try {
    await f.handle.writeFile(data);
    await f.commit();
  } catch (err) {
    await f.abort();
    throw writeRefusal(err, path);
  }
}
