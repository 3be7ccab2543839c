// The one file that imports onnxruntime-node. Everything else (the inference engine, model building and
// calibration, the benchmarks) reaches the runtime through the few names below, so that the runtime, its
// version or a second binding changes here and nowhere else. The types are onnxruntime-common's own
// (onnxruntime-node re-exports them), so a session or tensor from here is an ordinary onnxruntime object.
import * as ort from 'onnxruntime-node';

export type RuntimeSession = ort.InferenceSession;
export type RuntimeTensor = ort.Tensor;
export type ValueMetadata = ort.InferenceSession.ValueMetadata;
/** Named input tensors of one `run`. */
export type Feeds = Record<string, RuntimeTensor>;

/** An execution provider by name, or with its options ({ name: 'cuda', deviceId: 1 }). */
export type ProviderConfig = string | ({ readonly name: string } & Readonly<Record<string, unknown>>);

export interface SessionSettings {
  /** Intra-op threads. */
  threads: number;
  /** Inter-op threads; default 1 (the graphs run sequentially). */
  interOpThreads?: number;
  /** onnxruntime execution providers in order of preference; default CPU only. */
  executionProviders?: readonly ProviderConfig[];
  /** Graph optimizations applied at load; default every one ('all'). A model optimized before needs fewer. */
  optimization?: OptimizationLevel;
  /** Write the optimized graph to this file, in onnxruntime's own (ORT, flatbuffer) format, while loading. */
  saveOptimizedTo?: string;
  /**
   * The model bytes are an ORT-format file: let the session use them in place, initializers included,
   * instead of copying them. The caller must keep `model` alive (and never transfer it) while the session lives.
   */
  useBytesInPlace?: boolean;
}

export type OptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/**
 * A session over serialized model bytes (ONNX, or ORT format written by `saveOptimizedTo`), set up the one
 * way the project runs models: sequential execution, the given threads and execution providers, every
 * graph optimization unless told otherwise.
 */
export async function createSession(model: Uint8Array, s: SessionSettings): Promise<RuntimeSession> {
  const config: Record<string, string> = {};
  if (s.saveOptimizedTo !== undefined) config.save_model_format = 'ORT';
  if (s.useBytesInPlace) {
    config.use_ort_model_bytes_directly = '1';
    config.use_ort_model_bytes_for_initializers = '1';
  }
  const session = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: s.optimization ?? 'all',
    intraOpNumThreads: s.threads,
    interOpNumThreads: s.interOpThreads ?? 1,
    executionMode: 'sequential',
    ...(s.executionProviders ? { executionProviders: s.executionProviders.map((p) => (typeof p === 'string' ? p : { ...p })) as ort.InferenceSession.ExecutionProviderConfig[] } : {}),
    ...(s.saveOptimizedTo !== undefined ? { optimizedModelFilePath: s.saveOptimizedTo } : {}),
    // Session configuration entries ("session.<key>"), which onnxruntime-node passes through as they are.
    ...(Object.keys(config).length ? { extra: { session: config } } : {}),
  });
  // A session that reads its bytes in place holds native pointers into `model` without keeping it alive:
  // the bytes live exactly as long as the session object does, whoever holds it (else: a use after free).
  if (s.useBytesInPlace) bytesInUse.set(session, model);
  return session;
}

/** The model bytes of each session created with useBytesInPlace, alive while the session object is. */
const bytesInUse = new WeakMap<RuntimeSession, Uint8Array>();

/** The onnxruntime version sessions run on: part of what an optimized model saved by it is valid for. */
export function runtimeVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common;
}

/** The execution providers this onnxruntime-node build carries in its own package (cpu, webgpu on linux-x64). */
export function bundledProviders(): string[] {
  return ort.listSupportedBackends().filter((b) => b.bundled).map((b) => b.name);
}

/** A float32 tensor over `data` itself (no copy): a view of a partition, or an output to be written in place. */
export function float32Tensor(data: Float32Array, dims: readonly number[]): RuntimeTensor {
  return new ort.Tensor('float32', data, dims);
}

let quiet = false;

/**
 * Silence onnxruntime's own log (its multi-line messages, e.g. about a provider library it cannot load):
 * the project reports what went wrong itself. CAI_DEBUG keeps the log. Process-wide; once is enough.
 */
export function quietRuntimeLog(): void {
  if (quiet) return;
  if (!process.env.CAI_DEBUG) ort.env.logLevel = 'fatal';
  quiet = true;
}
