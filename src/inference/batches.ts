// The hot loop: one partition's samples through the model in batches. Inputs are runtime tensors over
// subarrays of the partition's own arrays and the output is written by onnxruntime straight into the
// result array (a pre-allocated output), so no sample is copied in JavaScript. On a GPU every batch has
// the same shape: the last, short one is padded into a buffer of the full batch size, because the WebGPU
// provider compiles kernels per input shape (measured on llvmpipe: a new batch size costs seconds of
// shader compilation mid-run) and a warm-up batch at open can then compile everything once.
import { IMAGE_SIZE, N_BANDS } from '../data/manifest.js';
import { PIXELS_PER_SAMPLE } from '../data/partition.js';
import { ModelError } from '../errors.js';
import { float32Tensor, type Feeds } from '../runtime/onnxruntime.js';
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

/** Runs partitions through one session in batches of one size; holds the padding buffers between calls. */
export class BatchRunner {
  private readonly outRank: number;
  private padded: { image: Float32Array; magnitude: Float32Array; out: Float32Array } | undefined;

  constructor(
    readonly session: OpenedSession,
    readonly batchSize: number,
    /** Pad the last batch to `batchSize` (one input shape for the whole run). */
    readonly fixedShape: boolean,
  ) {
    this.outRank = outputRank(session);
  }

  async run(image: Float32Array, magnitude: Float32Array, count: number, onBatch?: (done: number) => void): Promise<BatchRun> {
    const zPred = new Float32Array(count);
    let inferenceMs = 0;
    let batches = 0;
    for (let start = 0; start < count; start += this.batchSize) {
      const end = Math.min(count, start + this.batchSize);
      const b = end - start;
      const img = image.subarray(start * PIXELS_PER_SAMPLE, end * PIXELS_PER_SAMPLE);
      const mag = magnitude.subarray(start * N_BANDS, end * N_BANDS);
      const t0 = performance.now();
      if (this.fixedShape && b < this.batchSize) {
        const pad = this.padding();
        pad.image.set(img);
        pad.image.fill(0, img.length);
        pad.magnitude.set(mag);
        pad.magnitude.fill(0, mag.length);
        await this.runBatch(pad.image, pad.magnitude, this.batchSize, pad.out);
        zPred.set(pad.out.subarray(0, b), start);
      } else {
        await this.runBatch(img, mag, b, zPred.subarray(start, end));
      }
      inferenceMs += performance.now() - t0;
      batches++;
      onBatch?.(end);
    }
    for (let i = 0; i < count; i++) {
      const v = zPred[i]!;
      // v - v is NaN exactly for NaN and +-Infinity.
      if (v - v !== 0) throw new ModelError(this.session.modelName, `model produced a non-finite redshift (${v}) for sample ${i}`);
    }
    return { zPred, batches, inferenceMs };
  }

  /** One model call over `b` samples; the predictions land in `out` (length b). */
  async runBatch(image: Float32Array, magnitude: Float32Array, b: number, out: Float32Array): Promise<void> {
    const { session, io, modelName } = this.session;
    const feeds: Feeds = {
      [io.image]: float32Tensor(image, [b, N_BANDS, IMAGE_SIZE, IMAGE_SIZE]),
      [io.magnitude]: float32Tensor(magnitude, [b, N_BANDS]),
    };
    try {
      if (this.outRank > 0) {
        await session.run(feeds, { [io.output]: float32Tensor(out, this.outRank === 2 ? [b, 1] : [b]) });
      } else {
        const data = (await session.run(feeds))[io.output]?.data;
        if (!(data instanceof Float32Array) || data.length !== b)
          throw new ModelError(modelName, `output "${io.output}" gave ${data instanceof Float32Array ? data.length : 'non-float32'} values for a batch of ${b}`);
        out.set(data);
      }
    } catch (err) {
      if (err instanceof ModelError) throw err;
      throw new ModelError(modelName, `inference failed (${shortReason(err)})`, { cause: err });
    }
  }

  /** Buffers of one full batch, allocated on first use. */
  padding(): { image: Float32Array; magnitude: Float32Array; out: Float32Array } {
    this.padded ??= {
      image: new Float32Array(this.batchSize * PIXELS_PER_SAMPLE),
      magnitude: new Float32Array(this.batchSize * N_BANDS),
      out: new Float32Array(this.batchSize),
    };
    return this.padded;
  }
}

/**
 * One batch of zeros at the run's batch size, its output discarded: the provider compiles its kernels
 * (shaders, on WebGPU) now, at open, instead of inside the first partition. Returns its milliseconds.
 */
export async function warmUp(runner: BatchRunner): Promise<number> {
  const pad = runner.padding();
  pad.image.fill(0);
  pad.magnitude.fill(0);
  const t0 = performance.now();
  await runner.runBatch(pad.image, pad.magnitude, runner.batchSize, pad.out);
  return performance.now() - t0;
}
