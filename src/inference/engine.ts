// The inference engine: warm onnxruntime sessions in their own threads or processes ("lanes"), batches fed
// as zero-copy views of a partition, and a pipeline that fetches, verifies and decodes the next partitions
// on the caller's thread while the model runs on the current ones. On a GPU the engine keeps several
// partitions in flight: sessionsPerGpu lanes on each of `gpus` adapters, so one lane's upload and
// download overlap another's compute, and a machine with several GPUs uses them all.
import { availableParallelism } from 'node:os';
import type { Manifest, PartitionEntry } from '../data/manifest.js';
import { N_BANDS } from '../data/manifest.js';
import { PIXELS_PER_SAMPLE, type Partition } from '../data/partition.js';
import type { VerifyMode } from '../data/verify-mode.js';
import { CaiError, DataError, ModelError, UsageError } from '../errors.js';
import { adapterSelectionEnv, type AdapterInfo } from '../runtime/adapters.js';
import { MAX_LANES, openFirstAvailable, planDevices, type Device, type GpuCount, type DeviceCandidate, type DeviceChoice } from '../runtime/devices.js';
import { vulkanProcessEnv } from '../runtime/vulkan-env.js';
// The model file is checked here and opened in the lanes: this thread never loads the runtime itself.
import { checkModelFile } from '../model/model-file.js';
import type { ModelIo, SessionOpenTimings } from './session.js';
import { Lane } from './session-host.js';
import type { WorkerInit } from './worker-protocol.js';

export { MAX_LANES, type GpuCount } from '../runtime/devices.js';


export interface EngineOptions {
  /** Samples per model call; default: the device's (256 on CPU, 1,024 on a GPU, 32 on a software adapter). */
  batchSize?: number;
  /** Intra-op threads, shared by the lanes; default: every core. */
  threads?: number;
  device?: DeviceChoice;
  /** GPUs to use (ignored on CPU); default 1. With more than there are adapters, adapters take several. */
  gpus?: GpuCount;
  /** Pin to one GPU: its index among the device's adapters (a rank or worker slot passes its own). */
  adapter?: number;
  /** Sessions in flight per GPU; default: the device's (2 on a GPU, 1 on CPU or a software adapter). */
  sessionsPerGpu?: number;
  inputNames?: { image: string; magnitude: string };
  outputName?: string;
  /** Called once with the sentence saying what `auto` chose and why; default: a line on stderr. */
  onFallback?: (message: string) => void;
}

export const MAX_BATCH_SIZE = 1 << 16;
/** A software adapter (llvmpipe) runs the model at a few samples/s: small batches keep a call short. */
const SOFTWARE_ADAPTER_BATCH = 32;

export interface Prediction {
  zPred: Float32Array;
  batches: number;
  /** Time inside the model (sum over batches). */
  inferenceMs: number;
}

export interface PredictOptions {
  /**
   * Hand the partition's memory to the model thread instead of copying it (zero-copy). The partition's
   * arrays are unusable afterwards (their buffers are detached).
   */
  transfer?: boolean;
}

/** One GPU in use: its slot and, where the device lists adapters, which one. */
export interface GpuSlot {
  slot: number;
  adapter?: AdapterInfo;
}

/** How the engine opened: for metrics.json and messages. */
export interface EngineLayout {
  device: Device;
  /** The adapters in use, one per GPU slot (empty on CPU and on CUDA, which lists none). */
  adapters: AdapterInfo[];
  gpus: number;
  sessionsPerGpu: number;
  lanes: number;
  /** The sentence saying what `auto` chose and why; absent for an explicit device. */
  choice?: string;
  /** Session creation of the first lane, and its warm-up batch (shader compilation on a GPU). */
  firstOpenMs: number;
  firstWarmUpMs: number;
  /** The first lane's open in parts: its host's start, reading the model, session creation, and the cache's part. */
  firstOpen: SessionOpenTimings & { hostMs: number };
  /** The same for the lanes opened after it: the driver's shader cache is warm by then. */
  laterOpenMs: number[];
  laterWarmUpMs: number[];
}

function checkCount(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 1 || v > MAX_LANES) throw new UsageError(`${name} must be an integer from 1 to ${MAX_LANES}, got ${v}`);
}

/** The GPU slots of a candidate: `gpus` of them over its adapters, or the one `adapter` names. */
function gpuSlots(c: DeviceCandidate, gpus: GpuCount, adapter: number | undefined): GpuSlot[] {
  if (!c.device.accelerator) return [{ slot: 0 }];
  const listed = c.adapters;
  if (adapter !== undefined) return [{ slot: adapter, ...(listed.length ? { adapter: listed[adapter % listed.length]! } : {}) }];
  const n = gpus === 'all' ? Math.max(1, listed.length) : gpus;
  return Array.from({ length: n }, (_, slot) => ({ slot, ...(listed.length ? { adapter: listed[slot % listed.length]! } : {}) }));
}

export class InferenceEngine {
  readonly device: Device;
  readonly batchSize: number;
  readonly modelName: string;
  readonly io: ModelIo;
  readonly layout: EngineLayout;
  private readonly lanes: Lane[];
  private closed = false;

  private constructor(lanes: Lane[], layout: EngineLayout, batchSize: number) {
    this.lanes = lanes;
    this.layout = layout;
    this.device = layout.device;
    this.io = lanes[0]!.ready.io;
    this.modelName = lanes[0]!.ready.modelName;
    this.batchSize = batchSize;
  }

  static async open(model: string | Uint8Array, opts: EngineOptions): Promise<InferenceEngine> {
    const bs = opts.batchSize;
    if (bs !== undefined && (!Number.isSafeInteger(bs) || bs < 1 || bs > MAX_BATCH_SIZE)) throw new UsageError(`batch size must be an integer from 1 to ${MAX_BATCH_SIZE}, got ${bs}`);
    const threads = opts.threads ?? availableParallelism();
    if (!Number.isSafeInteger(threads) || threads < 1) throw new UsageError(`threads must be a positive integer, got ${threads}`);
    const gpus = opts.gpus ?? 1;
    if (gpus !== 'all') checkCount('--gpus', gpus);
    if (opts.sessionsPerGpu !== undefined) checkCount('--sessions-per-gpu', opts.sessionsPerGpu);
    if (opts.adapter !== undefined && (!Number.isSafeInteger(opts.adapter) || opts.adapter < 0)) throw new UsageError(`adapter must be a non-negative integer, got ${opts.adapter}`);
    if (typeof model === 'string') await checkModelFile(model);
    const io: Partial<ModelIo> = { ...opts.inputNames, ...(opts.outputName !== undefined ? { output: opts.outputName } : {}) };
    const choice = opts.device ?? 'cpu';
    const plan = await planDevices(choice);

    // The first lane decides the device (for auto: the first candidate whose session opens); the others
    // open once it has warmed up, so they find the driver's shader cache filled.
    let batchSize = 0;
    let slots: GpuSlot[] = [];
    let perGpu = 1;
    const initFor = (c: DeviceCandidate, s: GpuSlot, laneThreads: number): WorkerInit => ({ model, device: c.device.name as Device, slot: s.slot, threads: laneThreads, io, batchSize });
    const laneEnv = (s: GpuSlot, c: DeviceCandidate): NodeJS.ProcessEnv =>
      c.device.host === 'process' ? vulkanProcessEnv(s.adapter ? adapterSelectionEnv(s.adapter, c.adapters) : {}) : process.env;
    let laneThreads = threads;
    const opened = await openFirstAvailable(choice, plan, async (c) => {
      slots = gpuSlots(c, gpus, opts.adapter);
      const software = slots.every((s) => s.adapter?.software);
      perGpu = c.device.accelerator ? (opts.sessionsPerGpu ?? (software ? 1 : c.device.sessionsPerGpu)) : 1;
      batchSize = bs ?? (software ? SOFTWARE_ADAPTER_BATCH : c.device.defaultBatchSize);
      laneThreads = Math.max(1, Math.floor(threads / (slots.length * perGpu)));
      return Lane.open(initFor(c, slots[0]!, laneThreads), laneEnv(slots[0]!, c));
    });
    const c = opened.candidate;
    if (opened.choice) {
      if (opts.onFallback) opts.onFallback(opened.choice);
      else process.stderr.write(opened.choice + '\n');
    }
    const first = opened.value;
    // Lane order: every GPU's first session, then every GPU's second, so partitions spread over GPUs first.
    const rest: GpuSlot[] = [];
    for (let k = 0; k < perGpu; k++) for (const [i, s] of slots.entries()) if (k > 0 || i > 0) rest.push(s);
    const others = await Promise.allSettled(rest.map((s) => Lane.open(initFor(c, s, laneThreads), laneEnv(s, c))));
    const lanes = [first, ...others.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))];
    const failed = others.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(lanes.map((l) => l.close()));
      throw failed.reason;
    }
    const layout: EngineLayout = {
      device: c.device.name as Device,
      adapters: slots.flatMap((s) => (s.adapter ? [s.adapter] : [])),
      gpus: c.device.accelerator ? slots.length : 0,
      sessionsPerGpu: perGpu,
      lanes: lanes.length,
      ...(opened.choice ? { choice: opened.choice } : {}),
      firstOpenMs: first.ready.openMs,
      firstWarmUpMs: first.ready.warmUpMs,
      firstOpen: { hostMs: first.ready.hostMs, ...first.ready.timings },
      laterOpenMs: lanes.slice(1).map((l) => l.ready.openMs),
      laterWarmUpMs: lanes.slice(1).map((l) => l.ready.warmUpMs),
    };
    return new InferenceEngine(lanes, layout, batchSize);
  }

  /** Partitions the engine can usefully hold at once: each lane busy with one and one queued behind it. */
  get capacity(): number {
    return this.lanes.length * 2;
  }

  /**
   * Predict one partition in batches, on the lane with the least work queued. The model reads tensors
   * that are views of the partition's arrays: with `transfer` a thread lane gets them without a copy;
   * otherwise the image and magnitude arrays are copied once to hand them over, and the partition stays
   * usable. A process lane always receives a copy through its channel.
   */
  predict(p: Partition, onBatch?: (done: number) => void, opts: PredictOptions = {}): Promise<Prediction> {
    if (this.closed) return Promise.reject(new CaiError('the inference engine is closed'));
    const n = p.count;
    if (p.image.length !== n * PIXELS_PER_SAMPLE || p.magnitude.length !== n * N_BANDS)
      return Promise.reject(new DataError('(partition)', `tensor sizes do not match its ${n} samples`));
    let image = p.image;
    let magnitude = p.magnitude;
    const movable = (b: ArrayBufferLike): b is ArrayBuffer => !(b instanceof SharedArrayBuffer);
    let transfer: ArrayBuffer[];
    if (opts.transfer && movable(image.buffer) && movable(magnitude.buffer)) {
      transfer = [...new Set([image.buffer, magnitude.buffer])];
    } else {
      // Compact copies (posting a view would clone its whole buffer), then moved without a second copy.
      // onnxruntime refuses SharedArrayBuffer memory, so shared arrays are copied too.
      image = image.slice();
      magnitude = magnitude.slice();
      transfer = [image.buffer as ArrayBuffer, magnitude.buffer as ArrayBuffer];
    }
    let lane = this.lanes[0]!;
    for (const l of this.lanes) if (l.queuedSamples < lane.queuedSamples) lane = l;
    return lane.predict({ count: n, image, magnitude }, transfer, onBatch);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}

/** What the engine needs of a data set; a local or S3-backed Dataset fits it. */
export interface PartitionSource {
  readonly manifest: Manifest;
  /** The manifest, for messages. */
  readonly location?: string;
  partitionLocation(entry: PartitionEntry): string;
  readPartition(entry: PartitionEntry, opts?: { verify?: VerifyMode; checkValues?: boolean }): Promise<Partition>;
}

export interface PartitionTiming {
  path: string;
  samples: number;
  batches: number;
  /** Fetch + verify + decode time of this partition (overlaps inference of the previous one). */
  downloadMs: number;
  /** Time the model waited for this partition (the I/O that read-ahead did not hide). */
  waitMs: number;
  inferenceMs: number;
}

export interface InferenceResult {
  partitions: PartitionTiming[];
  samples: number;
  batches: number;
  batchSize: number;
  device: Device;
  labelled: boolean;
  objectId: BigInt64Array;
  /** Present when the data set is labelled. */
  zTrue?: Float32Array;
  zPred: Float32Array;
  inferenceMs: number;
  downloadMs: number;
  waitMs: number;
  wallMs: number;
  /** Time the first partition, loaded, waited for the engine to finish opening (0 when it was open). */
  engineWaitMs: number;
  /** How the engine opened: device, adapters, lanes, warm-up. */
  layout: EngineLayout;
}

export interface InferArgs {
  dataset: PartitionSource;
  /** Which partitions, in order; default: all of the manifest. */
  entries?: PartitionEntry[];
  /**
   * The engine, or one still opening: then the first partitions are fetched, verified and decoded while
   * its sessions open (a cold instance overlaps its model load with its first download).
   */
  engine: InferenceEngine | Promise<InferenceEngine>;
  /**
   * Partitions fetched, verified and decoded while the model runs on the current one (memory: about
   * readAhead + 1 partitions). 0 loads and predicts strictly in turn. Default 1.
   */
  readAhead?: number;
  verify?: VerifyMode;
  onProgress?: (p: { samplesDone: number; partitionsDone: number }) => void;
  signal?: AbortSignal;
}

interface Loaded {
  p: Partition;
  ms: number;
}

/**
 * Predict partitions, results in manifest order. Up to `readAhead` partitions are fetched, verified and
 * decoded while the model runs, and up to the engine's capacity are on its lanes at once (each lane busy
 * with one and one queued behind it), so no lane waits on a partition boundary. Partitions are handed
 * to thread lanes without copies.
 */
export async function inferPartitions(args: InferArgs): Promise<InferenceResult> {
  const t0 = performance.now();
  const { dataset } = args;
  const entries = args.entries ?? dataset.manifest.partitions;
  const readAhead = args.readAhead ?? 1;
  if (!Number.isSafeInteger(readAhead) || readAhead < 0) throw new UsageError(`readAhead must be a non-negative integer, got ${readAhead}`);
  const opening = args.engine instanceof InferenceEngine ? undefined : args.engine;
  opening?.catch(() => undefined);
  const labelled = dataset.manifest.labelled;
  const offsets: number[] = [];
  let total = 0;
  for (const e of entries) {
    offsets.push(total);
    total += e.samples;
  }
  let objectId: BigInt64Array;
  let zPred: Float32Array;
  let zTrue: Float32Array | undefined;
  try {
    objectId = new BigInt64Array(total);
    zPred = new Float32Array(total);
    zTrue = labelled ? new Float32Array(total) : undefined;
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new DataError(dataset.location ?? '(data set)', `${total} samples are too many to hold their predictions in memory; run them in parts (e.g. one rank per part)`);
  }
  const partitions: PartitionTiming[] = [];

  const load = (e: PartitionEntry): Promise<Loaded> => {
    const s = performance.now();
    const promise = dataset.readPartition(e, { verify: args.verify ?? 'sha256', checkValues: true }).then((p) => ({ p, ms: performance.now() - s }));
    // A prefetched partition may fail while an earlier one is still running; it is reported when its turn comes.
    promise.catch(() => undefined);
    return promise;
  };
  const loads: Promise<Loaded>[] = [];
  let next = 0;
  const fill = (limit: number): void => {
    while (next < entries.length && loads.length < limit) loads.push(load(entries[next++]!));
  };

  // Model idle time: from when the lanes finished all they were given until the next partition is queued.
  let outstanding = 0;
  let idleSince = performance.now();
  let batches = 0;
  let inferenceMs = 0;
  let downloadMs = 0;
  let waitMs = 0;
  // Up to engine.capacity partitions are on the lanes at once; progress counts the samples of each.
  const inFlight = new Set<Promise<void>>();
  const doneOf = new Map<number, number>();
  let samplesCompleted = 0;
  let partitionsCompleted = 0;
  const report = (): void => {
    let partial = 0;
    for (const d of doneOf.values()) partial += d;
    args.onProgress?.({ samplesDone: samplesCompleted + partial, partitionsDone: partitionsCompleted });
  };

  // An engine still opening: the first partitions load meanwhile, and the time the first one, loaded, then
  // waits for the engine is what the cold start cost this invocation beyond a warm one.
  let engineWaitMs = 0;
  let engine: InferenceEngine;
  if (opening) {
    fill(Math.max(1, readAhead));
    if (loads.length) await loads[0]!.catch(() => undefined);
    const w0 = performance.now();
    engine = await opening;
    engineWaitMs = performance.now() - w0;
    idleSince = performance.now();
  } else engine = args.engine as InferenceEngine;
  const capacity = Math.max(1, engine.capacity);

  try {
    for (let i = 0; i < entries.length; i++) {
      args.signal?.throwIfAborted();
      if (readAhead === 0) {
        // No read-ahead: the next partition is fetched only once the model is done with the ones before.
        await Promise.all(inFlight);
      }
      fill(Math.max(1, readAhead));
      const entry = entries[i]!;
      const where = dataset.partitionLocation(entry);
      const { p, ms } = await loads.shift()!;
      // Keep `readAhead` partitions loading while the model runs on this one.
      fill(readAhead);
      args.signal?.throwIfAborted();
      if (p.count !== entry.samples) throw new DataError(where, `holds ${p.count} samples but the manifest lists ${entry.samples}`);
      if (labelled && !p.redshift) throw new DataError(where, 'the data set is labelled but this partition has no redshift tensor');
      const at = offsets[i]!;
      // Ids and labels are taken before the partition's memory moves to the model thread.
      objectId.set(p.objectId, at);
      if (zTrue) zTrue.set(p.redshift!, at);

      // The lanes are full: wait for one partition to finish (a failure ends the loop here).
      while (inFlight.size >= capacity) await Promise.race(inFlight);
      const waited = outstanding === 0 ? performance.now() - idleSince : 0;
      waitMs += waited;
      outstanding++;
      doneOf.set(i, 0);
      const prediction = engine.predict(
        p,
        (done) => {
          doneOf.set(i, done);
          report();
        },
        { transfer: true },
      );
      const recorded = prediction.then(
        (pred) => {
          if (--outstanding === 0) idleSince = performance.now();
          zPred.set(pred.zPred, at);
          batches += pred.batches;
          inferenceMs += pred.inferenceMs;
          downloadMs += ms;
          doneOf.delete(i);
          samplesCompleted += entry.samples;
          partitionsCompleted++;
          partitions[i] = { path: entry.path, samples: entry.samples, batches: pred.batches, downloadMs: ms, waitMs: waited, inferenceMs: pred.inferenceMs };
          report();
        },
        (err: unknown) => {
          if (err instanceof ModelError) throw new ModelError(err.file, `${err.message.slice(err.file.length + 2)} in ${where}`, { cause: err });
          throw err;
        },
      );
      recorded.catch(() => undefined);
      const tracked: Promise<void> = recorded.finally(() => inFlight.delete(tracked));
      tracked.catch(() => undefined);
      inFlight.add(tracked);
    }
    await Promise.all(inFlight);
  } finally {
    // On failure, let the partitions still on the lanes finish before the caller reuses or closes the engine.
    await Promise.allSettled(inFlight);
  }
  return {
    partitions,
    samples: total,
    batches,
    batchSize: engine.batchSize,
    device: engine.device,
    labelled,
    objectId,
    zTrue,
    zPred,
    inferenceMs,
    downloadMs,
    waitMs,
    wallMs: performance.now() - t0,
    engineWaitMs,
    layout: engine.layout,
  };
}
