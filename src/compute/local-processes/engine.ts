// The local compute engine: a pool of worker processes that behave like function instances. An instance
// starts cold, loads its code once and is reused warm; it has a memory limit (V8 heap cap plus an RSS
// watchdog) and a per-invocation timeout; a crash, timeout or memory overrun kills it and fails that
// invocation with the error name Lambda would report. At most `concurrency` instances exist, so at most that
// many invocations run. Each holds a slot from 0 to concurrency - 1 for its life (a replacement takes the
// slot of the instance it replaces), which is what pins an instance to one GPU. A run may start instances
// ahead (`prestart`, Lambda's provisioned concurrency in kind) and tell them what they will run, so their
// start-up and model load happen while the run is still being planned.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InstanceFigures, InstanceTask, InvocationEnd, InvocationEngine, InvocationOutcome, InvocationStart, InvokeOptions } from '../backend.js';
import type { InstanceStartup } from '../context.js';
import { LOCAL_PROCESSES, checkComputeConfig, type LocalComputeConfig } from './config.js';
import type { FromInstance, InstanceInfo, ToInstance } from './protocol.js';

export type { InvocationEnd, InvocationOutcome, InvocationStart, InvokeOptions } from '../backend.js';

/** Error names, as Lambda reports them, for invocations the platform ended. */
export const CRASH_ERROR = 'Runtime.ExitError';
export const TIMEOUT_ERROR = 'States.Timeout';
export const MEMORY_ERROR = 'Runtime.OutOfMemory';

/** An invocation failure; `name` is the error type the state machine matches Retry/Catch on. */
export class InvocationError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
    this.name = errorType;
  }
}

export interface PoolStats {
  invocations: number;
  coldStarts: number;
  crashes: number;
  timeouts: number;
  memoryKills: number;
  errors: number;
  instancesStarted: number;
  /** Most invocations that ran at the same time. */
  peakRunning: number;
}

interface Instance {
  seq: number;
  id: string;
  slot: number;
  proc: ChildProcess;
  pid: number;
  ready: Promise<number>;
  busy: boolean;
  invocations: number;
  /** Fork to ready, as this process saw it. */
  initMs: number;
  /** Of initMs, the instance's loading of its handlers' code (its own clock). */
  codeMs: number;
  spawnedAt: number;
  readyAt?: number;
  /** Started by prestart, ahead of any invocation. */
  prestarted: boolean;
  stderrTail: string;
  /** Set once the instance is gone; its exit reason for the running invocation. */
  dead: boolean;
  current?: Running;
  watchdog?: NodeJS.Timeout;
}

interface Running {
  id: number;
  start: InvocationStart;
  t0: number;
  opts: InvokeOptions;
  timer?: NodeJS.Timeout;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  settled: boolean;
  killedFor?: 'timeout' | 'memory';
}

const STDERR_TAIL_CHARS = 4000;
const MIB = 1024 * 1024;

/** The instance program next to this module, and the loader it needs when running from TypeScript source. */
function entryPoint(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  const file = join(dirname(here), `entry-point${ext}`);
  if (ext !== '.ts') return { file, execArgv: [] };
  let tsx = 'tsx';
  try {
    tsx = import.meta.resolve('tsx');
  } catch {
    // fall back to resolving from the working directory
  }
  return { file, execArgv: ['--import', tsx] };
}

/** Resident and peak-resident memory of a process from /proc (Linux); undefined elsewhere. */
function procMemory(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(text);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(text);
    if (!rss) return undefined;
    return { rss: Number(rss[1]) * 1024, hwm: hwm ? Number(hwm[1]) * 1024 : Number(rss[1]) * 1024 };
  } catch {
    return undefined;
  }
}

type Listener<T> = (e: T) => void;

export class LocalProcessPool implements InvocationEngine {
  readonly kind = 'invocations' as const;
  readonly backend = LOCAL_PROCESSES;
  readonly config: LocalComputeConfig & { watchdogIntervalMs: number };
  private readonly instances = new Set<Instance>();
  /** Slots held by live instances. */
  private readonly slots = new Set<number>();
  private readonly waiters: ((inst: Instance | Error) => void)[] = [];
  private readonly entry = entryPoint();
  private seq = 0;
  private nextInvocation = 1;
  private running = 0;
  private closed = false;
  private readonly startListeners: Listener<InvocationStart>[] = [];
  private readonly endListeners: Listener<InvocationEnd>[] = [];
  readonly records: InvocationEnd[] = [];
  private readonly counters: PoolStats = { invocations: 0, coldStarts: 0, crashes: 0, timeouts: 0, memoryKills: 0, errors: 0, instancesStarted: 0, peakRunning: 0 };

  constructor(config: LocalComputeConfig) {
    checkComputeConfig(config);
    this.config = { watchdogIntervalMs: 100, ...config };
  }

  get figures(): InstanceFigures {
    return { concurrency: this.config.concurrency, memoryMb: this.config.memoryMb, timeoutS: this.config.timeoutS };
  }

  /** Listen to invocation starts; returns a function that stops listening. */
  onStart(l: Listener<InvocationStart>): () => void {
    this.startListeners.push(l);
    return () => remove(this.startListeners, l);
  }

  /** Listen to invocation ends; returns a function that stops listening. */
  onEnd(l: Listener<InvocationEnd>): () => void {
    this.endListeners.push(l);
    return () => remove(this.endListeners, l);
  }

  stats(): PoolStats {
    return { ...this.counters };
  }

  /** Process ids of the live instances. */
  pids(): number[] {
    return [...this.instances].filter((i) => !i.dead).map((i) => i.pid);
  }

  /**
   * Start up to `count` instances now (never beyond concurrency), before any invocation needs them; with
   * a hint, each is told what its first invocation will be (the task and an event like it) once it is up,
   * so its task's preparer can start the slow set-up. Their first invocations are still cold starts, and
   * report how much of the start-up they waited for.
   */
  prestart(count: number, hint?: { task: InstanceTask; event: unknown }): void {
    if (this.closed) return;
    const n = Math.min(count, this.config.concurrency - this.liveCount());
    for (let i = 0; i < n; i++) {
      const inst = this.spawn(true);
      if (!hint) continue;
      const msg: ToInstance = { type: 'prepare', task: hint.task, payload: hint.event };
      inst.ready.then(
        () => {
          if (!inst.dead && inst.proc.connected) inst.proc.send(msg, () => undefined);
        },
        () => undefined,
      );
    }
  }

  /** Run one invocation on a warm instance if one is idle, else on a new one (cold), else wait for one. */
  async invoke<T = unknown>(payload: unknown, opts: InvokeOptions = {}): Promise<T> {
    if (this.closed) throw new Error('the worker pool is closed');
    const inst = await this.acquire();
    return (await this.dispatch(inst, payload, opts)) as T;
  }

  private acquire(): Promise<Instance> {
    for (const inst of this.instances) {
      if (!inst.busy && !inst.dead) {
        inst.busy = true;
        return Promise.resolve(inst);
      }
    }
    if (this.liveCount() < this.config.concurrency) {
      const inst = this.spawn();
      inst.busy = true;
      return Promise.resolve(inst);
    }
    return new Promise((resolve, reject) => this.waiters.push((i) => (i instanceof Error ? reject(i) : resolve(i))));
  }

  private liveCount(): number {
    let n = 0;
    for (const i of this.instances) if (!i.dead) n++;
    return n;
  }

  /** Hand a free slot to the next waiter: an idle instance, or room to start one. */
  private release(inst: Instance): void {
    inst.busy = false;
    inst.current = undefined;
    if (inst.dead) this.instances.delete(inst);
    const next = this.waiters.shift();
    if (!next) return;
    if (!inst.dead) {
      inst.busy = true;
      next(inst);
    } else {
      const fresh = this.spawn();
      fresh.busy = true;
      next(fresh);
    }
  }

  private spawn(prestarted = false): Instance {
    const seq = ++this.seq;
    let slot = 0;
    while (this.slots.has(slot)) slot++;
    this.slots.add(slot);
    const heap = Math.max(64, this.config.memoryMb);
    const spawnedAt = performance.now();
    const proc = fork(this.entry.file, [], {
      execArgv: [...this.entry.execArgv, `--max-old-space-size=${heap}`],
      env: this.instanceEnv(seq, slot),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const pid = proc.pid ?? -1;
    const inst: Instance = {
      seq,
      id: `local-${seq}-pid${pid}`,
      slot,
      proc,
      pid,
      busy: false,
      invocations: 0,
      initMs: 0,
      codeMs: 0,
      spawnedAt,
      prestarted,
      stderrTail: '',
      dead: false,
      ready: Promise.resolve(0),
    };
    this.counters.instancesStarted++;
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      inst.stderrTail = (inst.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    });
    inst.ready = new Promise<number>((resolve, reject) => {
      const startTimer = setTimeout(() => {
        if (inst.current) inst.current.killedFor = 'timeout';
        this.kill(inst);
        reject(new InvocationError(TIMEOUT_ERROR, `instance ${inst.id} did not start within ${this.config.timeoutS} s`));
      }, this.config.timeoutS * 1000);
      const onMessage = (m: FromInstance): void => {
        if (m.type === 'ready') {
          clearTimeout(startTimer);
          inst.readyAt = performance.now();
          inst.initMs = inst.readyAt - inst.spawnedAt;
          inst.codeMs = Math.max(0, Math.min(inst.initMs, m.initMs - m.bootMs));
          resolve(inst.initMs);
        }
      };
      proc.on('message', onMessage);
      proc.once('exit', (code, signal) => {
        clearTimeout(startTimer);
        reject(new InvocationError(CRASH_ERROR, `instance ${inst.id} exited during start-up (${exitText(code, signal)})${lastLine(inst.stderrTail)}`));
      });
    });
    inst.ready.catch(() => undefined);
    proc.on('message', (m: FromInstance) => this.onMessage(inst, m));
    proc.once('exit', (code, signal) => this.onExit(inst, code, signal));
    proc.on('error', () => undefined);
    this.instances.add(inst);
    if (pid > 0) {
      inst.watchdog = setInterval(() => this.checkMemory(inst), this.config.watchdogIntervalMs);
      inst.watchdog.unref();
    }
    return inst;
  }

  private instanceEnv(seq: number, slot: number): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...(this.config.env ?? process.env), CAI_INSTANCE_SEQ: String(seq), CAI_INSTANCE_SLOT: String(slot) };
    // The handler is this pool's choice, never one inherited from the parent's environment.
    delete env.CAI_WORKER_HANDLER;
    if (this.config.handler) env.CAI_WORKER_HANDLER = `${this.config.handler.module}#${this.config.handler.name}`;
    return env;
  }

  private dispatch(inst: Instance, payload: unknown, opts: InvokeOptions): Promise<unknown> {
    const id = this.nextInvocation++;
    inst.invocations++;
    const cold = inst.invocations === 1;
    const start: InvocationStart = { invocationId: id, instanceId: inst.id, pid: inst.pid, cold, ...(opts.label !== undefined ? { label: opts.label } : {}), ...(opts.task !== undefined ? { task: opts.task } : {}) };
    this.counters.invocations++;
    if (cold) this.counters.coldStarts++;
    this.running++;
    this.counters.peakRunning = Math.max(this.counters.peakRunning, this.running);
    return new Promise((resolve, reject) => {
      const dispatchedAt = performance.now();
      const run: Running = { id, start, t0: dispatchedAt, opts, resolve, reject, settled: false };
      inst.current = run;
      for (const l of this.startListeners) l(start);
      // A failed start-up ends the invocation through onExit (the process is gone by then).
      inst.ready.then(
        (initMs) => {
          if (run.settled) return;
          const startup: InstanceStartup = {
            processMs: inst.initMs - inst.codeMs,
            codeMs: inst.codeMs,
            waitedMs: Math.max(0, (inst.readyAt ?? dispatchedAt) - Math.max(dispatchedAt, inst.spawnedAt)),
            prestarted: inst.prestarted,
          };
          const info: InstanceInfo = {
            id: inst.id,
            invocation: inst.invocations,
            cold,
            initMs: cold ? initMs : 0,
            ...(cold ? { startup } : {}),
            slot: inst.slot,
            memoryLimitMb: this.config.memoryMb,
            deadline: Date.now() + this.config.timeoutS * 1000,
          };
          // Like Lambda, the timeout covers the handler, not the instance's start-up.
          run.timer = setTimeout(() => {
            run.killedFor = 'timeout';
            this.kill(inst);
          }, this.config.timeoutS * 1000);
          const msg: ToInstance = { type: 'invoke', id, task: opts.task ?? 'rank', payload, instance: info };
          inst.proc.send(msg, (err) => {
            if (err && !run.settled) this.finish(inst, run, 'crash', new InvocationError(CRASH_ERROR, `could not reach instance ${inst.id} (${err.message})`));
          });
        },
        () => undefined,
      );
    });
  }

  private onMessage(inst: Instance, m: FromInstance): void {
    const run = inst.current;
    if (!run || m.type === 'ready' || m.id !== run.id) return;
    if (m.type === 'progress') {
      run.opts.onProgress?.(m.data);
    } else if (m.type === 'result') {
      this.finish(inst, run, 'ok', undefined, m.value, m.maxRssBytes);
    } else if (m.type === 'error') {
      this.finish(inst, run, 'error', new InvocationError(m.errorType, m.message), undefined, m.maxRssBytes);
    }
  }

  private onExit(inst: Instance, code: number | null, signal: NodeJS.Signals | null): void {
    inst.dead = true;
    this.slots.delete(inst.slot);
    if (inst.watchdog) clearInterval(inst.watchdog);
    const run = inst.current;
    if (run && !run.settled) {
      const what = run.opts.label ? `${run.opts.label}: ` : '';
      if (run.killedFor === 'timeout') {
        this.finish(inst, run, 'timeout', new InvocationError(TIMEOUT_ERROR, `${what}timed out after ${this.config.timeoutS} s; instance ${inst.id} was stopped`));
      } else if (run.killedFor === 'memory' || /heap out of memory|Reached heap limit/.test(inst.stderrTail)) {
        this.finish(inst, run, 'memory', new InvocationError(MEMORY_ERROR, `${what}instance ${inst.id} exceeded its ${this.config.memoryMb} MB memory limit and was stopped`));
      } else {
        this.finish(inst, run, 'crash', new InvocationError(CRASH_ERROR, `${what}instance ${inst.id} exited unexpectedly (${exitText(code, signal)})${lastLine(inst.stderrTail)}`));
      }
    } else if (!inst.busy) {
      this.instances.delete(inst);
    }
  }

  private finish(inst: Instance, run: Running, outcome: InvocationOutcome, err?: Error, value?: unknown, maxRssBytes?: number): void {
    if (run.settled) return;
    run.settled = true;
    if (run.timer) clearTimeout(run.timer);
    this.running--;
    const peak = maxRssBytes ?? (inst.dead ? undefined : procMemory(inst.pid)?.hwm);
    const end: InvocationEnd = {
      ...run.start,
      durationMs: performance.now() - run.t0,
      outcome,
      ...(err ? { errorType: err.name } : {}),
      ...(peak !== undefined ? { peakRssMb: peak / MIB } : {}),
    };
    if (outcome === 'crash') this.counters.crashes++;
    else if (outcome === 'timeout') this.counters.timeouts++;
    else if (outcome === 'memory') this.counters.memoryKills++;
    else if (outcome === 'error') this.counters.errors++;
    this.records.push(end);
    for (const l of this.endListeners) l(end);
    // A killed instance is replaced lazily: the next invocation starts a fresh (cold) one.
    this.release(inst);
    if (err) run.reject(err);
    else run.resolve(value);
  }

  private checkMemory(inst: Instance): void {
    if (inst.dead) return;
    const mem = procMemory(inst.pid);
    if (mem && mem.rss > this.config.memoryMb * MIB) {
      if (inst.current) inst.current.killedFor = 'memory';
      this.kill(inst);
    }
  }

  private kill(inst: Instance): void {
    if (inst.dead) return;
    try {
      inst.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Stop every instance; waiting callers are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(new Error('the worker pool is closed'));
    const exits: Promise<void>[] = [];
    for (const inst of this.instances) {
      if (inst.watchdog) clearInterval(inst.watchdog);
      if (inst.dead || inst.proc.exitCode !== null || inst.proc.signalCode !== null) continue;
      exits.push(
        new Promise<void>((resolve) => {
          const force = setTimeout(() => this.kill(inst), 2000);
          inst.proc.once('exit', () => {
            clearTimeout(force);
            resolve();
          });
          // Closing the channel lets an idle instance exit on its own; a busy one is stopped.
          if (inst.busy) this.kill(inst);
          else if (inst.proc.connected) inst.proc.disconnect();
          else this.kill(inst);
        }),
      );
    }
    await Promise.all(exits);
    this.instances.clear();
    this.slots.clear();
  }
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

function exitText(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

function lastLine(tail: string): string {
  const line = tail
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
  return line ? `: ${line.slice(0, 300)}` : '';
}
