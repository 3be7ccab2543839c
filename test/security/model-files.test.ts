// Model files as an attacker would make them: ONNX external data that leaves the model's directory,
// and FIFOs in place of model or weights files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { checkExternalData, externalDataRefs } from '../../src/model/external-data.js';
import { inspectModelFile, readModelBytes } from '../../src/model/inspect.js';
import { readWeightsFile } from '../../src/model/weights-file.js';
import { ProtoWriter } from '../../src/model/onnx/protobuf.js';
import { cai, modelError, tempDir } from './helpers.js';

function valueInfo(name: string): ProtoWriter {
  const shape = new ProtoWriter().message(1, new ProtoWriter().varint(1, 4));
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, new ProtoWriter().varint(1, 1).message(2, shape)));
}

/** y = x + W, with W [4] float32 kept in an external file; `where` puts it in a subgraph's attribute. */
function model(external: Record<string, string>, where: 'initializer' | 'subgraph' = 'initializer'): Uint8Array {
  const w = new ProtoWriter().varint(1, 4).varint(2, 1).string(8, 'W');
  for (const [k, v] of Object.entries(external)) w.message(13, new ProtoWriter().string(1, k).string(2, v));
  w.varint(14, 1);
  const add = new ProtoWriter().string(1, 'x').string(1, 'W').string(2, 'y').string(4, 'Add');
  const graph = new ProtoWriter().string(2, 'g');
  if (where === 'initializer') graph.message(1, add).message(5, w);
  else {
    // A Constant node inside an If branch: the reference sits two graphs down.
    const constant = new ProtoWriter().string(2, 'W').string(4, 'Constant').message(5, new ProtoWriter().string(1, 'value').varint(20, 4).message(5, w));
    const branch = new ProtoWriter().string(2, 'then').message(1, constant).message(12, valueInfo('W'));
    const ifNode = new ProtoWriter().string(1, 'c').string(2, 'W').string(4, 'If').message(5, new ProtoWriter().string(1, 'then_branch').varint(20, 5).message(6, branch));
    graph.message(1, ifNode).message(1, add);
  }
  graph.message(11, valueInfo('x')).message(12, valueInfo('y'));
  return new ProtoWriter().varint(1, 8).message(7, graph).message(8, new ProtoWriter().string(1, '').varint(2, 17)).finish();
}

test('external data that leaves the model directory, or is not a regular file holding the bytes, is refused (exit 4)', async (t) => {
  const root = tempDir(t);
  const dir = join(root, 'models');
  mkdirSync(dir);
  writeFileSync(join(root, 'secret.bin'), new Uint8Array(16));
  writeFileSync(join(dir, 'w.bin'), new Uint8Array(16));
  symlinkSync(join(root, 'secret.bin'), join(dir, 'link.bin'));
  spawnSync('mkfifo', [join(dir, 'fifo.bin')]);
  const f = join(dir, 'model.onnx');
  const cases: [Record<string, string>, RegExp, ('initializer' | 'subgraph')?][] = [
    [{ location: '../secret.bin' }, /tensor "W" keeps its data in "\.\.\/secret\.bin", which is not a relative path inside the model's directory/],
    [{ location: join(root, 'secret.bin') }, /which is not a relative path inside the model's directory/],
    [{ location: 'link.bin' }, /keeps its data in "link\.bin", which resolves to .*secret\.bin, outside the model's directory/],
    [{ location: 'fifo.bin' }, /keeps its data in "fifo\.bin", which is not a regular file/],
    [{ location: 'missing.bin' }, /which does not exist/],
    [{ location: 'w.bin', offset: '8', length: '16' }, /at bytes 8\.\.24, past the end of its 16 bytes/],
    [{ location: 'w.bin', offset: '-1' }, /invalid external data offset "-1"/],
    [{ location: 'w.bin', length: '99999999999999999999' }, /invalid external data length/],
    [{ offset: '0' }, /keeps its data externally but names no location/],
    [{ location: '../secret.bin' }, /\.\.\/secret\.bin", which is not a relative path/, 'subgraph'],
  ];
  for (const [ext, problem, where] of cases) {
    writeFileSync(f, model(ext, where));
    await assert.rejects(readModelBytes(f), modelError(f, problem), String(problem));
    await assert.rejects(inspectModelFile(f), modelError(f, problem));
  }
  // Inside the directory, within the file: accepted.
  writeFileSync(f, model({ location: 'w.bin', offset: '0', length: '16' }));
  assert.deepEqual(externalDataRefs(await readModelBytes(f), f), [{ tensor: 'W', location: 'w.bin', offset: 0, length: 16 }]);
  // Bytes without a directory cannot carry external data at all.
  await assert.rejects(checkExternalData(model({ location: 'w.bin' }), undefined), modelError('(model bytes)', /keeps its data in another file/));
  // The CLI names the file and exits 4.
  writeFileSync(f, model({ location: '../secret.bin' }));
  const r = await cai(['model', 'inspect', f]);
  assert.equal(r.code, ExitCode.model, r.stderr);
  assert.match(r.stderr, /^cai: .*model\.onnx: tensor "W" keeps its data in "\.\.\/secret\.bin", which is not a relative path inside the model's directory\n$/);
});

test('a FIFO in place of a model or weights file is refused at once', async (t) => {
  const dir = tempDir(t);
  const model = join(dir, 'model.onnx');
  const weights = join(dir, 'w.safetensors');
  for (const p of [model, weights]) assert.equal(spawnSync('mkfifo', [p]).status, 0);
  await assert.rejects(readModelBytes(model), modelError(model, /not a regular file/));
  await assert.rejects(readWeightsFile(weights), modelError(weights, /weights file is not a regular file/));
});
