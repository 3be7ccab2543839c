// Property-based hostile input: valid files of every format are mutated (bit flips, truncation, splices,
// length-like fields set to extremes) and every reader must end, within a generous time, either with a
// result or with the project's own DataError/ModelError, and without allocating beyond a bound. Seeds are
// fixed, so a run is deterministic; a failure prints the seed and the shrunk mutation to replay.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import h5wasm from 'h5wasm/node';
import { DataError, ModelError } from '../../src/errors.js';
import { openImportSource } from '../../src/data/importers/index.js';
import { parseTorchPickle } from '../../src/data/importers/torch.js';
import { parseManifest, tensorSpecs } from '../../src/data/manifest.js';
import { checkValues, decodePartition, encodePartition } from '../../src/data/partition.js';
import { decodeWeights } from '../../src/model/weights-file.js';
import { inspectModelBytes } from '../../src/model/inspect.js';
import { externalDataRefs } from '../../src/model/external-data.js';
import { GraphBuilder } from '../../src/model/onnx/builder.js';
import { encodeSafetensors } from '../../src/data/safetensors.js';
import { npyFloat32 } from '../data/importers/helpers/npy-writer.js';
import { imageAndMagnitudeSpec, torchPickle, torchZip } from '../data/importers/helpers/torch-writer.js';
import { writeZip } from '../data/importers/helpers/zip-writer.js';
import { samples, tempDir } from './helpers.js';

/** One parse of a mutated file may take this long at most (each takes milliseconds). */
const PARSE_BOUND_MS = 10_000;
/** Memory held in array buffers right after a parse, and the process's peak resident size. */
const MAX_ARRAY_BUFFERS = 512 * 1024 * 1024;
const MAX_PEAK_RSS = 2 * 1024 * 1024 * 1024;

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'splice'; at: number; from: number; length: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'extreme'; at: number; width: 1 | 2 | 4 | 8; value: bigint };

/** Positions favour the first kilobyte, where headers, directories and length fields live. */
const position = fc.oneof(fc.nat({ max: 1023 }), fc.nat({ max: 1 << 24 }));
const EXTREMES = [0n, 1n, 0x7fn, 0xffn, 0x7fffn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n];
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('splice' as const), at: position, from: position, length: fc.nat({ max: 256 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('extreme' as const), at: position, width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const), value: fc.constantFrom(...EXTREMES) }),
);
const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

function mutate(base: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let b = Buffer.from(base);
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case 'flip':
        b[at]! ^= 1 << m.bit;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'splice': {
        const from = m.from % b.length;
        b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + m.length), b.subarray(at)]);
        break;
      }
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'extreme': {
        const v = m.value & ((1n << BigInt(8 * m.width)) - 1n);
        for (let i = 0; i < m.width && at + i < b.length; i++) b[at + i] = Number((v >> BigInt(8 * i)) & 0xffn);
        break;
      }
    }
  }
  return new Uint8Array(b);
}

/** Run `parse` on mutations of `base`: only project errors, each parse bounded in time and memory. */
async function fuzz(name: string, base: Uint8Array, parse: (bytes: Uint8Array) => unknown, opts: { seed: number; numRuns: number }): Promise<void> {
  let accepted = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(mutations, async (ms) => {
      const bytes = mutate(base, ms);
      const started = performance.now();
      try {
        await parse(bytes);
        accepted++;
      } catch (e) {
        if (!(e instanceof DataError || e instanceof ModelError)) throw new Error(`${name}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        assert.ok(!e.message.includes('\n'), `${name}: one-line message: ${e.message}`);
        refused++;
      }
      const took = performance.now() - started;
      assert.ok(took < PARSE_BOUND_MS, `${name}: one parse took ${took.toFixed(0)} ms`);
      assert.ok(process.memoryUsage().arrayBuffers < MAX_ARRAY_BUFFERS, `${name}: ${(process.memoryUsage().arrayBuffers / 1e6).toFixed(0)} MB held in buffers`);
    }),
    { seed: opts.seed, numRuns: opts.numRuns, endOnFailure: true },
  );
  // Refusals are real; `accepted` counts mutations that are still valid files (in pixel bytes, say).
  assert.ok(refused > 0, `${name}: no mutation was refused (${accepted} accepted)`);
}

before(async () => {
  await h5wasm.ready;
});

test('in-memory formats: safetensors partitions and weights, manifests, pickles, ONNX models', async () => {
  const part = encodePartition(samples(2, 1n));
  await fuzz('partition', part, (b) => checkValues(decodePartition(b, 'p.safetensors'), 'p.safetensors'), { seed: 1, numRuns: 400 });

  const weights = encodeSafetensors([{ name: 'head.2.bias', dtype: 'F32', shape: [1], data: new Float32Array([0.5]) }], { format: 'pt' });
  await fuzz('weights', weights, (b) => decodeWeights(b, 'w.safetensors'), { seed: 2, numRuns: 300 });

  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 1,
      bands: ['u', 'g', 'r', 'i', 'z'],
      labelled: true,
      format: 'safetensors',
      tensors: tensorSpecs(true),
      samples: 2,
      bytes: part.length,
      partitions: [{ path: 'partitions/part-00000.safetensors', samples: 2, bytes: part.length, sha256: '0'.repeat(64), firstObjectId: '1', lastObjectId: '2' }],
      source: { generator: 'fuzz', nested: { a: [1, 2, 3] } },
    }),
  );
  await fuzz('manifest', manifest, (b) => parseManifest(Buffer.from(b).toString('utf8'), 'manifest.json'), { seed: 3, numRuns: 300 });

  const spec = imageAndMagnitudeSpec(2);
  await fuzz('pickle', torchPickle(spec), (b) => parseTorchPickle(b, 'data.pkl'), { seed: 4, numRuns: 500 });

  const g = new GraphBuilder('fuzz');
  const x = g.input('x', ['N', 4]);
  const w = g.constFloat('w', [1, 2, 3, 4], [4]);
  g.nodeN('Add', [x, w], {}, ['y']);
  const onnx = g.serialize({ outputs: [{ name: 'y', dims: ['N', 4] }], producerName: 'fuzz', producerVersion: '1' });
  await fuzz('onnx', onnx, (b) => {
    externalDataRefs(b, 'm.onnx');
    return inspectModelBytes(b, 'm.onnx');
  }, { seed: 5, numRuns: 300 });
});

test('file formats: .npy, .npz, PyTorch .pt zip, HDF5', async (t) => {
  const dir = tempDir(t, 'cai-fuzz-');
  let k = 0;
  /** Write the bytes, open them as an import source and read a few rows of every array. */
  const viaFile = (ext: string) => async (bytes: Uint8Array): Promise<void> => {
    const f = join(dir, `case-${k++ % 4}${ext}`);
    writeFileSync(f, bytes);
    const src = await openImportSource(f);
    try {
      for (const a of src.arrays) if (a.shape.length > 0) await src.read(a.name, 0, Math.min(2, a.shape[0]!));
    } finally {
      await src.close();
    }
  };
  const n = 2;
  const images = npyFloat32([n, 5, 32, 32], new Float32Array(n * 5120).fill(1));
  const mags = npyFloat32([n, 5], new Float32Array(n * 5).fill(18));
  await fuzz('npy', images, viaFile('.npy'), { seed: 6, numRuns: 200 });
  const npz = writeZip([
    { name: 'images.npy', data: images, method: 8 },
    { name: 'mags.npy', data: mags },
  ]);
  await fuzz('npz', npz, viaFile('.npz'), { seed: 7, numRuns: 250 });
  const pt = torchZip(imageAndMagnitudeSpec(n));
  await fuzz('pt', pt, viaFile('.pt'), { seed: 8, numRuns: 250 });
  const h5 = join(dir, 'base.h5');
  const f = new h5wasm.File(h5, 'w');
  f.create_group('g').create_dataset({ name: 'images', data: new Float32Array(n * 5120).fill(1), shape: [n, 5, 32, 32], chunks: [1, 5, 32, 32], compression: 'gzip' });
  f.create_dataset({ name: 'mags', data: new Float32Array(n * 5).fill(18), shape: [n, 5] });
  f.close();
  await fuzz('hdf5', new Uint8Array(readFileSync(h5)), viaFile('.h5'), { seed: 9, numRuns: 120 });
  assert.ok(process.resourceUsage().maxRSS * 1024 < MAX_PEAK_RSS, `peak resident memory ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
});
