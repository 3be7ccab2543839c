// Running model graphs and small matrix graphs with onnxruntime during model building and calibration.
import { availableParallelism } from 'node:os';
import { createSession as createRuntimeSession, float32Tensor, type Feeds, type RuntimeSession } from '../runtime/onnxruntime.js';
import { GraphBuilder } from './onnx/builder.js';
import type { Partition } from '../data/partition.js';
import { PIXELS_PER_SAMPLE } from '../data/partition.js';
import { ARCH } from './params.js';

/** A CPU session over graph bytes, on every core unless told otherwise. */
export function createSession(bytes: Uint8Array, threads = availableParallelism()): Promise<RuntimeSession> {
  return createRuntimeSession(bytes, { threads });
}

/**
 * Run a model over every sample of a partition in batches; returns each named output concatenated over
 * the batches, as [count, width] row-major.
 */
export async function runOverPartition(
  session: RuntimeSession,
  data: Partition,
  outputs: { name: string; width: number }[],
  opts: { batchSize?: number; onBatch?: (done: number) => void } = {},
): Promise<Float32Array[]> {
  const batch = opts.batchSize ?? 256;
  const result = outputs.map((o) => new Float32Array(data.count * o.width));
  const feeds = new Set(session.inputNames);
  for (let start = 0; start < data.count; start += batch) {
    const n = Math.min(batch, data.count - start);
    const input: Feeds = {};
    if (feeds.has('image')) input.image = float32Tensor(data.image.subarray(start * PIXELS_PER_SAMPLE, (start + n) * PIXELS_PER_SAMPLE), [n, ARCH.bands, ARCH.imageSize, ARCH.imageSize]);
    if (feeds.has('magnitude')) input.magnitude = float32Tensor(data.magnitude.subarray(start * ARCH.bands, (start + n) * ARCH.bands), [n, ARCH.bands]);
    const out = await session.run(input, outputs.map((o) => o.name));
    outputs.forEach((o, k) => {
      const t = out[o.name]!;
      result[k]!.set(t.data as Float32Array, start * o.width);
      t.dispose();
    });
    opts.onBatch?.(start + n);
  }
  return result;
}

/**
 * X^T X and X^T y for X [n,d] (float32, row-major) and y [n], computed by onnxruntime's MatMul in float32 and
 * returned in float64. Callers center and scale X first so float32 accumulation stays accurate.
 */
export async function gramMatrix(x: Float32Array, y: Float32Array, n: number, d: number, threads?: number): Promise<{ gram: Float64Array; rhs: Float64Array }> {
  const g = new GraphBuilder('gram');
  const xi = g.input('x', ['n', d]);
  const yi = g.input('y', ['n', 1]);
  const xt = g.node('Transpose', [xi], {}, 'xt');
  g.nodeN('MatMul', [xt, xi], {}, ['gram']);
  g.nodeN('MatMul', [xt, yi], {}, ['rhs']);
  const session = await createSession(
    g.serialize({ outputs: [{ name: 'gram', dims: [d, d] }, { name: 'rhs', dims: [d, 1] }], producerName: 'cai-gram', producerVersion: '1' }),
    threads,
  );
  try {
    const out = await session.run({ x: float32Tensor(x, [n, d]), y: float32Tensor(y, [n, 1]) });
    return { gram: Float64Array.from(out.gram!.data as Float32Array), rhs: Float64Array.from(out.rhs!.data as Float32Array) };
  } finally {
    await session.release();
  }
}
