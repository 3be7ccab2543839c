// The local storage backend: a path or file:// URL is a directory laid out like a bucket prefix.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StorageBackend } from '../types.js';
import { LocalStorage } from './local-storage.js';

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

function normalize(uri: string): string {
  return uri.startsWith('file://') ? fileURLToPath(uri) : resolve(uri);
}

export const localStorageBackend: StorageBackend = {
  kind: 'local',
  uriForms: ['a local path', 'file://'],
  claims: (uri) => uri.startsWith('file://') || !SCHEME.test(uri),
  normalize,
  locateManifest(uri, isLocalDirectory) {
    const abs = normalize(uri);
    if (isLocalDirectory(abs)) return { root: abs, manifestKey: 'manifest.json' };
    const slash = abs.lastIndexOf('/');
    return { root: abs.slice(0, slash) || '/', manifestKey: abs.slice(slash + 1) };
  },
  open: (uri) => new LocalStorage(normalize(uri)),
};
