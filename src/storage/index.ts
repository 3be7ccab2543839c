// The registry of storage backends and the one way to open storage from a URI: a local path or file:// URL
// is a directory, s3://bucket/prefix is a bucket prefix. Both hold the same key layout, so a run reads and
// writes either without knowing which. Adding a backend is one folder beside local/ and s3/ and one line
// in BACKENDS.
import { UsageError } from '../errors.js';
import { localStorageBackend } from './local/index.js';
import { s3StorageBackend, type S3OpenOptions } from './s3/index.js';
import type { Storage, StorageBackend } from './types.js';

export type { Storage, ObjectInfo, StorageBackend, TaggedObject } from './types.js';
export type { S3OpenOptions } from './s3/index.js';
// What backend-specific code needs of S3 itself (a bucket's name and prefix, an s3:// URI's parts).
export { LocalStorage } from './local/local-storage.js';
export { S3Storage, isS3Uri, parseS3Uri } from './s3/s3-storage.js';

/** Every backend; no two claim the same URI. */
const BACKENDS: readonly StorageBackend[] = [localStorageBackend, s3StorageBackend];

/** Options for the backend that opens the URI, by its kind. */
export interface OpenStorageOptions {
  s3?: S3OpenOptions;
}

function backendFor(uri: string): StorageBackend {
  const b = BACKENDS.find((x) => x.claims(uri));
  if (!b) {
    const forms = BACKENDS.flatMap((x) => x.uriForms);
    throw new UsageError(`unsupported storage URI "${uri}" (use ${forms.slice(0, -1).join(', ')} or ${forms.at(-1)})`);
  }
  return b;
}

/** Normalise a storage URI: local paths become absolute file paths, s3:// URIs lose trailing slashes. */
export function normalizeStorageUri(uri: string): string {
  return backendFor(uri).normalize(uri);
}

export function openStorage(uri: string, opts: OpenStorageOptions = {}): Storage {
  const b = backendFor(uri);
  return b.open(uri, (opts as Record<string, unknown>)[b.kind]);
}

/**
 * Split a data location into storage root and manifest key: a local directory or manifest.json file, or an
 * s3:// URI ending in .json (the manifest) or naming a prefix (manifest.json inside it).
 */
export function splitManifestUri(uri: string, isLocalDirectory: (path: string) => boolean): { root: string; manifestKey: string } {
  return backendFor(uri).locateManifest(uri, isLocalDirectory);
}
