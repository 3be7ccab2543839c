// The storage registry: openStorage(uri) picks the backend by the URI, and callers check `kind`, not the class.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { normalizeStorageUri, openStorage, splitManifestUri } from '../../src/storage/index.js';
import { UsageError } from '../../src/errors.js';

test('openStorage picks the backend by the URI; kind names it; unknown schemes are usage errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cai-storage-registry-'));
  try {
    const local = openStorage(pathToFileURL(dir).href);
    assert.equal(local.kind, 'local');
    assert.equal(local.location, pathToFileURL(dir).href);
    await local.put('a/b.txt', 'hello');
    assert.equal(readFileSync(join(dir, 'a', 'b.txt'), 'utf8'), 'hello');
    const s3 = openStorage('s3://some-bucket/some/prefix/');
    assert.equal(s3.kind, 's3');
    assert.equal(s3.location, 's3://some-bucket/some/prefix');
    assert.equal(normalizeStorageUri('s3://b/p///'), 's3://b/p');
    assert.equal(normalizeStorageUri(pathToFileURL(dir).href), dir);
    assert.deepEqual(splitManifestUri(join(dir, 'm.json'), () => false), { root: dir, manifestKey: 'm.json' });
    assert.throws(() => openStorage('gs://bucket/x'), (e: unknown) => e instanceof UsageError && e.message === 'unsupported storage URI "gs://bucket/x" (use a local path, file:// or s3://bucket/prefix)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
