// Storage in a local directory. Keys are '/'-separated paths relative to the root; a key that could leave
// the root (absolute, '..', backslash, or a symlink pointing outside) is refused. Writes are atomic: a temp
// file in the same directory, then rename, so readers see the old object or the whole new one. Conditional
// puts (for locks) link a complete temp file into place, which fails when the name exists; a conditional
// replacement is a rename by the one writer that claimed the old version.
import type { BigIntStats } from 'node:fs';
import { constants, link, open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DataError } from '../../errors.js';
import { isSafeRelativePath } from '../../util/safe-path.js';
import { TEMP_SUFFIX, isTempFile, openAtomic, tempPathFor, writeFileAtomic, writeRefusal } from '../../util/atomic-file.js';
import type { ObjectInfo, Storage, TaggedObject } from '../types.js';

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
    return (await this.read(key, opts, false))!.body;
  }

  async getTagged(key: string, opts: { maxBytes?: number } = {}): Promise<TaggedObject | undefined> {
    const got = await this.read(key, opts, true);
    return got && { body: got.body, tag: versionTag(got.st) };
  }

  /** The file's bytes and stat; a missing file is undefined when `missingOk`, else a DataError. */
  private async read(key: string, opts: { maxBytes?: number }, missingOk: boolean): Promise<{ body: Uint8Array; st: BigIntStats } | undefined> {
    const file = this.pathOf(key);
    await this.checkInsideRoot(file);
    let handle;
    try {
      // Non-blocking, so that a FIFO (or a device) in place of a file is refused below instead of hanging.
      handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (e) {
      if (missingOk && isNotFound(e)) return undefined;
      throw notFoundOr(e, file);
    }
    try {
      const st = await handle.stat({ bigint: true });
      if (!st.isFile()) throw new DataError(file, 'not a regular file');
      const size = Number(st.size);
      if (opts.maxBytes !== undefined && size > opts.maxBytes) throw new DataError(file, `is ${size} bytes, more than the ${opts.maxBytes}-byte limit`);
      const out = new Uint8Array(size);
      let at = 0;
      while (at < size) {
        const { bytesRead } = await handle.read(out, at, size - at, at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      // The file shrank while we read it: hand back only what exists rather than trailing zeros.
      return { body: at === size ? out : out.subarray(0, at), st };
    } finally {
      await handle.close();
    }
  }

  async putIf(key: string, body: Uint8Array | string, ifTag: string | null): Promise<boolean> {
    const file = this.pathOf(key);
    await this.checkInsideRoot(file);
    // The new version is complete on disk before it gets the name, so no reader sees part of it.
    const next = await openAtomic(tempPathFor(file), { mkdir: true });
    try {
      await next.handle.writeFile(body);
      await next.commit();
      return ifTag === null ? await linkUnlessExists(next.path, file) : await replaceIfVersion(next.path, file, ifTag);
    } finally {
      await unlink(next.path).catch(() => undefined);
    }
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const file = this.pathOf(key);
    await this.checkInsideRoot(file);
    // A crash leaves at most a temp file, which `list` never reports; a refused write names the file.
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
      if (!isNotFound(e)) throw writeRefusal(e, file);
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

/** Give `file` the complete file `ready` unless the name exists. */
async function linkUnlessExists(ready: string, file: string): Promise<boolean> {
  try {
    await link(ready, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw writeRefusal(e, file);
  }
}

/** A claim older than this was left by a writer that died between claiming and replacing. */
const STALE_CLAIM_MS = 30_000;

/**
 * Rename `ready` over `file` if `file` is still the version `tag`. Writers that would replace the same
 * version first create one claim named after it (a link, which only one can make), so only one of them
 * replaces it; the old version stays readable until the rename swaps the new one in.
 */
async function replaceIfVersion(ready: string, file: string, tag: string): Promise<boolean> {
  const claim = join(dirname(file), `.${basename(file)}.claim-${createHash('sha256').update(tag).digest('hex').slice(0, 32)}${TEMP_SUFFIX}`);
  if (!(await linkUnlessExists(ready, claim))) {
    const age = await stat(claim).then((st) => Date.now() - st.mtimeMs, () => 0);
    if (age < STALE_CLAIM_MS) return false;
    await unlink(claim).catch(() => undefined);
    if (!(await linkUnlessExists(ready, claim))) return false;
  }
  try {
    const current = await stat(file, { bigint: true }).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!current || versionTag(current) !== tag) return false;
    await rename(ready, file).catch((e: unknown) => {
      throw writeRefusal(e, file);
    });
    return true;
  } finally {
    await unlink(claim).catch(() => undefined);
  }
}

/** A file version's identity: a rewrite is a new inode (atomic writes rename a new file into place). */
function versionTag(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`;
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

function notFoundOr(e: unknown, file: string): unknown {
  if (isNotFound(e)) return new DataError(file, 'not found');
  if ((e as NodeJS.ErrnoException)?.code === 'EISDIR') return new DataError(file, 'is a directory, not a file');
  return e;
}
