// The hot loop: one partition's samples through the model in batches. Inputs are runtime tensors over
// subarrays of the partition's own arrays and the output is written by onnxruntime straight into the
// result array (a pre-allocated output), so no sample is copied in JavaScript.
import { IMAGE_SIZE, N_BANDS } from '../data/manifest.js';
import { PIXELS_PER_SAMPLE } from '../data/partition.js';
import { ModelError } from '../errors.js';
import { float32Tensor } from '../runtime/onnxruntime.js';
import { shortReason, type OpenedSession } from './session.js';

export interface BatchRun {
  zPred: Float32Array;
  batches: number;
  /** Time inside session.run, summed over batches. */
  inferenceMs: number;
}

/** Declared rank of the model's output: [N,1] -> 2, [N] -> 1, not recorded -> 0. */
export function outputRank(s: OpenedSession): number {
  const meta = s.session.outputMetadata.find((m) => m.name === s.io.output);
  return meta && meta.isTensor ? meta.shape.length : 0;
}

export async function runBatches(
  s: OpenedSession,
  image: Float32Array,
  magnitude: Float32Array,
  count: number,
  batchSize: number,
  onBatch?: (done: number) => void,
): Promise<BatchRun> {
  const { session, io } = s;
  const outRank = outputRank(s);
  const zPred = new Float32Array(count);
  let inferenceMs = 0;
  let batches = 0;
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    const b = end - start;
    const feeds = {
      [io.image]: float32Tensor(image.subarray(start * PIXELS_PER_SAMPLE, end * PIXELS_PER_SAMPLE), [b, N_BANDS, IMAGE_SIZE, IMAGE_SIZE]),
      [io.magnitude]: float32Tensor(magnitude.subarray(start * N_BANDS, end * N_BANDS), [b, N_BANDS]),
    };
    const t0 = performance.now();
    try {
      if (outRank > 0) {
        const out = float32Tensor(zPred.subarray(start, end), outRank === 2 ? [b, 1] : [b]);
        await session.run(feeds, { [io.output]: out });
      } else {
        const data = (await session.run(feeds))[io.output]?.data;
        if (!(data instanceof Float32Array) || data.length !== b)
          throw new ModelError(s.modelName, `output "${io.output}" gave ${data instanceof Float32Array ? data.length : 'non-float32'} values for a batch of ${b}`);
        zPred.set(data, start);
      }
    } catch (err) {
      if (err instanceof ModelError) throw err;
      throw new ModelError(s.modelName, `inference failed (${shortReason(err)})`, { cause: err });
    }
    inferenceMs += performance.now() - t0;
    batches++;
    onBatch?.(end);
  }
  for (let i = 0; i < count; i++) {
    const v = zPred[i]!;
    // v - v is NaN exactly for NaN and +-Infinity.
    if (v - v !== 0) throw new ModelError(s.modelName, `model produced a non-finite redshift (${v}) for sample ${i}`);
  }
  return { zPred, batches, inferenceMs };
}
