// The ONNX decoder on our own files (byte-identical round trip), on foreign features it must carry through
// unchanged, and on hostile input: every malformed or oversized claim is refused before anything is
// allocated for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildAstroMAEOnnx } from '../../src/model/astromae.js';
import { loadExternalData } from '../../src/model/external-data.js';
import { ProtoDecodeError, ProtoWriter } from '../../src/model/onnx/protobuf.js';
import { decodeModel, encodeModel, TensorType, type ModelDef } from '../../src/model/onnx/schema.js';
import { ModelError } from '../../src/errors.js';
import { smallRedshiftModel } from './support/small-model.js';

test('decoding then encoding our encoder\'s output gives the same bytes (AstroMAE and a small model)', () => {
  for (const bytes of [buildAstroMAEOnnx({ seed: 3 }), smallRedshiftModel()]) {
    const again = encodeModel(decodeModel(bytes));
    assert.equal(again.byteLength, bytes.byteLength);
    assert.ok(Buffer.from(again).equals(Buffer.from(bytes)), 'byte-identical');
  }
});

/** Encoded fields a foreign exporter writes and this project does not interpret. */
function foreignExtras(m: ModelDef): void {
  const type = new ProtoWriter().message(1, new ProtoWriter().varint(1, TensorType.FLOAT));
  m.graph.extra = [new ProtoWriter().message(13, new ProtoWriter().string(1, 'features/relu_out').message(2, type)).finish(), new ProtoWriter().string(10, 'graph doc').finish()];
  m.graph.nodes[0]!.extra = [new ProtoWriter().string(6, 'exported from features.0').finish()];
  m.extra = [new ProtoWriter().string(4, 'org.example').finish(), new ProtoWriter().varint(5, 7).finish()];
}

test('fields we do not interpret (value_info, doc strings, model domain/version) survive decode + encode, and onnxruntime runs the result', async () => {
  const m = decodeModel(smallRedshiftModel());
  foreignExtras(m);
  const bytes = encodeModel(m);
  const back = decodeModel(bytes);
  assert.deepEqual(back.graph.extra?.map((e) => Buffer.from(e).toString('hex')), m.graph.extra!.map((e) => Buffer.from(e).toString('hex')));
  assert.deepEqual(back.graph.nodes[0]!.extra?.map((e) => Buffer.from(e).toString('hex')), m.graph.nodes[0]!.extra!.map((e) => Buffer.from(e).toString('hex')));
  assert.equal(back.extra?.length, 2);
  assert.ok(Buffer.from(encodeModel(back)).equals(Buffer.from(bytes)));
  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({ image: new ort.Tensor('float32', new Float32Array(5 * 32 * 32), [1, 5, 32, 32]), magnitude: new ort.Tensor('float32', new Float32Array(5).fill(20), [1, 5]) });
  assert.equal((out.redshift!.data as Float32Array).length, 1);
  await s.release();
});

test('typed tensor fields (float_data, int32_data for int8, int64_data, double_data) become little-endian raw bytes', () => {
  const tensor = (dataType: number, dims: number[], fill: (w: ProtoWriter) => void): ProtoWriter => {
    const w = new ProtoWriter().packedVarints(1, dims).varint(2, dataType).string(8, `t${dataType}`);
    fill(w);
    return w;
  };
  const graph = new ProtoWriter()
    .message(5, tensor(TensorType.FLOAT, [2], (w) => w.packedFloats(4, [1.5, -2])))
    .message(5, tensor(TensorType.INT8, [3], (w) => w.packedVarints(5, [-1, 2, 127])))
    .message(5, tensor(TensorType.INT64, [2], (w) => w.packedVarints(7, [-5, 2 ** 40])))
    .message(5, tensor(TensorType.DOUBLE, [1], (w) => w.bytes(10, new Uint8Array(new Float64Array([0.25]).buffer))));
  const m = decodeModel(new ProtoWriter().varint(1, 8).message(7, graph).finish());
  const [f, i8, i64, d] = m.graph.initializers;
  assert.deepEqual(Array.from(new Float32Array(f!.raw.slice().buffer)), [1.5, -2]);
  assert.deepEqual(Array.from(new Int8Array(i8!.raw.slice().buffer)), [-1, 2, 127]);
  assert.deepEqual(Array.from(new BigInt64Array(i64!.raw.slice().buffer)), [-5n, 2n ** 40n]);
  assert.deepEqual(Array.from(new Float64Array(d!.raw.slice().buffer)), [0.25]);
});

function memoryNow(): number {
  const u = process.memoryUsage();
  return u.heapUsed + u.arrayBuffers;
}

test('hostile protobuf is refused in bounded memory: huge lengths, huge shapes, long varints, truncation anywhere', () => {
  const varint = (v: bigint): number[] => {
    const out: number[] = [];
    do {
      out.push(Number(v & 0x7fn) | (v > 0x7fn ? 0x80 : 0));
      v >>= 7n;
    } while (v > 0n);
    return out;
  };
  const hostile: [string, Uint8Array, RegExp][] = [
    ['a 2^62-byte graph', Uint8Array.from([0x08, 0x08, 0x3a, ...varint(2n ** 62n)]), /runs past the end/],
    ['a 4 GiB tensor inside a small graph', new ProtoWriter().varint(1, 8).message(7, new ProtoWriter().message(5, new ProtoWriter().packedVarints(1, [2 ** 30]).varint(2, 1).string(8, 'w').bytes(9, new Uint8Array(4)))).finish(), /holds 4 bytes but its shape needs 4294967296/],
    ['a 2^80-element shape', new ProtoWriter().varint(1, 8).message(7, new ProtoWriter().message(5, new ProtoWriter().packedVarints(1, [2 ** 40, 2 ** 40]).varint(2, 1).string(8, 'w').bytes(9, new Uint8Array(4)))).finish(), /shape needs/],
    ['an 11-byte varint', Uint8Array.from([0x08, ...Array(10).fill(0xff), 0x01]), /varint longer than 10 bytes/],
    ['a dimension past 2^53', new ProtoWriter().varint(1, 8).message(7, new ProtoWriter().message(5, new ProtoWriter().packedVarints(1, [2n ** 60n]).varint(2, 1))).finish(), /out of range/],
    ['wire type 7', Uint8Array.from([0x0f]), /unsupported wire type/],
    ['no graph', new ProtoWriter().varint(1, 8).finish(), /no graph/],
  ];
  const before = memoryNow();
  for (let round = 0; round < 200; round++) {
    for (const [what, bytes, pattern] of hostile) {
      assert.throws(() => decodeModel(bytes), (e: unknown) => e instanceof ProtoDecodeError && pattern.test(e.message), what);
    }
  }
  // Every prefix of a real model either decodes (a cut at a field boundary is a valid, shorter message)
  // or is refused as malformed; nothing else is thrown.
  const model = smallRedshiftModel();
  for (let cut = 0; cut < model.byteLength; cut += 3) {
    try {
      decodeModel(model.subarray(0, cut));
    } catch (e) {
      assert.ok(e instanceof ProtoDecodeError, `cut at ${cut}: ${(e as Error).message}`);
    }
  }
  const grown = memoryNow() - before;
  assert.ok(grown < 64e6, `memory grew by ${(grown / 1e6).toFixed(1)} MB`);
});

test('external data is read only from inside the model\'s directory, with its size checked against the shape first', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cai-external-'));
  const outside = await mkdtemp(join(tmpdir(), 'cai-outside-'));
  try {
    const model = join(dir, 'm.onnx');
    const weights = Float32Array.from({ length: 512 * 16 }, (_, i) => Math.sin(i));
    await writeFile(join(dir, 'm.data'), new Uint8Array(weights.buffer));
    await writeFile(join(outside, 'secret.bin'), new Uint8Array(weights.buffer));
    await symlink(join(outside, 'secret.bin'), join(dir, 'link.data'));
    const withRef = (location: string, extra: [string, string][] = []): ModelDef => {
      const m = decodeModel(smallRedshiftModel());
      const t = m.graph.initializers.find((x) => x.name === 'fc.w')!;
      t.raw = new Uint8Array(0);
      t.external = { location, offset: 0, entries: [['location', location], ...extra] };
      return decodeModel(encodeModel(m)); // through the wire format, as a file would come
    };
    const ok = withRef('m.data', [['length', String(weights.byteLength)]]);
    assert.equal(ok.graph.initializers.find((x) => x.name === 'fc.w')!.external!.length, weights.byteLength);
    await loadExternalData(ok, model);
    const loaded = ok.graph.initializers.find((x) => x.name === 'fc.w')!;
    assert.equal(loaded.external, undefined);
    assert.ok(Buffer.from(loaded.raw).equals(Buffer.from(weights.buffer)));

    for (const [location, extra, pattern] of [
      ['../outside.bin', [], /keeps its data in "\.\.\/outside\.bin", which is not a relative path inside the model's directory/],
      ['/etc/passwd', [], /is not a relative path inside the model's directory/],
      ['link.data', [], /keeps its data in "link\.data", which resolves to .*, outside the model's directory/],
      ['missing.data', [], /keeps its data in "missing\.data", which does not exist/],
      ['m.data', [['length', '12']], /holds 12 bytes but its shape \[16,512\] needs 32768/],
      ['m.data', [['offset', '4096'], ['length', String(weights.byteLength)]], /runs past the end of "m.data"/],
    ] as [string, [string, string][], RegExp][]) {
      const m = withRef(location, extra);
      if (m.graph.initializers.find((x) => x.name === 'fc.w')!.external) {
        await assert.rejects(loadExternalData(m, model), (e: unknown) => e instanceof ModelError && e.message.startsWith(model) && pattern.test(e.message), location);
      } else assert.fail(`${location}: reference lost`);
    }
    assert.throws(() => withRef('m.data', [['offset', '-1']]), (e: unknown) => e instanceof ProtoDecodeError && /offset "-1" is not a byte count/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});
