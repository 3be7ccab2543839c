// Opening an onnxruntime session for a redshift model: the device choice (a device of the registry in
// runtime/devices.ts, or auto with a CPU fallback), thread counts, and a check that the model has the
// inputs and output the engine feeds.
import { availableParallelism } from 'node:os';
import { IMAGE_SIZE, N_BANDS } from '../data/manifest.js';
import { ModelError, UnavailableError, UsageError } from '../errors.js';
import { readModelBytes } from '../model/model-file.js';
import { devicesToTry, type Device, type DeviceChoice, type ExecutionDevice } from '../runtime/devices.js';
import { createSession, quietRuntimeLog, type RuntimeSession, type ValueMetadata } from '../runtime/onnxruntime.js';

export type { Device, DeviceChoice } from '../runtime/devices.js';

export interface ModelIo {
  image: string;
  magnitude: string;
  output: string;
}
export const DEFAULT_IO: ModelIo = { image: 'image', magnitude: 'magnitude', output: 'redshift' };

export interface SessionOptions {
  device?: DeviceChoice;
  /** Intra-op threads; default: every core. */
  threads?: number;
  interOpThreads?: number;
  io?: Partial<ModelIo>;
  /** Called once with a human sentence when `auto` falls back to CPU. Default: a line on stderr. */
  onFallback?: (message: string) => void;
}

export interface OpenedSession {
  session: RuntimeSession;
  device: Device;
  io: ModelIo;
  /** What messages call the model: its path, or "(model bytes)". */
  modelName: string;
}

export { MAX_MODEL_BYTES, checkModelFile } from '../model/model-file.js';

let fallbackAnnounced = false;

/** Open and validate a model. Errors: ModelError (file named) for missing/invalid/incompatible models. */
export async function openSession(model: string | Uint8Array, opts: SessionOptions = {}): Promise<OpenedSession> {
  const modelName = typeof model === 'string' ? model : '(model bytes)';
  const io: ModelIo = { ...DEFAULT_IO, ...opts.io };
  const choice = opts.device ?? 'cpu';
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isSafeInteger(threads) || threads < 1) throw new UsageError(`threads must be a positive integer, got ${threads}`);
  const bytes = typeof model === 'string' ? await readModelBytes(model) : model;
  quietRuntimeLog();
  const settings = { threads, interOpThreads: opts.interOpThreads ?? 1 };

  // The first device of the choice that loads; on to the next only while a provider cannot load here.
  const unavailable: string[] = [];
  let opened: { session: RuntimeSession; device: ExecutionDevice } | undefined;
  for (const device of devicesToTry(choice)) {
    try {
      opened = { session: await createSession(bytes, { ...settings, executionProviders: device.executionProviders }), device };
      break;
    } catch (err) {
      if (!device.isUnavailable(err)) throw modelLoadError(modelName, err);
      if (choice !== 'auto') throw new UnavailableError(`--device ${device.name}: the ${device.label} execution provider is not available here (${shortReason(err)})`);
      unavailable.push(`${device.label} is not available (${shortReason(err)})`);
    }
  }
  // CPU ends every list and never counts as unavailable, so only a registry without it gets here.
  if (!opened) throw new UnavailableError(`no device could open the model: ${unavailable.join('; ')}`);
  if (unavailable.length) {
    const message = `cai: ${unavailable.join('; ')}; running on ${opened.device.label}`;
    if (opts.onFallback) opts.onFallback(message);
    else if (!fallbackAnnounced) process.stderr.write(message + '\n');
    fallbackAnnounced = true;
  }
  const { session } = opened;
  try {
    checkModelIo(session, io, modelName);
  } catch (err) {
    await session.release();
    throw err;
  }
  return { session, device: opened.device.name as Device, io, modelName };
}

function modelLoadError(modelName: string, err: unknown): ModelError {
  const reason = shortReason(err);
  const problem = /protobuf parsing failed|Protobuf parsing failed/i.test(reason) ? 'not an ONNX model (protobuf parsing failed)' : `onnxruntime cannot load the model (${reason})`;
  return new ModelError(modelName, problem, { cause: err });
}

export function shortReason(err: unknown): string {
  const m = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
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
