// Opening an onnxruntime session for a redshift model: execution provider choice (cpu, cuda, or auto with a
// CPU fallback), thread counts, and a check that the model has the inputs and output the engine feeds.
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { IMAGE_SIZE, N_BANDS } from '../data/manifest.js';
import { ModelError, UnavailableError, UsageError } from '../errors.js';
import { readModelBytes } from '../model/model-file.js';

export type DeviceChoice = 'cpu' | 'cuda' | 'auto';
export type Device = 'cpu' | 'cuda';

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
  session: ort.InferenceSession;
  device: Device;
  io: ModelIo;
  /** What messages call the model: its path, or "(model bytes)". */
  modelName: string;
}

export { MAX_MODEL_BYTES, checkModelFile } from '../model/model-file.js';

let fallbackAnnounced = false;
let logLevelSet = false;

/** Open and validate a model. Errors: ModelError (file named) for missing/invalid/incompatible models. */
export async function openSession(model: string | Uint8Array, opts: SessionOptions = {}): Promise<OpenedSession> {
  const modelName = typeof model === 'string' ? model : '(model bytes)';
  const io: ModelIo = { ...DEFAULT_IO, ...opts.io };
  const choice = opts.device ?? 'cpu';
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isSafeInteger(threads) || threads < 1) throw new UsageError(`threads must be a positive integer, got ${threads}`);
  const bytes = typeof model === 'string' ? await readModelBytes(model) : model;
  if (!logLevelSet) {
    // onnxruntime prints its own multi-line errors (e.g. a CUDA library it cannot load); we report ours.
    if (!process.env.CAI_DEBUG) ort.env.logLevel = 'fatal';
    logLevelSet = true;
  }
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: opts.interOpThreads ?? 1,
    executionMode: 'sequential',
  };

  let session: ort.InferenceSession;
  let device: Device;
  if (choice === 'cpu') {
    session = await create(bytes, { ...base, executionProviders: ['cpu'] }, modelName);
    device = 'cpu';
  } else {
    try {
      session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cuda', 'cpu'] });
      device = 'cuda';
    } catch (err) {
      if (!isProviderLoadFailure(err)) throw modelLoadError(modelName, err);
      if (choice === 'cuda') throw new UnavailableError(`--device cuda: the CUDA execution provider is not available here (${shortReason(err)})`);
      const message = `cai: CUDA is not available (${shortReason(err)}); running on CPU`;
      if (opts.onFallback) opts.onFallback(message);
      else if (!fallbackAnnounced) process.stderr.write(message + '\n');
      fallbackAnnounced = true;
      session = await create(bytes, { ...base, executionProviders: ['cpu'] }, modelName);
      device = 'cpu';
    }
  }
  try {
    checkModelIo(session, io, modelName);
  } catch (err) {
    await session.release();
    throw err;
  }
  return { session, device, io, modelName };
}

async function create(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions, modelName: string): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, options);
  } catch (err) {
    throw modelLoadError(modelName, err);
  }
}

function modelLoadError(modelName: string, err: unknown): ModelError {
  const reason = shortReason(err);
  const problem = /protobuf parsing failed|Protobuf parsing failed/i.test(reason) ? 'not an ONNX model (protobuf parsing failed)' : `onnxruntime cannot load the model (${reason})`;
  return new ModelError(modelName, problem, { cause: err });
}

/** onnxruntime throws this family of messages when an execution provider's library is missing. */
function isProviderLoadFailure(err: unknown): boolean {
  const m = err instanceof Error ? err.message : String(err);
  return /ExecutionProvider|Failed to load (shared )?library|providers_shared|CUDA|cudnn|libcu/i.test(m) && !/protobuf/i.test(m);
}

export function shortReason(err: unknown): string {
  const m = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
  return m.length > 200 ? m.slice(0, 197) + '...' : m;
}

/** Fixed per-sample shapes the engine feeds; the leading batch dimension must be symbolic. */
const EXPECTED: Record<'image' | 'magnitude', number[]> = { image: [N_BANDS, IMAGE_SIZE, IMAGE_SIZE], magnitude: [N_BANDS] };

export function checkModelIo(session: ort.InferenceSession, io: ModelIo, modelName: string): void {
  const find = (list: readonly ort.InferenceSession.ValueMetadata[], name: string, kind: string): ort.InferenceSession.ValueMetadata => {
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

function checkTensor(meta: ort.InferenceSession.ValueMetadata, allowedTails: number[][], modelName: string, kind: string): void {
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
