// Opening an onnxruntime session for a redshift model: the device choice (a device of the registry in
// runtime/devices.ts, or auto with a CPU fallback), the GPU a session is pinned to, thread counts, the
// optimized-model cache on devices that use it (session-cache.ts), and a check that the model has the
// inputs and output the engine feeds.
import { availableParallelism } from 'node:os';
import { IMAGE_SIZE, N_BANDS } from '../data/manifest.js';
import { ModelError, UsageError } from '../errors.js';
import { checkModelFile, readModelBytes } from '../model/model-file.js';
import { DeviceUnavailable, executionDevice, openFirstAvailable, planDevices, type Device, type DeviceCandidate, type DeviceChoice, type ExecutionDevice } from '../runtime/devices.js';
import { createSession, quietRuntimeLog, type RuntimeSession, type SessionSettings, type ValueMetadata } from '../runtime/onnxruntime.js';
import { fillCache, openThroughCache, sessionCacheDir, type CacheOutcome } from './session-cache.js';

export type { Device, DeviceChoice } from '../runtime/devices.js';

export interface ModelIo {
  image: string;
  magnitude: string;
  output: string;
}
export const DEFAULT_IO: ModelIo = { image: 'image', magnitude: 'magnitude', output: 'redshift' };

export interface SessionOptions {
  device?: DeviceChoice;
  /** Which of the device's GPUs (CUDA's device id); WebGPU's adapter is chosen per process instead. */
  slot?: number;
  /** Intra-op threads; default: every core. */
  threads?: number;
  interOpThreads?: number;
  io?: Partial<ModelIo>;
  /** Called once with the sentence saying what `auto` chose and why (a fallback to CPU included). Default: a line on stderr. */
  onFallback?: (message: string) => void;
  /** The optimized-model cache's directory; default sessionCacheDir() ($CAI_CACHE_DIR); null: no cache. */
  cacheDir?: string | null;
}

/** What opening cost, in parts, and whether the cache served it. */
export interface SessionOpenTimings {
  /** Identifying the model and reading the bytes the session loads, ms. */
  readMs: number;
  /** onnxruntime's session creation, ms. */
  createMs: number;
  cache: CacheOutcome;
}

export interface OpenedSession {
  session: RuntimeSession;
  device: Device;
  /** The plan's candidate that opened: the device and the adapters it lists. */
  candidate: DeviceCandidate;
  io: ModelIo;
  /** What messages call the model: its path, or "(model bytes)". */
  modelName: string;
  timings: SessionOpenTimings;
}

export { MAX_MODEL_BYTES, checkModelFile } from '../model/model-file.js';

let choiceAnnounced = false;

/** Open and validate a model. Errors: ModelError (file named) for missing/invalid/incompatible models. */
export async function openSession(model: string | Uint8Array, opts: SessionOptions = {}): Promise<OpenedSession> {
  const modelName = typeof model === 'string' ? model : '(model bytes)';
  const io: ModelIo = { ...DEFAULT_IO, ...opts.io };
  const choice = opts.device ?? 'cpu';
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isSafeInteger(threads) || threads < 1) throw new UsageError(`threads must be a positive integer, got ${threads}`);
  // Read once however many devices `auto` tries, and not at all when the cache already holds the model.
  let read: Promise<Uint8Array> | undefined;
  const readModel = (): Promise<Uint8Array> => (read ??= typeof model === 'string' ? readModelBytes(model) : Promise.resolve(model));
  if (typeof model === 'string') await checkModelFile(model);
  quietRuntimeLog();
  const cacheDir = opts.cacheDir === undefined ? sessionCacheDir() : (opts.cacheDir ?? undefined);
  const settings = { threads, interOpThreads: opts.interOpThreads ?? 1, slot: opts.slot ?? 0, cacheDir };
  const plan = await planDevices(choice);
  const opened = await openFirstAvailable(choice, plan, (c) => openOn(c.device, model, readModel, modelName, settings));
  if (opened.choice) {
    if (opts.onFallback) opts.onFallback(opened.choice);
    else if (!choiceAnnounced) process.stderr.write(opened.choice + '\n');
    choiceAnnounced = true;
  }
  const { session, timings } = opened.value;
  try {
    checkModelIo(session, io, modelName);
  } catch (err) {
    await session.release();
    throw err;
  }
  return { session, device: opened.candidate.device.name as Device, candidate: opened.candidate, io, modelName, timings };
}

interface OpenedOn {
  session: RuntimeSession;
  timings: SessionOpenTimings;
}

/** One session on one device: DeviceUnavailable when its provider cannot load here, ModelError otherwise. */
async function openOn(
  device: ExecutionDevice,
  model: string | Uint8Array,
  readModel: () => Promise<Uint8Array>,
  modelName: string,
  s: { threads: number; interOpThreads: number; slot: number; cacheDir: string | undefined },
): Promise<OpenedOn> {
  device.prepareProcess();
  const create = creator(device, modelName, s);
  if (s.cacheDir !== undefined && device.cachesOptimizedModel) {
    const c = await openThroughCache({ dir: s.cacheDir, model, readModel, device: device.name, create });
    return { session: c.session, timings: { readMs: c.readMs, createMs: c.createMs, cache: c.cache } };
  }
  const t0 = performance.now();
  const bytes = await readModel();
  const t1 = performance.now();
  const session = await create(bytes);
  return { session, timings: { readMs: t1 - t0, createMs: performance.now() - t1, cache: 'off' } };
}

type CreateOptions = Pick<SessionSettings, 'optimization' | 'saveOptimizedTo' | 'useBytesInPlace'>;

/** Session creation on one device, its failures told apart: DeviceUnavailable, else ModelError naming the model. */
function creator(device: ExecutionDevice, modelName: string, s: { threads: number; interOpThreads: number; slot: number }): (bytes: Uint8Array, o?: CreateOptions) => Promise<RuntimeSession> {
  return async (bytes, o = {}) => {
    try {
      return await createSession(bytes, { threads: s.threads, interOpThreads: s.interOpThreads, executionProviders: device.providers(s.slot), ...o });
    } catch (err) {
      if (device.isUnavailable(err)) throw new DeviceUnavailable(device, shortReason(err), { cause: err });
      throw modelLoadError(modelName, err);
    }
  };
}

/**
 * Fill the optimized-model cache for a model ahead of its first session (an image build): the CPU's
 * entry for this machine and the portable one for any CPU of the same architecture. `off`: the model is
 * too small to gain; `unstored`: the directory cannot be written.
 */
export async function fillSessionCache(model: string, cacheDir: string = sessionCacheDir() ?? ''): Promise<CacheOutcome> {
  if (!cacheDir) return 'off';
  await checkModelFile(model);
  quietRuntimeLog();
  const cpu = executionDevice('cpu');
  return fillCache({ dir: cacheDir, model, readModel: () => readModelBytes(model), device: cpu.name, create: creator(cpu, model, { threads: 1, interOpThreads: 1, slot: 0 }) });
}

function modelLoadError(modelName: string, err: unknown): ModelError {
  const reason = shortReason(err);
  const problem = /protobuf parsing failed|Protobuf parsing failed/i.test(reason) ? 'not an ONNX model (protobuf parsing failed)' : `onnxruntime cannot load the model (${reason})`;
  return new ModelError(modelName, problem, { cause: err });
}

export function shortReason(err: unknown): string {
  const m = (err instanceof Error ? err.message : String(err))
    .replace(/\s+/g, ' ')
    .trim()
    // onnxruntime prefixes its messages with a source location and the failed check; the words after it tell.
    .replace(/^\S*onnxruntime_src\S*:\d+ .*? was false\. /, '')
    .replace(/^\S*onnxruntime_src\S*:\d+ /, '');
  return m.length > 200 ? m.slice(0, 197) + '...' : m;
}

/** Fixed per-sample shapes the engine feeds; the leading batch dimension must be symbolic. */
const EXPECTED: Record<'image' | 'magnitude', number[]> = { image: [N_BANDS, IMAGE_SIZE, IMAGE_SIZE], magnitude: [N_BANDS] };

export function checkModelIo(session: RuntimeSession, io: ModelIo, modelName: string): void {
  const find = (list: readonly ValueMetadata[], name: string, kind: string): ValueMetadata => {
    const m = list.find((v) => v.name === name);
    if (!m) {
      const have = list.map((v) => v.name).join(', ') || 'none';
      throw new ModelError(modelName, `model has no ${kind} named "${name}" (its ${kind}s: ${have})`);
    }
    return m;
  };
  for (const key of ['image', 'magnitude'] as const) {
    const meta = find(session.inputMetadata, io[key], 'input');
    checkTensor(meta, [EXPECTED[key]], modelName, 'input');
  }
  const extra = session.inputMetadata.filter((m) => m.name !== io.image && m.name !== io.magnitude);
  if (extra.length) throw new ModelError(modelName, `model needs inputs the engine does not provide: ${extra.map((m) => m.name).join(', ')}`);
  // The output may be [N,1] or [N].
  checkTensor(find(session.outputMetadata, io.output, 'output'), [[1], []], modelName, 'output');
}

function checkTensor(meta: ValueMetadata, allowedTails: number[][], modelName: string, kind: string): void {
  if (!meta.isTensor) throw new ModelError(modelName, `${kind} "${meta.name}" is not a tensor`);
  if (meta.type !== 'float32') throw new ModelError(modelName, `${kind} "${meta.name}" has type ${meta.type}, expected float32`);
  const shape = meta.shape;
  if (shape.length === 0) return; // shape not recorded in the model: nothing to check until it runs
  const tail = shape.slice(1);
  const fits = allowedTails.some((want) => want.length === tail.length && want.every((d, i) => typeof tail[i] === 'string' || tail[i] === d || tail[i] === -1));
  const batchOk = typeof shape[0] === 'string' || shape[0] === -1;
  const fmt = (s: readonly (number | string)[]): string => `[${s.join(',')}]`;
  if (!fits || !batchOk) {
    const want = allowedTails.map((t) => fmt(['N', ...t])).join(' or ');
    throw new ModelError(modelName, `${kind} "${meta.name}" has shape ${fmt(shape)}, expected ${want} with a variable batch dimension N`);
  }
}
