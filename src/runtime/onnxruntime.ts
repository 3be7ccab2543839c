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
}

/**
 * A session over serialized model bytes, set up the one way the project runs models: every graph
 * optimization, sequential execution, the given threads and execution providers.
 */
export function createSession(model: Uint8Array, s: SessionSettings): Promise<RuntimeSession> {
  return ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: s.threads,
    interOpNumThreads: s.interOpThreads ?? 1,
    executionMode: 'sequential',
    ...(s.executionProviders ? { executionProviders: s.executionProviders.map((p) => (typeof p === 'string' ? p : { ...p })) as ort.InferenceSession.ExecutionProviderConfig[] } : {}),
  });
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
