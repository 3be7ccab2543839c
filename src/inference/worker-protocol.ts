// Messages between the inference engine and its session hosts (a worker thread or a child process, the
// same messages either way), and how errors cross the boundary without losing their class, file and exit
// code.
import { CaiError, DataError, ModelError, UsageError, UnavailableError, ExitCode } from '../errors.js';
import { DEVICES, DeviceUnavailable, type Device } from '../runtime/devices.js';
import type { ModelIo, SessionOpenTimings } from './session.js';

export interface WorkerInit {
  model: string | Uint8Array;
  /** Always one device: `auto` is resolved by the engine, which opens a host per device it tries. */
  device: Device;
  /** The GPU this session is pinned to, among the GPUs in use (CUDA's device id). */
  slot: number;
  threads: number;
  io: Partial<ModelIo>;
  batchSize: number;
}

export type ToWorker =
  | { type: 'init'; init: WorkerInit }
  | { type: 'predict'; id: number; count: number; image: Float32Array; magnitude: Float32Array }
  | { type: 'close' };

export type FromWorker =
  /**
   * openMs: session creation; warmUpMs: the warm-up batch (shader compilation on a GPU), 0 without one;
   * timings: the open in parts (reading the model, creating the session, the cache's outcome).
   */
  | { type: 'ready'; device: Device; io: ModelIo; modelName: string; openMs: number; warmUpMs: number; timings: SessionOpenTimings }
  | { type: 'batch'; id: number; done: number }
  | { type: 'result'; id: number; zPred: Float32Array; batches: number; inferenceMs: number }
  | { type: 'error'; id?: number; error: WireError }
  | { type: 'closed' };

export interface WireError {
  kind: 'model' | 'data' | 'usage' | 'device' | 'unavailable' | 'cai' | 'other';
  message: string;
  file?: string;
  /** kind 'device': the device that cannot load, and the provider's reason. */
  device?: Device;
  reason?: string;
  exitCode: number;
}

export function toWire(err: unknown): WireError {
  if (err instanceof ModelError) return { kind: 'model', message: err.message, file: err.file, exitCode: err.exitCode };
  if (err instanceof DataError) return { kind: 'data', message: err.message, file: err.file, exitCode: err.exitCode };
  if (err instanceof UsageError) return { kind: 'usage', message: err.message, exitCode: err.exitCode };
  if (err instanceof DeviceUnavailable) return { kind: 'device', message: err.message, device: err.device.name as Device, reason: err.reason, exitCode: err.exitCode };
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
    case 'device':
      return new DeviceUnavailable(DEVICES[w.device!], w.reason!);
    case 'unavailable':
      return new UnavailableError(w.message);
    case 'cai':
      return new CaiError(w.message, w.exitCode as ExitCode);
    default:
      return new Error(w.message);
  }
}
