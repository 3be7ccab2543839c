import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { formatFloat32, mergePredictionFiles, readPredictions, readPredictionsFile, writePredictionsCsv, PredictionsWriter, PREDICTIONS_HEADER } from '../../src/inference/predictions.js';
import { DataError } from '../../src/errors.js';
import { tempDir } from './support/datasets.js';

test('formatFloat32 gives the shortest text that reads back as the same float32', () => {
  assert.equal(formatFloat32(0.5), '0.5');
  assert.equal(formatFloat32(Math.fround(0.1)), '0.1');
  assert.equal(formatFloat32(0), '0');
  fc.assert(
    fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (v) => {
      const f = Math.fround(v);
      const s = formatFloat32(f);
      assert.ok(Object.is(Math.fround(Number(s)), f) || (f === 0 && Number(s) === 0), `${f} -> ${s}`);
      const digits = Number(s).toExponential().replace(/^-/, '').split('e')[0]!.replace('.', '');
      assert.ok(digits.length <= 9, `at most 9 significant digits: ${s}`);
    }),
    { numRuns: 2000 },
  );
});

test('predictions round-trip through CSV with exact 64-bit object ids', async () => {
  const dir = tempDir();
  const file = join(dir, 'predictions.csv');
  const objectId = BigInt64Array.from([1237648720693755918n, -(1n << 63n), (1n << 63n) - 1n, 0n]);
  const zTrue = Float32Array.from([0.1, 0.25, 0, 1.5]);
  const zPred = Float32Array.from([0.11, 0.2, -0.01, 1.25]);
  await writePredictionsCsv(file, { objectId, zTrue, zPred });
  const text = readFileSync(file, 'utf8');
  assert.equal(text.split('\n')[0], PREDICTIONS_HEADER);
  assert.equal(text.split('\n')[1], '1237648720693755918,0.1,0.11');
  assert.equal(text.split('\n')[2], '-9223372036854775808,0.25,0.2');
  const back = await readPredictionsFile(file);
  assert.equal(back.labelled, true);
  assert.deepEqual(Array.from(back.objectId), Array.from(objectId));
  assert.deepEqual(Array.from(back.zTrue!), Array.from(zTrue));
  assert.deepEqual(Array.from(back.zPred), Array.from(zPred));
  assert.deepEqual(readdirSync(dir), ['predictions.csv'], 'no temp file left');
});

test('unlabelled rows leave z_true empty', async () => {
  const dir = tempDir();
  const file = join(dir, 'u.csv');
  await writePredictionsCsv(file, { objectId: BigInt64Array.from([5n, 6n]), zPred: Float32Array.from([0.5, 0.75]) });
  assert.equal(readFileSync(file, 'utf8'), `${PREDICTIONS_HEADER}\n5,,0.5\n6,,0.75\n`);
  const back = await readPredictionsFile(file);
  assert.equal(back.labelled, false);
  assert.equal(back.zTrue, undefined);
  assert.deepEqual(Array.from(back.zPred), [0.5, 0.75]);
});

test('the streaming reader yields chunks and accepts CRLF line ends', async () => {
  const dir = tempDir();
  const file = join(dir, 'p.csv');
  const n = 10;
  await writePredictionsCsv(file, { objectId: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), zTrue: new Float32Array(n).fill(0.5), zPred: Float32Array.from({ length: n }, (_, i) => i / 4) });
  const sizes: number[] = [];
  for await (const c of readPredictions(file, { chunkRows: 4 })) sizes.push(c.zPred.length);
  assert.deepEqual(sizes, [4, 4, 2]);
  writeFileSync(file, readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));
  assert.equal((await readPredictionsFile(file)).zPred[9], 2.25);
});

async function rejectsWith(content: string, pattern: RegExp): Promise<void> {
  const dir = tempDir();
  const file = join(dir, 'bad.csv');
  writeFileSync(file, content);
  await assert.rejects(readPredictionsFile(file), (e: unknown) => {
    assert.ok(e instanceof DataError, String(e));
    assert.ok(e.message.startsWith(file + ': '), `names the file: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('bad predictions files are refused with file and line named', async () => {
  await rejectsWith('', /empty file/);
  await rejectsWith('id,z\n1,2\n', /line 1: expected header "object_id,z_true,z_pred"/);
  await rejectsWith(`${PREDICTIONS_HEADER}\n1,0.1,0.2\n2,0.1\n`, /line 3: expected 3 fields/);
  await rejectsWith(`${PREDICTIONS_HEADER}\n1,0.1,0.2\n1.5,0.1,0.2\n`, /line 3: object_id "1.5" is not an integer/);
  await rejectsWith(`${PREDICTIONS_HEADER}\n9223372036854775808,0.1,0.2\n`, /line 2: object_id 9223372036854775808 does not fit in 64 bits/);
  await rejectsWith(`${PREDICTIONS_HEADER}\n1,abc,0.2\n`, /line 2: z_true "abc" is not a number/);
  await rejectsWith(`${PREDICTIONS_HEADER}\n1,0.1,\n`, /line 2: z_pred is empty/);
  await rejectsWith(`${PREDICTIONS_HEADER}\n1,0.1,1e999\n`, /line 2: z_pred 1e999 is not finite/);
  await rejectsWith(`${PREDICTIONS_HEADER}\n1,0.1,NaN\n`, /line 2: z_pred "NaN" is not a number/);
  await rejectsWith(`${PREDICTIONS_HEADER}\n${'1'.repeat(5000)}`, /longer than 256 characters/);
  await rejectsWith(`${PREDICTIONS_HEADER}\n${'1,'.repeat(2_000_000)}`, /longer than 256 characters/);
  const dir = tempDir();
  await assert.rejects(readPredictionsFile(join(dir, 'absent.csv')), /absent\.csv: file not found/);
});

test('merging concatenates files in order; a bad input leaves no output', async () => {
  const dir = tempDir();
  const a = join(dir, 'a.csv');
  const b = join(dir, 'b.csv');
  await writePredictionsCsv(a, { objectId: BigInt64Array.from([1n, 2n]), zTrue: Float32Array.from([0.1, 0.2]), zPred: Float32Array.from([0.15, 0.25]) });
  await writePredictionsCsv(b, { objectId: BigInt64Array.from([3n]), zTrue: Float32Array.from([0.3]), zPred: Float32Array.from([0.35]) });
  const out = join(dir, 'all.csv');
  assert.equal(await mergePredictionFiles([a, b], out), 3);
  assert.equal(readFileSync(out, 'utf8'), `${PREDICTIONS_HEADER}\n1,0.1,0.15\n2,0.2,0.25\n3,0.3,0.35\n`);
  writeFileSync(b, 'nonsense\n');
  const out2 = join(dir, 'all2.csv');
  await assert.rejects(mergePredictionFiles([a, b], out2), /b\.csv: line 1/);
  assert.deepEqual(readdirSync(dir).sort(), ['a.csv', 'all.csv', 'b.csv'], 'neither output nor temp file left');
});

test('an aborted writer leaves nothing behind', async () => {
  const dir = tempDir();
  const w = await PredictionsWriter.create(join(dir, 'x.csv'));
  await w.append({ objectId: BigInt64Array.from([1n]), zPred: Float32Array.from([1]) });
  await w.abort();
  assert.deepEqual(readdirSync(dir), []);
});
