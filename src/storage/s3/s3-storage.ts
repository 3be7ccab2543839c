// Storage in an S3 bucket under a key prefix, with the same key layout as a local directory.
// PutObject is atomic on S3 (readers see the old object or the whole new one), so put needs no temp key.
// Throttling (503 SlowDown) and other transient failures are retried by the SDK's own strategy with
// backoff and jitter (util/aws-retry.ts); what is left after the last attempt is one line naming the key.
// Conditional puts use If-None-Match / If-Match, which S3 honours; some S3-compatible servers (s3rver)
// ignore them and write anyway.
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { CaiError, DataError, ExitCode, UnavailableError } from '../../errors.js';
import { awsRetryConfig, retriesText } from '../../util/aws-retry.js';
import { isSafeRelativePath } from '../../util/safe-path.js';
import type { ObjectInfo, Storage, TaggedObject } from '../types.js';

// The SDK takes more than half a second to load; only processes that touch S3 pay for it.
type S3Sdk = typeof import('@aws-sdk/client-s3');
let sdkPromise: Promise<S3Sdk> | undefined;
const sdk = (): Promise<S3Sdk> => (sdkPromise ??= import('@aws-sdk/client-s3'));

/** Clients are shared per endpoint and region so many storages reuse one connection pool. */
const sharedClients = new Map<string, Promise<S3Client>>();

export interface S3StorageOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or 'a/b'); every key of this storage lives under it. */
  prefix?: string;
  /** A ready client; otherwise one is made from endpoint/region/credentials. */
  client?: S3Client;
  /** Custom endpoint (S3-compatible server); implies path-style addressing. */
  endpoint?: string;
  region?: string;
  credentials?: S3ClientConfig['credentials'];
  /** Keys per list request (default: the server's, 1000 on S3). */
  pageSize?: number;
  /** Attempts per request, the first included (default: util/aws-retry.ts). */
  maxAttempts?: number;
}

/** Bucket names as S3 allows them (3-63 chars, lower case, digits, dot, dash). */
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export class S3Storage implements Storage {
  readonly kind = 's3';
  readonly location: string;
  readonly bucket: string;
  /** '' or 'a/b/' */
  readonly prefix: string;
  private clientPromise: Promise<S3Client> | undefined;
  private readonly opts: S3StorageOptions;

  constructor(opts: S3StorageOptions) {
    if (!BUCKET_RE.test(opts.bucket)) throw new DataError(`s3://${opts.bucket}`, 'not a valid S3 bucket name');
    const trimmed = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (trimmed !== '' && !isSafeRelativePath(trimmed)) throw new DataError(`s3://${opts.bucket}/${trimmed}`, 'unsafe key prefix');
    this.bucket = opts.bucket;
    this.prefix = trimmed === '' ? '' : trimmed + '/';
    this.location = `s3://${this.bucket}${trimmed ? '/' + trimmed : ''}`;
    this.opts = opts;
    if (opts.client) this.clientPromise = Promise.resolve(opts.client);
  }

  /** The S3 client (made on first use; shared with other storages of the same endpoint and region). */
  client(): Promise<S3Client> {
    if (this.clientPromise) return this.clientPromise;
    const region = this.opts.region ?? 'us-east-1';
    const endpoint = this.opts.endpoint ?? '';
    const retry = awsRetryConfig(this.opts.maxAttempts);
    const make = async (): Promise<S3Client> => {
      const { S3Client } = await sdk();
      return new S3Client({
        region,
        ...retry,
        ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
        ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
      });
    };
    if (this.opts.credentials) return (this.clientPromise = make());
    const key = `${endpoint}|${region}|${retry.maxAttempts ?? ''}`;
    let shared = sharedClients.get(key);
    if (!shared) sharedClients.set(key, (shared = make()));
    return (this.clientPromise = shared);
  }

  /** Send one command; the client's retry strategy (util/aws-retry.ts) backs off on throttling. */
  private async send<T>(build: (s: S3Sdk) => object): Promise<T> {
    const [s, client] = await Promise.all([sdk(), this.client()]);
    // Each command class pairs with its own output type; callers name the output they expect.
    const send = client.send.bind(client) as unknown as (command: object) => Promise<T>;
    return send(build(s));
  }

  private fullKey(key: string): string {
    if (!isSafeRelativePath(key)) throw new DataError(`${this.location}/${key}`, 'unsafe storage key (must be a relative path)');
    return this.prefix + key;
  }

  private where(key: string): string {
    return `${this.location}/${key}`;
  }

  async get(key: string, opts: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const got = await this.fetchObject(key, opts);
    if (!got) throw new DataError(this.where(key), 'not found');
    return got.body;
  }

  async getTagged(key: string, opts: { maxBytes?: number } = {}): Promise<TaggedObject | undefined> {
    return this.fetchObject(key, opts);
  }

  /** The object's bytes and ETag, or undefined when there is no such key. */
  private async fetchObject(key: string, opts: { maxBytes?: number }): Promise<TaggedObject | undefined> {
    const Key = this.fullKey(key);
    let res;
    try {
      res = await this.send<import('@aws-sdk/client-s3').GetObjectCommandOutput>((s) => new s.GetObjectCommand({ Bucket: this.bucket, Key }));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.failure(e, key, 'get');
    }
    return { body: await this.readBody(res, key, opts.maxBytes), tag: res.ETag ?? '' };
  }

  private async readBody(res: import('@aws-sdk/client-s3').GetObjectCommandOutput, key: string, maxBytes: number | undefined): Promise<Uint8Array> {
    const body = res.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
    const declared = res.ContentLength;
    if (maxBytes !== undefined && declared !== undefined && declared > maxBytes) {
      body?.destroy?.();
      throw new DataError(this.where(key), `is ${declared} bytes, more than the ${maxBytes}-byte limit`);
    }
    if (!body) return new Uint8Array(0);
    // Allocate once when the size is known; still count bytes, since a server may send more than it declared.
    const limit = maxBytes ?? Infinity;
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for await (const chunk of body) {
        total += chunk.byteLength;
        if (total > limit) {
          body.destroy?.();
          throw new DataError(this.where(key), `is more than the ${maxBytes}-byte limit`);
        }
        chunks.push(chunk);
      }
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw this.failure(e, key, 'read');
    }
    if (chunks.length === 1) return chunks[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }

  async putIf(key: string, body: Uint8Array | string, ifTag: string | null): Promise<boolean> {
    const Key = this.fullKey(key);
    const condition = ifTag === null ? { IfNoneMatch: '*' } : { IfMatch: ifTag };
    try {
      await this.send((s) => new s.PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength, ...condition }));
      return true;
    } catch (e) {
      // 412: the condition failed; 409: a concurrent conditional write won; 404: the version to replace is gone.
      const status = (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
      if (status === 412 || status === 409 || (ifTag !== null && isNotFound(e))) return false;
      throw this.failure(e, key, 'put');
    }
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const Key = this.fullKey(key);
    try {
      await this.send((s) => new s.PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength }));
    } catch (e) {
      throw this.failure(e, key, 'put');
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.fullKey(key);
    try {
      const res = await this.send<import('@aws-sdk/client-s3').HeadObjectCommandOutput>((s) => new s.HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { key, size: res.ContentLength ?? 0 };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.failure(e, key, 'head');
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const trimmed = prefix.replace(/\/+$/, '');
    if (trimmed !== '' && !isSafeRelativePath(trimmed)) throw new DataError(this.where(prefix), 'unsafe storage prefix');
    type Out = import('@aws-sdk/client-s3').ListObjectsV2CommandOutput;
    const Prefix = this.prefix + prefix;
    const MaxKeys = this.opts.pageSize;
    const out: ObjectInfo[] = [];
    const take = (contents: { Key?: string; Size?: number }[] | undefined): string | undefined => {
      let last: string | undefined;
      for (const o of contents ?? []) {
        if (o.Key === undefined || !o.Key.startsWith(this.prefix)) continue;
        out.push({ key: o.Key.slice(this.prefix.length), size: o.Size ?? 0 });
        last = o.Key;
      }
      return last;
    };
    let token: string | undefined;
    let lastKey: string | undefined;
    for (;;) {
      let res: Out;
      try {
        const ContinuationToken = token;
        res = await this.send<Out>((s) => new s.ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken, MaxKeys }));
      } catch (e) {
        // Some S3-compatible servers fail to make continuation tokens (s3rver's need DES, which OpenSSL 3
        // no longer offers). Such a failure on a page is retried with marker paging (ListObjects v1),
        // which pages by key and needs no token.
        if (!isServerError(e)) throw this.failure(e, prefix, 'list');
        await this.listByMarker(Prefix, MaxKeys, lastKey, take, prefix);
        break;
      }
      lastKey = take(res.Contents) ?? lastKey;
      // Some servers set IsTruncated without a token (or the reverse); a token is what lets us continue.
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
      if (!token) break;
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private async listByMarker(Prefix: string, MaxKeys: number | undefined, after: string | undefined, take: (c: { Key?: string; Size?: number }[] | undefined) => string | undefined, prefix: string): Promise<void> {
    type Out = import('@aws-sdk/client-s3').ListObjectsCommandOutput;
    let Marker = after;
    for (;;) {
      let res: Out;
      try {
        const m = Marker;
        res = await this.send<Out>((s) => new s.ListObjectsCommand({ Bucket: this.bucket, Prefix, Marker: m, MaxKeys }));
      } catch (e) {
        throw this.failure(e, prefix, 'list');
      }
      const last = take(res.Contents);
      if (!res.IsTruncated || last === undefined) return;
      // Without a delimiter S3 sends no NextMarker; the last key of the page is the marker.
      Marker = res.NextMarker ?? last;
    }
  }

  async delete(key: string): Promise<void> {
    const Key = this.fullKey(key);
    try {
      await this.send((s) => new s.DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw this.failure(e, key, 'delete');
    }
  }

  /** A one-line error: unreachable endpoints are UnavailableError (worth a retry), the rest DataError. */
  private failure(e: unknown, key: string, op: string): Error {
    const err = e as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const code = err.code ?? err.name ?? 'Error';
    const status = err.$metadata?.httpStatusCode;
    const text = `${op} failed${retriesText(e)}: ${code}${status ? ` (HTTP ${status})` : ''}${err.message && err.message !== code ? `: ${err.message}` : ''}`.replace(/\s+/g, ' ');
    if (isNetworkError(e) || (status !== undefined && (status >= 500 || status === 429 || status === 503))) return new UnavailableError(`${this.where(key)}: ${text}`, { cause: e });
    if (status === 403 || code === 'AccessDenied' || code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch')
      // Not an UnavailableError: retrying cannot fix credentials.
      return new CaiError(`${this.where(key)}: access denied (${code}); check the AWS credentials`, ExitCode.unavailable, { cause: e });
    if (code === 'NoSuchBucket') return new DataError(`s3://${this.bucket}`, 'bucket does not exist', { cause: e });
    return new DataError(this.where(key), text, { cause: e });
  }
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.Code === 'NoSuchKey' || (err?.$metadata?.httpStatusCode === 404 && err?.name !== 'NoSuchBucket');
}

function isServerError(e: unknown): boolean {
  const status = (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

function isNetworkError(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? (e as { cause?: { code?: string } })?.cause?.code;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].includes(code ?? '') || (e as Error)?.name === 'TimeoutError';
}

/** True for URIs that name S3. */
export function isS3Uri(uri: string): boolean {
  return uri.startsWith('s3://');
}

/** Parse "s3://bucket/prefix" into its parts. */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new DataError(uri, 'not an s3://bucket/prefix URI');
  return { bucket: m[1]!, prefix: m[2]!.replace(/\/+$/, '') };
}
