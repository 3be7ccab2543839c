// One way to open storage from a URI: a local path or file:// URL is a directory, s3://bucket/prefix is a
// bucket prefix. Both hold the same key layout, so a run reads and writes either without knowing which.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { UsageError } from '../errors.js';
import { LocalStorage } from './local/local-storage.js';
import { S3Storage, parseS3Uri } from './s3/s3-storage.js';
import type { Storage } from './types.js';

export { LocalStorage } from './local/local-storage.js';
export { S3Storage, parseS3Uri } from './s3/s3-storage.js';
export type { Storage, ObjectInfo } from './types.js';

export interface OpenStorageOptions {
  s3?: {
    /** Default: env AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL; none means AWS itself. */
    endpoint?: string;
    /** Default: env AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1. */
    region?: string;
    /** Default: the SDK's chain (environment, profile, instance role). */
    credentials?: S3ClientConfig['credentials'];
  };
}

/** True for URIs that name S3. */
export function isS3Uri(uri: string): boolean {
  return uri.startsWith('s3://');
}

/** Normalise a storage URI: local paths become absolute file paths, s3:// URIs lose trailing slashes. */
export function normalizeStorageUri(uri: string): string {
  if (isS3Uri(uri)) return uri.replace(/\/+$/, '');
  if (uri.startsWith('file://')) return fileURLToPath(uri);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw new UsageError(`unsupported storage URI "${uri}" (use a local path, file:// or s3://bucket/prefix)`);
  return resolve(uri);
}

export function openStorage(uri: string, opts: OpenStorageOptions = {}): Storage {
  if (isS3Uri(uri)) {
    const { bucket, prefix } = parseS3Uri(uri);
    const o = opts.s3 ?? {};
    const endpoint = o.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    const region = o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    return new S3Storage({ bucket, prefix, region, ...(endpoint ? { endpoint } : {}), ...(o.credentials ? { credentials: o.credentials } : {}) });
  }
  return new LocalStorage(normalizeStorageUri(uri));
}

/**
 * Split a data location into storage root and manifest key: a local directory or manifest.json file, or an
 * s3:// URI ending in .json (the manifest) or naming a prefix (manifest.json inside it).
 */
export function splitManifestUri(uri: string, isLocalDirectory: (path: string) => boolean): { root: string; manifestKey: string } {
  if (isS3Uri(uri)) {
    const clean = uri.replace(/\/+$/, '');
    if (clean.endsWith('.json')) {
      const slash = clean.lastIndexOf('/');
      return { root: clean.slice(0, slash), manifestKey: clean.slice(slash + 1) };
    }
    return { root: clean, manifestKey: 'manifest.json' };
  }
  const abs = normalizeStorageUri(uri);
  if (isLocalDirectory(abs)) return { root: abs, manifestKey: 'manifest.json' };
  const slash = abs.lastIndexOf('/');
  return { root: abs.slice(0, slash) || '/', manifestKey: abs.slice(slash + 1) };
}
