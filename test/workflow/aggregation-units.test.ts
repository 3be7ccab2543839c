// The pure parts of FMI aggregation: the rank payload codec, the channel choice and the wait deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { asReadBack, decodeGatheredPayload, decodeRankPayload, encodeRankFailure, encodeRankPayload, payloadBytes } from '../../src/workflow/aggregation/rank-payload.js';
import { chooseAggregationChannel, gatherBytesPerRank } from '../../src/workflow/aggregation/choose-channel.js';
import { aggregationDeadline } from '../../src/workflow/aggregation/aggregate-rank.js';
import { formatPredictionsCsv, parsePredictionsCsv } from '../../src/inference/predictions.js';
import { CONTRACT_VERSION, type RankResult } from '../../src/workflow/contracts.js';
import { DataError, UsageError } from '../../src/errors.js';

function result(samples: number): RankResult {
  return {
    schemaVersion: CONTRACT_VERSION,
    kind: 'cai-rank-result',
    runId: 'unit',
    rank: 3,
    status: 'succeeded',
    partitions: [{ path: 'partitions/part-00000.safetensors', samples, downloadMs: 1, waitMs: 0, inferenceMs: 2 }],
    samples,
    predictions: { key: 'results/unit/rank-00003.predictions.csv', rows: samples, bytes: 10 },
    performance: { device: 'cpu', batchSize: 8, numBatches: 1, samples, inputBytes: 1, totalTimeS: 1, timePerBatchS: null, throughputBps: null, samplesPerS: null, wallTimeS: 1, endToEndSamplesPerS: null, ioTimeS: null, peakMemoryMB: 1 },
    cai: { sample_persec: null },
    timings: { startedAt: 'a', finishedAt: 'b', coldStart: true, coldStartMs: 1, initMs: 1, modelLoadMs: 0, downloadMs: 0, waitMs: 0, inferenceMs: 0, uploadMs: 0, totalMs: 0 },
    memory: { peakRssMB: 1, limitMB: 128 },
    instance: { id: 'i', invocation: 1 },
  };
}

const f32 = fc.float({ noDefaultInfinity: true });

test('a rank payload decodes to exactly what the predictions file would give back', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.option(f32, { nil: undefined }), f32.filter((x) => !Number.isNaN(x))), { maxLength: 50 }), fc.boolean(), (rows, labelled) => {
      const n = rows.length;
      const p = {
        objectId: BigInt64Array.from(rows.map((r) => r[0])),
        zTrue: labelled ? Float32Array.from(rows.map((r) => r[1] ?? NaN)) : undefined,
        zPred: Float32Array.from(rows.map((r) => r[2])),
      };
      const bytes = encodeRankPayload(result(n), p);
      assert.equal(bytes.length, payloadBytes(n, Buffer.byteLength(JSON.stringify(result(n))), labelled));
      const got = decodeRankPayload(bytes, 'rank 3');
      assert.deepEqual(got.result, result(n));
      const viaFile = parsePredictionsCsv(Buffer.from(formatPredictionsCsv(p)), 'file');
      assert.deepEqual(Array.from(got.predictions.objectId), Array.from(viaFile.objectId));
      // Object.is-equal element by element: -0 and NaN included.
      assert.deepEqual(Array.from(got.predictions.zPred), Array.from(viaFile.zPred));
      assert.deepEqual(got.predictions.zTrue && Array.from(got.predictions.zTrue), viaFile.zTrue && Array.from(viaFile.zTrue));
    }),
    { numRuns: 200 },
  );
  assert.equal(asReadBack({ objectId: new BigInt64Array(1), zPred: Float32Array.of(-0), zTrue: Float32Array.of(NaN) }).zTrue, undefined, 'no labelled row: no labels');
});

test('a malformed payload is a one-line DataError naming the sender, checked before allocating', () => {
  const good = encodeRankPayload(result(4), { objectId: BigInt64Array.of(1n, 2n, 3n, 4n), zPred: new Float32Array(4), zTrue: new Float32Array(4) });
  const bad = (mutate: (b: Uint8Array, dv: DataView) => Uint8Array | void): Uint8Array => {
    const b = good.slice();
    return mutate(b, new DataView(b.buffer)) ?? b;
  };
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, 10), /^rank 3's payload: 10-byte aggregation payload is shorter than its 24-byte header$/],
    [bad((_, dv) => dv.setUint32(0, 0x12345678, true)), /bad magic/],
    [bad((_, dv) => dv.setUint32(4, 9, true)), /version 9 is not supported/],
    [bad((_, dv) => dv.setUint32(12, 0xffffffff, true)), /does not match its header \(4294967295 samples/],
    [bad((_, dv) => dv.setUint32(8, 0xffffffff, true)), /exceeds the 16777216-byte limit/],
    [bad((_, dv) => dv.setUint32(16, 6, true)), /unknown flags 6/],
    [good.subarray(0, good.length - 4), /does not match its header/],
    [bad((b) => void b.fill(0x20, 24, 40)), /^rank 3's payload: (not valid JSON|invalid at)/],
  ];
  for (const [bytes, re] of cases) assert.throws(() => decodeRankPayload(bytes, "rank 3's payload"), (e: unknown) => e instanceof DataError && re.test(e.message) && !e.message.includes('\n'), String(re));
});

test('the channel policy answers auto for a gather of the expected bytes; unreachable channels are refused', () => {
  const q = { hint: 'fast' as const, worldSize: 8, samples: 80_000, partitions: 16, labelled: true, ranksPerCore: 1 };
  const bytes = gatherBytesPerRank(80_000, 16, 8, true);
  assert.equal(bytes, payloadBytes(10_000, 2500 + 250 * 2, true));
  const fast = chooseAggregationChannel({ ...q, requested: 'auto', available: { redis: true, s3: true } });
  assert.equal(fast.channel, 'tcp');
  assert.equal(fast.explanation.op, 'gather');
  assert.equal(fast.explanation.bytes, bytes);
  assert.equal(fast.explanation.worldSize, 8);
  assert.match(fast.reason, new RegExp(`^auto: gather ${bytes} B x 8 ranks, hint fast -> tcp \\(tcp binomial`));
  // Only S3 besides TCP, asked for cheapness: still TCP (no infrastructure, no requests); the figures say why.
  const cheap = chooseAggregationChannel({ ...q, hint: 'cheap', requested: 'auto', available: { redis: false, s3: true } });
  assert.equal(cheap.channel, 'tcp');
  assert.ok(cheap.explanation.predictions.find((p) => p.channel === 'redis')!.enabled === false);
  // An explicit request is honoured and the policy's view recorded beside it.
  const s3 = chooseAggregationChannel({ ...q, requested: 's3', available: { redis: false, s3: true } });
  assert.equal(s3.channel, 's3');
  assert.match(s3.reason, /^requested s3; the policy's answer for the same question: gather .* -> tcp/);
  assert.throws(() => chooseAggregationChannel({ ...q, requested: 'redis', available: { redis: false, s3: false } }), (e: unknown) => e instanceof UsageError && /needs a Redis server/.test(e.message));
  assert.throws(() => chooseAggregationChannel({ ...q, requested: 's3', available: { redis: false, s3: false } }), (e: unknown) => e instanceof UsageError && /--out s3:\/\/bucket\/prefix/.test(e.message));
});

test('a rank waits at most the fmi timeout, and never into the time its invocation has left', () => {
  assert.equal(aggregationDeadline(1000, 60, 900_000), 1000 + 60_000);
  // 20 s left: a quarter is kept for writing the summary.
  assert.equal(aggregationDeadline(0, 60, 20_000), 15_000);
  // Very little left: at least a second is kept, and the wait never goes negative.
  assert.equal(aggregationDeadline(0, 60, 1500), 500);
  assert.equal(aggregationDeadline(0, 60, 100), 0);
  // A long run: at most a minute is kept.
  assert.equal(aggregationDeadline(0, 86_400, 3_600_000), 3_540_000);
});

test('a failure payload round-trips; malformed ones are refused with one-line errors', () => {
  const f = { kind: 'cai-rank-failure' as const, runId: 'r1', rank: 2, error: 'DataError', message: '/d/part-00002.safetensors: sha256 mismatch', partitions: ['partitions/part-00002.safetensors'], samples: 40 };
  const bytes = encodeRankFailure(f);
  assert.deepEqual(decodeGatheredPayload(bytes, 'rank 2'), { kind: 'failed', failure: f });
  const head = (i: number, v: number): Uint8Array => {
    const b = bytes.slice();
    new DataView(b.buffer).setUint32(i, v, true);
    return b;
  };
  const json = (o: unknown): Uint8Array => {
    const j = Buffer.from(JSON.stringify(o));
    const b = new Uint8Array(16 + j.length);
    b.set(bytes.subarray(0, 16));
    new DataView(b.buffer).setUint32(8, j.length, true);
    b.set(j, 16);
    return b;
  };
  const cases: [Uint8Array, RegExp][] = [
    [bytes.subarray(0, 10), /shorter than its 16-byte header/],
    [head(4, 2), /failure payload version 2 is not supported/],
    [head(8, 1 << 30), /exceeds the \d+-byte limit/],
    [head(8, 5), /does not match its header/],
    [head(12, 1), /non-zero reserved/],
    [json({ ...f, samples: -1 }), /invalid at samples/],
    [json({ ...f, extra: 1 }), /invalid at \(root\)/],
  ];
  for (const [b, re] of cases) assert.throws(() => decodeGatheredPayload(b, "rank 2's payload"), (e: unknown) => e instanceof DataError && re.test(e.message) && !e.message.includes('\n') && e.message.startsWith("rank 2's payload: "), String(re));
});
