// What one rank sends the root in an FMI aggregation: its result object and its predictions, in one byte
// buffer. The arrays travel as raw little-endian values, so the root gets exactly the numbers the rank
// computed; decoding gives them the same form the predictions file reader would (-0 read back as 0, no
// labels when no row has one), which is what makes the root's accuracy figures equal Summarize's.
//
// Layout (little-endian, every section starting on an 8-byte boundary):
//   magic "CAIR" | version u32 | JSON bytes u32 | samples u32 | flags u32 (bit 0: labelled) | 4 zero bytes
//   JSON of the result object, zero-padded
//   object ids: samples x i64
//   z_pred: samples x f32, zero-padded
//   z_true: samples x f32 (labelled only)
//
// A rank whose work failed for good (a data or model error, which is not retried) sends a failure payload
// instead, so that the root need not wait for it:
//   magic "CAIF" | version u32 | JSON bytes u32 | 4 zero bytes
//   JSON of the failure (rank, error class, one-line message, the rank's partitions and samples)
import { z } from 'zod';
import { DataError } from '../../errors.js';
import type { Predictions } from '../../inference/predictions.js';
import { parseContract, rankResultSchema, type RankResult } from '../contracts.js';

const MAGIC = 0x52494143; // "CAIR"
const FAILURE_MAGIC = 0x46494143; // "CAIF"
const FAILURE_HEAD_BYTES = 16;
const VERSION = 1;
const HEAD_BYTES = 24;
const FLAG_LABELLED = 1;
/** A result object is a few KB; the limit keeps a hostile length from reaching the parser. */
export const MAX_RESULT_JSON_BYTES = 16 * 1024 * 1024;

const pad8 = (n: number): number => Math.ceil(n / 8) * 8;

export interface RankPayload {
  result: RankResult;
  predictions: Predictions;
}

/** Longer messages are cut to this; a failure message is one line naming a file and its problem. */
export const MAX_FAILURE_MESSAGE_CHARS = 64 * 1024;

/** What a failed rank tells the root: what Summarize would learn from its failed invocation. */
export const rankFailureSchema = z
  .object({
    kind: z.literal('cai-rank-failure'),
    runId: z.string().min(1).max(200),
    rank: z.number().int().nonnegative(),
    error: z.string().min(1).max(200),
    message: z.string().max(MAX_FAILURE_MESSAGE_CHARS),
    partitions: z.array(z.string().min(1).max(1024)),
    samples: z.number().int().nonnegative(),
  })
  .strict();
export type RankFailure = z.infer<typeof rankFailureSchema>;

/** One rank's contribution to the gather: its results, or why it has none. */
export type GatheredPayload = ({ kind: 'result' } & RankPayload) | { kind: 'failed'; failure: RankFailure };

/** Bytes a rank with `samples` predictions and a result object of `jsonBytes` sends. */
export function payloadBytes(samples: number, jsonBytes: number, labelled: boolean): number {
  return HEAD_BYTES + pad8(jsonBytes) + 8 * samples + pad8(4 * samples) + (labelled ? 4 * samples : 0);
}

export function encodeRankPayload(result: RankResult, p: Predictions): Uint8Array {
  const n = p.zPred.length;
  if (p.objectId.length !== n || (p.zTrue && p.zTrue.length !== n)) throw new RangeError('predictions arrays differ in length');
  const json = Buffer.from(JSON.stringify(result), 'utf8');
  const labelled = p.zTrue !== undefined;
  const out = new Uint8Array(payloadBytes(n, json.length, labelled));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, VERSION, true);
  dv.setUint32(8, json.length, true);
  dv.setUint32(12, n, true);
  dv.setUint32(16, labelled ? FLAG_LABELLED : 0, true);
  let at = HEAD_BYTES;
  out.set(json, at);
  at += pad8(json.length);
  out.set(new Uint8Array(p.objectId.buffer, p.objectId.byteOffset, p.objectId.byteLength), at);
  at += 8 * n;
  out.set(new Uint8Array(p.zPred.buffer, p.zPred.byteOffset, p.zPred.byteLength), at);
  at += pad8(4 * n);
  if (p.zTrue) out.set(new Uint8Array(p.zTrue.buffer, p.zTrue.byteOffset, p.zTrue.byteLength), at);
  return out;
}

export function encodeRankFailure(f: RankFailure): Uint8Array {
  const json = Buffer.from(JSON.stringify(rankFailureSchema.parse(f)), 'utf8');
  const out = new Uint8Array(FAILURE_HEAD_BYTES + json.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, FAILURE_MAGIC, true);
  dv.setUint32(4, VERSION, true);
  dv.setUint32(8, json.length, true);
  out.set(json, FAILURE_HEAD_BYTES);
  return out;
}

/** Either kind of payload, told apart by its magic; `where` names the sender in the one-line error. */
export function decodeGatheredPayload(bytes: Uint8Array, where: string): GatheredPayload {
  if (bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true) === FAILURE_MAGIC) return { kind: 'failed', failure: decodeRankFailure(bytes, where) };
  return { kind: 'result', ...decodeRankPayload(bytes, where) };
}

export function decodeRankFailure(bytes: Uint8Array, where: string): RankFailure {
  if (bytes.length < FAILURE_HEAD_BYTES) throw new DataError(where, `${bytes.length}-byte failure payload is shorter than its ${FAILURE_HEAD_BYTES}-byte header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== FAILURE_MAGIC) throw new DataError(where, 'is not a rank failure payload (bad magic)');
  const version = dv.getUint32(4, true);
  if (version !== VERSION) throw new DataError(where, `failure payload version ${version} is not supported (expected ${VERSION})`);
  const jsonBytes = dv.getUint32(8, true);
  if (dv.getUint32(12, true) !== 0) throw new DataError(where, 'failure payload has non-zero reserved header bytes');
  if (jsonBytes > MAX_RESULT_JSON_BYTES) throw new DataError(where, `failure object of ${jsonBytes} bytes exceeds the ${MAX_RESULT_JSON_BYTES}-byte limit`);
  if (FAILURE_HEAD_BYTES + jsonBytes !== bytes.length) throw new DataError(where, `failure payload of ${bytes.length} bytes does not match its header (${jsonBytes}-byte failure object: ${FAILURE_HEAD_BYTES + jsonBytes} bytes)`);
  return parseContract(rankFailureSchema, bytes.subarray(FAILURE_HEAD_BYTES), where);
}

/** Decode and check the framing; `where` names the sender in the one-line error. */
export function decodeRankPayload(bytes: Uint8Array, where: string): RankPayload {
  if (bytes.length < HEAD_BYTES) throw new DataError(where, `${bytes.length}-byte aggregation payload is shorter than its ${HEAD_BYTES}-byte header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw new DataError(where, 'is not a rank aggregation payload (bad magic)');
  const version = dv.getUint32(4, true);
  if (version !== VERSION) throw new DataError(where, `aggregation payload version ${version} is not supported (expected ${VERSION})`);
  const jsonBytes = dv.getUint32(8, true);
  const n = dv.getUint32(12, true);
  const flags = dv.getUint32(16, true);
  if (flags & ~FLAG_LABELLED) throw new DataError(where, `aggregation payload has unknown flags ${flags}`);
  if (jsonBytes > MAX_RESULT_JSON_BYTES) throw new DataError(where, `result object of ${jsonBytes} bytes exceeds the ${MAX_RESULT_JSON_BYTES}-byte limit`);
  const labelled = (flags & FLAG_LABELLED) !== 0;
  // Sizes are checked against the buffer before anything is allocated.
  const expected = payloadBytes(n, jsonBytes, labelled);
  if (expected !== bytes.length) throw new DataError(where, `aggregation payload of ${bytes.length} bytes does not match its header (${n} samples, ${jsonBytes}-byte result object: ${expected} bytes)`);
  let at = HEAD_BYTES;
  const result = parseContract(rankResultSchema, bytes.subarray(at, at + jsonBytes), where);
  at += pad8(jsonBytes);
  const objectId = new BigInt64Array(n);
  new Uint8Array(objectId.buffer).set(bytes.subarray(at, at + 8 * n));
  at += 8 * n;
  const zPred = new Float32Array(n);
  new Uint8Array(zPred.buffer).set(bytes.subarray(at, at + 4 * n));
  at += pad8(4 * n);
  let zTrue: Float32Array | undefined;
  if (labelled) {
    zTrue = new Float32Array(n);
    new Uint8Array(zTrue.buffer).set(bytes.subarray(at, at + 4 * n));
  }
  return { result, predictions: asReadBack({ objectId, zTrue, zPred }) };
}

/**
 * The predictions as the predictions file would give them back: zeros lose their sign (the file writes
 * "0"), and labels are dropped when no row has one. Values are otherwise exact (float32 in, float32 out).
 */
export function asReadBack(p: Predictions): Predictions {
  for (let i = 0; i < p.zPred.length; i++) p.zPred[i] = p.zPred[i]! + 0;
  let labelledRows = 0;
  if (p.zTrue) {
    for (let i = 0; i < p.zTrue.length; i++) {
      p.zTrue[i] = p.zTrue[i]! + 0;
      if (!Number.isNaN(p.zTrue[i]!)) labelledRows++;
    }
  }
  return { objectId: p.objectId, zTrue: labelledRows > 0 ? p.zTrue : undefined, zPred: p.zPred };
}
