// Single-process inference over a data set, the way `cai infer` runs it (read, verify, decode, batches,
// model): the best of `repeats` after one warm-up batch, so that start-up is not in the figure.
import { N_BANDS } from '../../../data/manifest.js';
import { PIXELS_PER_SAMPLE } from '../../../data/partition.js';
import type { Dataset } from '../../../data/dataset.js';
import { InferenceEngine, inferPartitions } from '../../../inference/engine.js';

export interface InferenceFigures {
  samples: number;
  /** Best wall time, read to predictions. */
  wallS: number;
  /** Model time of that run. */
  inferenceS: number;
  samplesPerS: number;
}

export async function measureInference(o: { model: string; dataset: Dataset; batchSize: number; threads: number; repeats: number }): Promise<InferenceFigures> {
  const engine = await InferenceEngine.open(o.model, { batchSize: o.batchSize, threads: o.threads, device: 'cpu' });
  try {
    const first = await o.dataset.readPartition(o.dataset.manifest.partitions[0]);
    const w = Math.min(o.batchSize, first.count);
    await engine.predict({ count: w, image: first.image.subarray(0, w * PIXELS_PER_SAMPLE), magnitude: first.magnitude.subarray(0, w * N_BANDS), objectId: first.objectId.subarray(0, w) });
    let best: InferenceFigures | undefined;
    for (let r = 0; r < Math.max(1, o.repeats); r++) {
      const res = await inferPartitions({ dataset: o.dataset, engine, readAhead: 1, verify: 'sha256' });
      const wallS = res.wallMs / 1000;
      if (!best || wallS < best.wallS) best = { samples: res.samples, wallS, inferenceS: res.inferenceMs / 1000, samplesPerS: res.samples / wallS };
    }
    return best!;
  } finally {
    await engine.close();
  }
}
