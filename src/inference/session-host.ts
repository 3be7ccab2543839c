// One session of the engine, in its host: a worker thread of this process, or a child process (the
// device registry says which: WebGPU sessions each need a process of their own, see runtime/devices.ts).
// A lane takes partitions in order, answers each with its predictions, and reports its batches as they
// finish. Both hosts speak the messages of worker-protocol.ts; only how they are started differs.
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { CaiError } from '../errors.js';
import { executionDevice } from '../runtime/devices.js';
import type { Partition } from '../data/partition.js';
import type { ModelIo, SessionOpenTimings } from './session.js';
import { fromWire, type FromWorker, type ToWorker, type WorkerInit } from './worker-protocol.js';

/** What the engine needs of a host, whichever kind. */
interface Host {
  post(m: ToWorker, transfer?: ArrayBuffer[]): void;
  on(event: 'message', f: (m: FromWorker) => void): void;
  off(event: 'message', f: (m: FromWorker) => void): void;
  onExit(f: (code: number | null, error?: Error) => void): void;
  /** Keep this process alive while the host has work; let it exit when idle. */
  ref(): void;
  unref(): void;
  kill(): void;
  /** The session opened: from now on the host's own output is worth showing. */
  opened(): void;
}

const fromSource = import.meta.url.endsWith('.ts');
const entry = new URL(fromSource ? './session-worker.ts' : './session-worker.js', import.meta.url);

function threadHost(): Host {
  let worker: Worker;
  if (!fromSource) worker = new Worker(entry);
  else {
    // Running from TypeScript source (tests, tsx): the worker needs the same loader to import .ts files.
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
    worker = new Worker(boot, { eval: true });
  }
  return {
    post: (m, transfer = []) => {
      try {
        worker.postMessage(m, transfer);
      } catch {
        // A buffer that cannot be transferred (e.g. from Node's shared Buffer pool) is cloned instead.
        worker.postMessage(m);
      }
    },
    on: (_e, f) => worker.on('message', f),
    off: (_e, f) => worker.off('message', f),
    onExit: (f) => {
      worker.on('error', (e) => f(null, e));
      worker.on('exit', (code) => f(code));
    },
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    kill: () => void worker.terminate(),
    opened: () => undefined,
  };
}

/** Lines of a session process's stderr that the provider writes for every session and that say nothing wrong. */
const ROUTINE_PROVIDER_LINES = /^Warning: maxDynamic\w+ artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

function processHost(env: NodeJS.ProcessEnv): Host {
  const execArgv = fromSource ? ['--import', import.meta.resolve('tsx')] : [];
  // Advanced serialization carries typed arrays as such (a copy through the pipe; no transfer between processes).
  const child: ChildProcess = fork(entry, [], { execArgv, env, serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  // The native provider and the Vulkan loader write to the standard streams themselves: to stderr here,
  // so a --json report on stdout stays clean. What they say while the session opens (the loader's search
  // for drivers, Dawn's adapter notices) is summed up by the one-line error if opening fails, and their
  // routine notices say nothing wrong: both are shown with CAI_DEBUG only.
  let opened = false;
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (process.env.CAI_DEBUG || (opened && !ROUTINE_PROVIDER_LINES.test(line))) process.stderr.write(line + '\n');
    });
  }
  return {
    post: (m) => child.send(m),
    on: (_e, f) => child.on('message', f as (m: unknown) => void),
    off: (_e, f) => child.off('message', f as (m: unknown) => void),
    onExit: (f) => {
      child.on('error', (e) => f(null, e));
      child.on('exit', (code, signal) => f(code ?? (signal ? 128 : null)));
    },
    ref: () => {
      child.ref();
      child.channel?.ref();
    },
    unref: () => {
      child.unref();
      child.channel?.unref();
      // The output pipes only carry log lines: they never keep this process alive.
      for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
    },
    kill: () => child.kill(),
    opened: () => {
      opened = true;
    },
  };
}

interface Pending {
  count: number;
  resolve: (p: LaneResult) => void;
  reject: (e: Error) => void;
  onBatch?: (done: number) => void;
}

export interface LaneResult {
  zPred: Float32Array;
  batches: number;
  inferenceMs: number;
}

export interface LaneReady {
  io: ModelIo;
  modelName: string;
  openMs: number;
  warmUpMs: number;
  /** The host's start (its thread or process up, the runtime loaded) before it opened the session, ms. */
  hostMs: number;
  timings: SessionOpenTimings;
}

export class Lane {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private exited: Promise<void>;

  private constructor(
    private readonly host: Host,
    readonly ready: LaneReady,
    exited: Promise<void>,
  ) {
    this.exited = exited;
    host.on('message', (m) => this.onMessage(m));
    host.onExit((code, error) => {
      if (!this.closed) this.fail(new CaiError(error ? `inference session host failed: ${error.message}` : `inference session host exited unexpectedly (code ${code})`));
    });
    host.unref();
  }

  /** Start a host, open its session; rejects with the session's own error (DeviceUnavailable, ModelError, ...). */
  static async open(init: WorkerInit, env: NodeJS.ProcessEnv): Promise<Lane> {
    // The host's start is timed on this side: a worker thread's clock is the process's, not its own.
    const startedAt = performance.now();
    const host = executionDevice(init.device).host === 'process' ? processHost(env) : threadHost();
    let exitedResolve!: () => void;
    const exited = new Promise<void>((r) => (exitedResolve = r));
    let onExit: ((code: number | null, error?: Error) => void) | undefined;
    host.onExit((code, error) => {
      exitedResolve();
      onExit?.(code, error);
    });
    const ready = await new Promise<LaneReady>((resolve, reject) => {
      const onMessage = (m: FromWorker): void => {
        if (m.type === 'ready') {
          cleanup();
          host.opened();
          resolve({ io: m.io, modelName: m.modelName, openMs: m.openMs, warmUpMs: m.warmUpMs, hostMs: Math.max(0, performance.now() - startedAt - m.openMs - m.warmUpMs), timings: m.timings });
        } else if (m.type === 'error') {
          cleanup();
          reject(fromWire(m.error));
        }
      };
      onExit = (code, error) => {
        cleanup();
        reject(new CaiError(error ? `inference session host failed to start: ${error.message}` : `inference session host exited during start (code ${code})`));
      };
      const cleanup = (): void => {
        host.off('message', onMessage);
        onExit = undefined;
      };
      host.on('message', onMessage);
      host.post({ type: 'init', init });
    }).catch(async (err: unknown) => {
      host.kill();
      await exited;
      throw err;
    });
    return new Lane(host, ready, exited);
  }

  /** Partitions posted and not yet answered. */
  get load(): number {
    return this.pending.size;
  }

  /** Samples posted and not yet answered: what a new partition would wait behind. */
  get queuedSamples(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.count;
    return n;
  }

  predict(p: Pick<Partition, 'count' | 'image' | 'magnitude'>, transfer: ArrayBuffer[], onBatch?: (done: number) => void): Promise<LaneResult> {
    if (this.closed) return Promise.reject(new CaiError('the inference engine is closed'));
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<LaneResult>((resolve, reject) => {
      this.pending.set(id, { count: p.count, resolve, reject, onBatch });
      this.host.ref();
      this.host.post({ type: 'predict', id, count: p.count, image: p.image, magnitude: p.magnitude }, transfer);
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'ready' || m.type === 'closed') return;
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
    if (this.pending.size === 0) this.host.unref();
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
      this.host.ref();
      if (!this.failure) this.host.post({ type: 'close' });
      else this.host.kill();
      await this.exited;
      this.fail(new CaiError('the inference engine is closed'));
    })();
    return this.closing;
  }
}
