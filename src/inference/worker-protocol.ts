// Messages between the inference engine and its session worker, and how errors cross the thread boundary
// without losing their class, file and exit code.
import { CaiError, DataError, ModelError, UsageError, UnavailableError, ExitCode } from '../errors.js';
import type { Device, DeviceChoice } from '../runtime/devices.js';
import type { ModelIo } from './session.js';

export interface WorkerInit {
  model: string | Uint8Array;
  device: DeviceChoice;
  threads: number;
  io: Partial<ModelIo>;
}

export type ToWorker =
  | { type: 'predict'; id: number; count: number; batchSize: number; image: Float32Array; magnitude: Float32Array }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; device: Device; io: ModelIo; modelName: string }
  | { type: 'fallback'; message: string }
  | { type: 'batch'; id: number; done: number }
  | { type: 'result'; id: number; zPred: Float32Array; batches: number; inferenceMs: number }
  | { type: 'error'; id?: number; error: WireError }
  | { type: 'closed' };

export interface WireError {
  kind: 'model' | 'data' | 'usage' | 'unavailable' | 'cai' | 'other';
  message: string;
  file?: string;
  exitCode: number;
}

export function toWire(err: unknown): WireError {
  if (err instanceof ModelError) return { kind: 'model', message: err.message, file: err.file, exitCode: err.exitCode };
  if (err instanceof DataError) return { kind: 'data', message: err.message, file: err.file, exitCode: err.exitCode };
  if (err instanceof UsageError) return { kind: 'usage', message: err.message, exitCode: err.exitCode };
  if (err instanceof UnavailableError) return { kind: 'unavailable', message: err.message, exitCode: err.exitCode };
  if (err instanceof CaiError) return { kind: 'cai', message: err.message, exitCode: err.exitCode };
  return { kind: 'other', message: err instanceof Error ? err.message : String(err), exitCode: ExitCode.internal };
}

/** Rebuild an error of the same class; ModelError/DataError keep their file. */
export function fromWire(w: WireError): Error {
  const problem = (file: string): string => (w.message.startsWith(file + ': ') ? w.message.slice(file.length + 2) : w.message);
  switch (w.kind) {
    case 'model':
      return new ModelError(w.file!, problem(w.file!));
    case 'data':
      return new DataError(w.file!, problem(w.file!));
    case 'usage':
      return new UsageError(w.message);
    case 'unavailable':
      return new UnavailableError(w.message);
    case 'cai':
      return new CaiError(w.message, w.exitCode as ExitCode);
    default:
      return new Error(w.message);
  }
}
