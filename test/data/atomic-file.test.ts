// One atomic-write helper serves partitions, models, predictions, metrics and reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEMP_SUFFIX, isTempFile, openAtomic, tempPathFor, writeFileAtomic } from '../../src/util/atomic-file.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cai-atomic-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('writeFileAtomic replaces a file whole and leaves no temp file; mkdir creates the directory', async (t) => {
  const dir = scratch(t);
  const file = join(dir, 'a.txt');
  writeFileSync(file, 'old contents');
  await writeFileAtomic(file, 'new');
  assert.equal(readFileSync(file, 'utf8'), 'new');
  await writeFileAtomic(join(dir, 'sub', 'deeper', 'b.bin'), Uint8Array.of(1, 2, 3), { mkdir: true });
  assert.deepEqual([...readFileSync(join(dir, 'sub', 'deeper', 'b.bin'))], [1, 2, 3]);
  assert.deepEqual(readdirSync(dir).sort(), ['a.txt', 'sub']);
  // Without mkdir a missing directory is an error, and nothing is left behind.
  await assert.rejects(writeFileAtomic(join(dir, 'missing', 'c.txt'), 'x'), /ENOENT/);
  assert.deepEqual(readdirSync(dir).sort(), ['a.txt', 'sub']);
});

test('an open atomic file is invisible until commit; abort removes it; both are idempotent', async (t) => {
  const dir = scratch(t);
  const file = join(dir, 'out.csv');
  const kept = await openAtomic(file);
  await kept.handle.write('a,b\n');
  const temps = readdirSync(dir);
  assert.equal(temps.length, 1);
  assert.ok(isTempFile(temps[0]!) && temps[0]!.startsWith('.out.csv.'), temps[0]);
  await kept.commit();
  await kept.commit();
  assert.deepEqual(readdirSync(dir), ['out.csv']);
  assert.equal(readFileSync(file, 'utf8'), 'a,b\n');

  const dropped = await openAtomic(file);
  await dropped.handle.write('never seen');
  await dropped.abort();
  await dropped.abort();
  assert.deepEqual(readdirSync(dir), ['out.csv']);
  assert.equal(readFileSync(file, 'utf8'), 'a,b\n');
});

test('temp names are hidden, unique and never listed by local storage', async (t) => {
  const dir = scratch(t);
  const a = tempPathFor(join(dir, 'x.bin'));
  assert.notEqual(a, tempPathFor(join(dir, 'x.bin')));
  assert.ok(a.endsWith(TEMP_SUFFIX));
  writeFileSync(a, 'left over by a crash');
  const storage = new LocalStorage(dir);
  await storage.put('x.bin', 'done');
  assert.deepEqual(await storage.list(''), [{ key: 'x.bin', size: 4 }]);
});
