// Storage in a local directory. Keys are '/'-separated paths relative to the root; a key that could leave
// the root (absolute, '..', backslash, or a symlink pointing outside) is refused. Writes are atomic: a temp
// file in the same directory, then rename, so readers see the old object or the whole new one.
import { constants, open, readdir, realpath, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataError } from '../../errors.js';
import { isSafeRelativePath } from '../../util/safe-path.js';
import { isTempFile, writeFileAtomic } from '../../util/atomic-file.js';
import type { ObjectInfo, Storage } from '../types.js';

export class LocalStorage implements Storage {
  readonly kind = 'local';
  readonly root: string;
  readonly location: string;
  private realRoot: string | undefined;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
    this.location = pathToFileURL(this.root).href;
  }

  /** The file path of a key, after checking that the key stays inside the root. */
  pathOf(key: string): string {
    if (!isSafeRelativePath(key)) throw new DataError(key, `unsafe storage key (must be a relative path inside ${this.root})`);
    return join(this.root, ...key.split('/'));
  }

  async get(key: string, opts: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const file = this.pathOf(key);
    await this.checkInsideRoot(file);
    let handle;
    try {
      // Non-blocking, so that a FIFO (or a device) in place of a file is refused below instead of hanging.
      handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      throw notFoundOr(e, file);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new DataError(file, 'not a regular file');
      if (opts.maxBytes !== undefined && st.size > opts.maxBytes) throw new DataError(file, `is ${st.size} bytes, more than the ${opts.maxBytes}-byte limit`);
      const out = new Uint8Array(st.size);
      let at = 0;
      while (at < st.size) {
        const { bytesRead } = await handle.read(out, at, st.size - at, at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      // The file shrank while we read it: hand back only what exists rather than trailing zeros.
      return at === st.size ? out : out.subarray(0, at);
    } finally {
      await handle.close();
    }
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const file = this.pathOf(key);
    await this.checkInsideRoot(file);
    // A crash leaves at most a temp file, which `list` never reports.
    await writeFileAtomic(file, body, { mkdir: true });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.pathOf(key);
    await this.checkInsideRoot(file);
    try {
      const st = await stat(file);
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    // Walk only the deepest directory the prefix names, then filter by the full prefix.
    const trimmed = prefix.replace(/\/+$/, '');
    if (trimmed !== '' && !isSafeRelativePath(trimmed)) throw new DataError(prefix, `unsafe storage prefix (must be a relative path inside ${this.root})`);
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const out: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (isNotFound(e) || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw e;
      }
      for (const ent of entries) {
        const key = keyPrefix + ent.name;
        if (ent.isDirectory()) {
          if ((key + '/').startsWith(prefix) || prefix.startsWith(key + '/')) await walk(join(dir, ent.name), key + '/');
        } else if (ent.isFile() && !isTempFile(ent.name) && key.startsWith(prefix)) {
          const st = await stat(join(dir, ent.name));
          out.push({ key, size: st.size });
        }
      }
    };
    await walk(dirPart ? join(this.root, ...dirPart.split('/')) : this.root, dirPart ? dirPart + '/' : '');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    await this.checkInsideRoot(file);
    try {
      await unlink(file);
    } catch (e) {
      // Deleting a missing object succeeds, as on S3.
      if (!isNotFound(e)) throw e;
    }
  }

  /** Refuse a path whose existing part resolves (through symlinks) outside the root. */
  private async checkInsideRoot(file: string): Promise<void> {
    if (this.realRoot === undefined) {
      try {
        this.realRoot = await realpath(this.root);
      } catch (e) {
        if (isNotFound(e)) return; // no root yet: nothing inside it can be a symlink
        throw e;
      }
    }
    let existing = file;
    for (;;) {
      try {
        const real = await realpath(existing);
        if (real !== this.realRoot && !real.startsWith(this.realRoot + sep)) throw new DataError(file, `resolves outside the storage root ${this.root}`);
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        const parent = dirname(existing);
        if (parent === existing) return;
        existing = parent;
      }
    }
  }
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

function notFoundOr(e: unknown, file: string): unknown {
  if (isNotFound(e)) return new DataError(file, 'not found');
  if ((e as NodeJS.ErrnoException)?.code === 'EISDIR') return new DataError(file, 'is a directory, not a file');
  return e;
}
