import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStorage } from '../../src/storage/local/local-storage.js';
import { DataError } from '../../src/errors.js';

function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), 'cai-local-'));
}

test('put creates directories and get returns the same bytes; head reports size', async (t) => {
  const root = tempRoot();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const s = new LocalStorage(root);
  assert.ok(s.location.startsWith('file:///'));
  await s.put('a/b/c.bin', new Uint8Array([1, 2, 3, 4, 5]));
  await s.put('a/text.json', '{"x":1}');
  assert.deepEqual(Array.from(await s.get('a/b/c.bin')), [1, 2, 3, 4, 5]);
  assert.equal(readFileSync(join(root, 'a', 'text.json'), 'utf8'), '{"x":1}');
  assert.deepEqual(await s.head('a/b/c.bin'), { key: 'a/b/c.bin', size: 5 });
  assert.equal(await s.head('a/missing'), undefined);
  assert.equal(await s.head('a/b'), undefined, 'a directory is not an object');
});

test('put replaces atomically and leaves no temp files behind', async (t) => {
  const root = tempRoot();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const s = new LocalStorage(root);
  await s.put('x.bin', new Uint8Array(1000).fill(1));
  await s.put('x.bin', new Uint8Array(10).fill(2));
  assert.deepEqual(Array.from(await s.get('x.bin')), new Array(10).fill(2));
  assert.deepEqual(readdirSync(root), ['x.bin']);
});

test('get refuses objects above maxBytes before reading, and names missing files', async (t) => {
  const root = tempRoot();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const s = new LocalStorage(root);
  await s.put('big.bin', new Uint8Array(100));
  await assert.rejects(s.get('big.bin', { maxBytes: 99 }), (e: unknown) => e instanceof DataError && /big\.bin: is 100 bytes, more than the 99-byte limit/.test(e.message));
  assert.equal((await s.get('big.bin', { maxBytes: 100 })).length, 100);
  await assert.rejects(s.get('nope.bin'), (e: unknown) => e instanceof DataError && /nope\.bin: not found/.test(e.message));
});

test('list is recursive, sorted, filtered by prefix, and skips temp files', async (t) => {
  const root = tempRoot();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const s = new LocalStorage(root);
  for (const k of ['p/b.txt', 'p/a.txt', 'p/sub/z.txt', 'pq/x.txt', 'q.txt', 'p/sub/deeper/y.txt']) await s.put(k, k);
  writeFileSync(join(root, 'p', 'half.123.abc.cai-tmp'), 'partial');
  assert.deepEqual((await s.list('p/')).map((o) => o.key), ['p/a.txt', 'p/b.txt', 'p/sub/deeper/y.txt', 'p/sub/z.txt']);
  assert.deepEqual((await s.list('p')).map((o) => o.key), ['p/a.txt', 'p/b.txt', 'p/sub/deeper/y.txt', 'p/sub/z.txt', 'pq/x.txt']);
  assert.deepEqual((await s.list('p/sub/d')).map((o) => o.key), ['p/sub/deeper/y.txt']);
  assert.equal((await s.list('')).length, 6);
  assert.deepEqual(await s.list('none/'), []);
  assert.deepEqual((await s.list('q.txt')), [{ key: 'q.txt', size: 5 }]);
});

test('delete removes an object and is quiet for a missing one', async (t) => {
  const root = tempRoot();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const s = new LocalStorage(root);
  await s.put('d/x', 'x');
  await s.delete('d/x');
  await s.delete('d/x');
  assert.equal(await s.head('d/x'), undefined);
});

test('keys that could leave the root are refused', async (t) => {
  const root = tempRoot();
  const outside = tempRoot();
  t.after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  const s = new LocalStorage(root);
  for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a\\b', '', 'a//b', './a']) {
    await assert.rejects(s.get(key), DataError, `get ${JSON.stringify(key)}`);
    await assert.rejects(s.put(key, 'x'), DataError, `put ${JSON.stringify(key)}`);
  }
  await assert.rejects(s.list('../'), DataError);
  mkdirSync(join(root, 'in'));
  symlinkSync(outside, join(root, 'in', 'link'));
  await assert.rejects(s.get('in/link/secret.txt'), (e: unknown) => e instanceof DataError && /resolves outside the storage root/.test(e.message));
  await assert.rejects(s.put('in/link/new.txt', 'x'), /resolves outside the storage root/);
  await assert.rejects(s.put('in/link/newdir/new.txt', 'x'), /resolves outside the storage root/);
  assert.deepEqual(readdirSync(outside), ['secret.txt']);
});
