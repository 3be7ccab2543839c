// The model of a Lambda instance: fetched from S3 into /tmp on the instance's first use and kept for every
// later invocation (the warm path). One model at a time, since /tmp is small and billed above 512 MB.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError, ModelError, UnavailableError } from '../../errors.js';
import { MAX_MODEL_BYTES } from '../../model/onnx/schema.js';
import { isSafeRelativePath } from '../../util/safe-path.js';
import { isS3Uri, openStorage, S3Storage } from '../../storage/index.js';

/** Models past this size are refused before fetching (ONNX protobuf files stop at 2 GiB). */

export interface ModelFile {
  /** Local path for the inference engine. */
  path: string;
  /** Time spent fetching on this call, ms (0 when kept from an earlier invocation or already local). */
  fetchMs: number;
  fetched: boolean;
  bytes?: number;
}

/** Split s3://bucket/prefix/name.onnx into the storage root and the key inside it. */
function splitObjectUri(uri: string): { root: string; key: string } {
  const slash = uri.lastIndexOf('/');
  const root = uri.slice(0, slash);
  const key = uri.slice(slash + 1);
  if (!/^s3:\/\/[^/]+/.test(root) || !key) throw new ModelError(uri, 'not an s3://bucket/key URI of a model file');
  if (!isSafeRelativePath(key)) throw new ModelError(uri, 'unsafe object key');
  return { root, key };
}

/** Size and entity tag of the object: a retrained model of the same architecture has the same size, not the same tag. */
async function objectVersion(storage: S3Storage, key: string, uri: string): Promise<{ size: number; etag: string } | undefined> {
  const [{ HeadObjectCommand }, client] = await Promise.all([import('@aws-sdk/client-s3'), storage.client()]);
  try {
    const r = await client.send(new HeadObjectCommand({ Bucket: storage.bucket, Key: storage.prefix + key }));
    return { size: r.ContentLength ?? 0, etag: r.ETag ?? '' };
  } catch (e) {
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    if (err?.name === 'NotFound' || err?.name === 'NoSuchKey' || err?.$metadata?.httpStatusCode === 404) return undefined;
    throw new UnavailableError(`${uri}: cannot read the model's metadata (${err?.name ?? 'Error'}: ${(err?.message ?? String(e)).replace(/\s*\n\s*/g, ' ')})`, { cause: e });
  }
}

export class ModelCache {
  private current: { uri: string; etag: string; path: string } | undefined;

  constructor(readonly dir: string) {}

  /**
   * The local file of `location`: an s3:// URI is fetched once per object version (one HEAD per call checks
   * it); a path is used as it is. A new version gets a new file name, so the warm engine reloads it.
   */
  async resolve(location: string): Promise<ModelFile> {
    if (!isS3Uri(location)) return { path: location, fetchMs: 0, fetched: false };
    const t0 = performance.now();
    const { root, key } = splitObjectUri(location);
    const storage = openStorage(root);
    if (!(storage instanceof S3Storage)) throw new ModelError(location, 'not an S3 location');
    const info = await objectVersion(storage, key, location);
    if (!info) throw new ModelError(location, 'model not found');
    if (info.size > MAX_MODEL_BYTES) throw new ModelError(location, `is ${info.size} bytes, more than the ${MAX_MODEL_BYTES}-byte limit of a model`);
    if (this.current && this.current.uri === location && this.current.etag === info.etag) return { path: this.current.path, fetchMs: 0, fetched: false, bytes: info.size };

    await mkdir(this.dir, { recursive: true });
    await this.evict();
    await this.checkSpace(location, info.size);
    let bytes: Uint8Array;
    try {
      bytes = await storage.get(key, { maxBytes: MAX_MODEL_BYTES });
    } catch (e) {
      if (e instanceof DataError) throw new ModelError(location, e.message.replace(/^.*?: /, ''));
      throw e;
    }
    const name = createHash('sha256').update(`${location}|${info.etag}`).digest('hex').slice(0, 16) + '.onnx';
    const path = join(this.dir, name);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
    this.current = { uri: location, etag: info.etag, path };
    return { path, fetchMs: performance.now() - t0, fetched: true, bytes: bytes.byteLength };
  }

  /** Drop every model this cache wrote before (a different model replaces it). */
  private async evict(): Promise<void> {
    this.current = undefined;
    for (const f of await readdir(this.dir).catch(() => [] as string[])) if (/^[0-9a-f]{16}\.onnx(\..*\.tmp)?$/.test(f)) await rm(join(this.dir, f), { force: true });
  }

  private async checkSpace(location: string, size: number): Promise<void> {
    const s = await statfs(this.dir).catch(() => undefined);
    if (!s) return;
    const free = s.bavail * s.bsize;
    if (free < size) throw new ModelError(location, `needs ${(size / 1e6).toFixed(0)} MB in ${this.dir} but ${(free / 1e6).toFixed(0)} MB are free; raise the function's ephemeral storage`);
  }
}
