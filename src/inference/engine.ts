// The inference engine: one warm onnxruntime session in its own thread, batches fed as zero-copy views of a
// partition, and a pipeline that fetches, verifies and decodes the next partitions on the caller's thread
// while the model runs on the current one.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Manifest, PartitionEntry } from '../data/manifest.js';
import { N_BANDS } from '../data/manifest.js';
import { PIXELS_PER_SAMPLE, type Partition } from '../data/partition.js';
import type { VerifyMode } from '../data/verify-mode.js';
import { CaiError, DataError, ModelError, UsageError } from '../errors.js';
import type { Device, DeviceChoice } from '../runtime/devices.js';
import { checkModelFile, type ModelIo } from './session.js';
import { fromWire, type FromWorker, type ToWorker, type WorkerInit } from './worker-protocol.js';

export interface EngineOptions {
  batchSize: number;
  /** Intra-op threads; default: every core. */
  threads?: number;
  device?: DeviceChoice;
  inputNames?: { image: string; magnitude: string };
  outputName?: string;
  /** Called once when `auto` falls back to CPU; default: a line on stderr. */
  onFallback?: (message: string) => void;
}

export const MAX_BATCH_SIZE = 1 << 16;

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

interface Pending {
  resolve: (p: Prediction) => void;
  reject: (e: Error) => void;
  onBatch?: (done: number) => void;
}

/** The worker entry: compiled .js next to this file, or the .ts source when running from source. */
function spawnWorker(init: WorkerInit): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(fromSource ? './session-worker.ts' : './session-worker.js', import.meta.url);
  if (!fromSource) return new Worker(url, { workerData: init });
  // Running from TypeScript source (tests, tsx): the worker needs the same loader to import .ts files.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData: init });
}

export class InferenceEngine {
  readonly device: Device;
  readonly batchSize: number;
  readonly modelName: string;
  readonly io: ModelIo;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(worker: Worker, ready: Extract<FromWorker, { type: 'ready' }>, batchSize: number) {
    this.worker = worker;
    this.device = ready.device;
    this.io = ready.io;
    this.modelName = ready.modelName;
    this.batchSize = batchSize;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e) => this.fail(new CaiError(`inference thread failed: ${e.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new CaiError(`inference thread exited unexpectedly (code ${code})`));
    });
    worker.unref();
  }

  static async open(model: string | Uint8Array, opts: EngineOptions): Promise<InferenceEngine> {
    const bs = opts.batchSize;
    if (!Number.isSafeInteger(bs) || bs < 1 || bs > MAX_BATCH_SIZE) throw new UsageError(`batch size must be an integer from 1 to ${MAX_BATCH_SIZE}, got ${bs}`);
    const threads = opts.threads ?? availableParallelism();
    if (!Number.isSafeInteger(threads) || threads < 1) throw new UsageError(`threads must be a positive integer, got ${threads}`);
    if (typeof model === 'string') await checkModelFile(model);
    const io: Partial<ModelIo> = { ...opts.inputNames, ...(opts.outputName !== undefined ? { output: opts.outputName } : {}) };
    const worker = spawnWorker({ model, device: opts.device ?? 'cpu', threads, io });
    const ready = await new Promise<Extract<FromWorker, { type: 'ready' }>>((resolve, reject) => {
      const onMessage = (m: FromWorker): void => {
        if (m.type === 'fallback') {
          if (opts.onFallback) opts.onFallback(m.message);
          else process.stderr.write(m.message + '\n');
        } else if (m.type === 'ready') {
          cleanup();
          resolve(m);
        } else if (m.type === 'error') {
          cleanup();
          reject(fromWire(m.error));
        }
      };
      const onError = (e: Error): void => {
        cleanup();
        reject(new CaiError(`inference thread failed to start: ${e.message}`));
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new CaiError(`inference thread exited during start (code ${code})`));
      };
      const cleanup = (): void => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    return new InferenceEngine(worker, ready, bs);
  }

  /**
   * Predict one partition in batches. The model thread reads tensors that are views of the partition's
   * arrays: with `transfer` there is no copy at all; otherwise the image and magnitude arrays are copied
   * once to hand them to the model thread, and the partition stays usable.
   */
  predict(p: Partition, onBatch?: (done: number) => void, opts: PredictOptions = {}): Promise<Prediction> {
    if (this.closed) return Promise.reject(new CaiError('the inference engine is closed'));
    if (this.failure) return Promise.reject(this.failure);
    const n = p.count;
    if (p.image.length !== n * PIXELS_PER_SAMPLE || p.magnitude.length !== n * N_BANDS)
      return Promise.reject(new DataError('(partition)', `tensor sizes do not match its ${n} samples`));
    const id = this.nextId++;
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
    const msg: ToWorker = { type: 'predict', id, count: n, batchSize: this.batchSize, image, magnitude };
    return new Promise<Prediction>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onBatch });
      this.worker.ref();
      try {
        this.worker.postMessage(msg, transfer);
      } catch {
        // A buffer that cannot be transferred (e.g. from Node's shared Buffer pool) is cloned instead.
        this.worker.postMessage(msg);
      }
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'fallback' || m.type === 'ready' || m.type === 'closed') return;
    const id = m.id;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (m.type === 'batch') {
      p?.onBatch?.(m.done);
      return;
    }
    if (id === undefined) {
      this.fail(fromWire(m.type === 'error' ? m.error : { kind: 'other', message: 'unexpected message', exitCode: 1 }));
      return;
    }
    if (!p) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
    if (m.type === 'result') p.resolve({ zPred: m.zPred, batches: m.batches, inferenceMs: m.inferenceMs });
    else p.reject(fromWire(m.error));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  async close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      this.closed = true;
      this.worker.ref();
      const done = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      if (!this.failure) this.worker.postMessage({ type: 'close' } satisfies ToWorker);
      else void this.worker.terminate();
      await done;
      this.fail(new CaiError('the inference engine is closed'));
    })();
    return this.closing;
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
}

export interface InferArgs {
  dataset: PartitionSource;
  /** Which partitions, in order; default: all of the manifest. */
  entries?: PartitionEntry[];
  engine: InferenceEngine;
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
 * Predict partitions in order. Up to `readAhead` partitions are fetched, verified and decoded while the
 * model runs, and the next decoded partition is queued on the model thread before the current one ends,
 * so the model never waits on a partition boundary. Partitions are handed over without copies.
 */
export async function inferPartitions(args: InferArgs): Promise<InferenceResult> {
  const t0 = performance.now();
  const { dataset, engine } = args;
  const entries = args.entries ?? dataset.manifest.partitions;
  const readAhead = args.readAhead ?? 1;
  if (!Number.isSafeInteger(readAhead) || readAhead < 0) throw new UsageError(`readAhead must be a non-negative integer, got ${readAhead}`);
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

  // Model-thread idle time: from when it finished all it was given until the next partition is queued.
  let outstanding = 0;
  let idleSince = performance.now();
  let completed = 0;
  let batches = 0;
  let inferenceMs = 0;
  let downloadMs = 0;
  let waitMs = 0;
  let previous: Promise<void> | undefined;

  try {
    for (let i = 0; i < entries.length; i++) {
      args.signal?.throwIfAborted();
      if (readAhead === 0 && previous) {
        // No read-ahead: the next partition is fetched only once the model is done with the previous one.
        await previous;
        previous = undefined;
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

      const waited = outstanding === 0 ? performance.now() - idleSince : 0;
      waitMs += waited;
      outstanding++;
      const prediction = engine.predict(p, (done) => args.onProgress?.({ samplesDone: at + done, partitionsDone: i }), { transfer: true });
      const recorded = prediction.then(
        (pred) => {
          if (--outstanding === 0) idleSince = performance.now();
          zPred.set(pred.zPred, at);
          batches += pred.batches;
          inferenceMs += pred.inferenceMs;
          downloadMs += ms;
          completed++;
          partitions.push({ path: entry.path, samples: entry.samples, batches: pred.batches, downloadMs: ms, waitMs: waited, inferenceMs: pred.inferenceMs });
          args.onProgress?.({ samplesDone: at + entry.samples, partitionsDone: i + 1 });
        },
        (err: unknown) => {
          if (err instanceof ModelError) throw new ModelError(err.file, `${err.message.slice(err.file.length + 2)} in ${where}`, { cause: err });
          throw err;
        },
      );
      recorded.catch(() => undefined);
      // The model thread now has this partition queued behind the previous one: wait for the previous.
      if (previous) await previous;
      previous = recorded;
    }
    if (previous) await previous;
  } finally {
    // On failure, let a partition still on the model thread finish before the caller reuses or closes it.
    if (previous) await previous.catch(() => undefined);
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
  };
}
