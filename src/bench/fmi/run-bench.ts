// The FMI channel benchmark coordinator. For every world size it starts worker processes that host the
// ranks (one rank per process up to maxProcs processes, then blocks of ranks per process), waits until
// every endpoint is connected, starts them together, and turns the ranks' durations into median and p95
// latency per (operation, world size, bytes). The channel's backend starts the services the channel needs
// (a private server on loopback unless the settings name one) and stops them.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CaiError, ExitCode, UsageError } from '../../errors.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../fmi/channel.js';
import { channelBackend, type RunServices } from '../../fmi/channels/index.js';
import type { BenchChannel, BenchJob, BenchOp, BenchStep, FromWorker, ToWorker } from './job.js';
import { median, perRunMax, quantile } from './stats.js';

export interface FmiBenchOptions {
  channel: BenchChannel;
  worldSizes: readonly number[];
  ops: readonly BenchOp[];
  bytes: readonly number[];
  runs: number;
  warmup: number;
  /** Most worker processes per world; larger worlds put several ranks in each. */
  maxProcs: number;
  /** Limit for one operation. */
  timeoutMs: number;
  /**
   * The channel's settings, checked by its backend (channels/<kind>/index.ts): a server to use instead of
   * a private one on loopback (a Redis URL, an S3 endpoint and bucket) and how to use it.
   */
  settings?: unknown;
  progress?: (text: string) => void;
}

/** One line of results: the shape `cai fmi bench --json` prints. */
export interface BenchRecord {
  channel: BenchChannel;
  op: BenchOp;
  world_size: number;
  bytes: number;
  median_ms: number;
  p95_ms: number;
  runs: number;
}

export interface BenchEnvironment {
  channel: BenchChannel;
  cpus: number;
  node: string;
  platform: string;
  services: string[];
  /** Worker processes used per world size. */
  processes: Record<string, number>;
  runs: number;
  warmup: number;
}

export interface FmiBenchResult {
  records: BenchRecord[];
  environment: BenchEnvironment;
}

/** Steps for the ranks: barrier once (it carries no data), every other op once per size. */
export function benchPlan(ops: readonly BenchOp[], bytes: readonly number[]): BenchStep[] {
  const plan: BenchStep[] = [];
  for (const op of ops) {
    if (op === 'barrier') plan.push({ op, bytes: 0 });
    else for (const b of bytes) plan.push({ op, bytes: b });
  }
  return plan;
}

/** Split `n` ranks into `procs` contiguous blocks of nearly equal size. */
export function rankBlocks(n: number, procs: number): [number, number][] {
  const p = Math.max(1, Math.min(n, procs));
  const blocks: [number, number][] = [];
  for (let i = 0; i < p; i++) blocks.push([Math.floor((i * n) / p), Math.floor(((i + 1) * n) / p)]);
  return blocks;
}

export async function runFmiBench(options: FmiBenchOptions): Promise<FmiBenchResult> {
  validate(options);
  const progress = options.progress ?? (() => {});
  const secret = randomBytes(24).toString('hex');
  let services: RunServices | undefined;
  const records: BenchRecord[] = [];
  const cpus = availableParallelism();
  const environment: BenchEnvironment = {
    channel: options.channel,
    cpus,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    services: [],
    processes: {},
    runs: options.runs,
    warmup: options.warmup,
  };
  try {
    progress(`starting what the ${options.channel} channel needs`);
    services = await (await channelBackend(options.channel)).startServices({ secret, settings: options.settings, local: true });
    environment.services = [services.describe];
    const plan = benchPlan(options.ops, options.bytes);
    for (const n of options.worldSizes) {
      const blocks = rankBlocks(n, options.maxProcs);
      environment.processes[String(n)] = blocks.length;
      const perRank = await runWorld(options, services.endpoint, secret, n, blocks, plan, cpus, progress);
      plan.forEach((step, s) => {
        const samples = perRunMax(perRank.map((d) => d[s]!));
        records.push({
          channel: options.channel,
          op: step.op,
          world_size: n,
          bytes: step.bytes,
          median_ms: round3(median(samples)),
          p95_ms: round3(quantile(samples, 0.95)),
          runs: samples.length,
        });
      });
    }
  } finally {
    await services?.stop().catch(() => undefined);
  }
  return { records, environment };
}

function validate(o: FmiBenchOptions): void {
  if (o.worldSizes.length === 0 || o.worldSizes.some((n) => !Number.isSafeInteger(n) || n < 1 || n > 4096)) throw new UsageError('--world-sizes must be integers in 1..4096');
  if (o.ops.length === 0) throw new UsageError('--ops must name at least one operation');
  if (o.bytes.some((b) => !Number.isSafeInteger(b) || b < 0 || b > 64 * 1024 * 1024)) throw new UsageError('--bytes must be integers in 0..67108864');
  if (!Number.isSafeInteger(o.runs) || o.runs < 1) throw new UsageError('--runs must be a positive integer');
  if (!Number.isSafeInteger(o.warmup) || o.warmup < 0) throw new UsageError('--warmup must be a non-negative integer');
  if (!Number.isSafeInteger(o.maxProcs) || o.maxProcs < 1) throw new UsageError('--max-procs must be a positive integer');
  if (!(o.timeoutMs > 0)) throw new UsageError('--timeout-ms must be positive');
}

/** The worker entry next to this module: .ts under tsx, .js once built. */
function workerEntry(): { path: string; execArgv: string[] } {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) return { path: self.replace(/run-bench\.ts$/, 'rank-worker.ts'), execArgv: ['--import', 'tsx'] };
  return { path: self.replace(/run-bench\.js$/, 'rank-worker.js'), execArgv: [] };
}

class Worker {
  readonly proc: ChildProcess;
  private readonly inbox: FromWorker[] = [];
  private waiting: ((m: FromWorker) => void) | undefined;
  private stderr = '';
  exited = false;

  constructor(entry: { path: string; execArgv: string[] }) {
    this.proc = fork(entry.path, [], { execArgv: entry.execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    this.proc.on('message', (m: FromWorker) => this.push(m));
    // A write to a worker that just died (EPIPE) shows up as its exit; nothing more to do here.
    this.proc.on('error', () => undefined);
    this.proc.on('exit', (code, signal) => {
      this.exited = true;
      const last = this.stderr.trim().split('\n').filter(Boolean).pop();
      this.push({ type: 'error', message: `worker process exited (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`, exitCode: ExitCode.internal });
    });
  }

  post(msg: ToWorker): void {
    if (!this.exited && this.proc.connected) this.proc.send(msg);
  }

  /** The next message; an 'error' message rejects. */
  async next(): Promise<FromWorker> {
    const m = this.inbox.shift() ?? (await new Promise<FromWorker>((resolve) => (this.waiting = resolve)));
    if (m.type === 'error') throw new CaiError(m.message, m.exitCode as ExitCode);
    return m;
  }

  private push(m: FromWorker): void {
    const w = this.waiting;
    this.waiting = undefined;
    if (w) w(m);
    else this.inbox.push(m);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    this.post({ type: 'close' });
    await gone;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }
}

async function runWorld(
  o: FmiBenchOptions,
  endpoint: unknown,
  secret: string,
  n: number,
  blocks: [number, number][],
  plan: BenchStep[],
  cpus: number,
  progress: (t: string) => void,
): Promise<number[][][]> {
  const entry = workerEntry();
  const runId = `w${n}-${randomBytes(4).toString('hex')}`;
  progress(`world ${n}: starting ${blocks.length} worker process${blocks.length === 1 ? '' : 'es'}`);
  const workers = blocks.map(() => new Worker(entry));
  // The first failure stops everything: the other ranks would only wait for their deadlines.
  const firstFailure = <T>(ps: Promise<T>[]): Promise<T[]> =>
    Promise.all(ps).catch((err) => {
      for (const w of workers) w.kill();
      throw err;
    });
  try {
    blocks.forEach(([first, end], i) => {
      const job: BenchJob = {
        channel: o.channel,
        communicator: 'fmi-bench',
        runId,
        secret,
        worldSize: n,
        firstRank: first,
        endRank: end,
        plan,
        runs: o.runs,
        warmup: o.warmup,
        timeoutMs: o.timeoutMs,
        ranksPerCore: Math.max(1, n / cpus),
        maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
        endpoint,
      };
      workers[i]!.post({ type: 'job', job });
    });
    await firstFailure(workers.map((w) => expect(w, 'ready')));
    progress(`world ${n}: ${plan.length} measurement${plan.length === 1 ? '' : 's'} x ${o.warmup + o.runs} runs`);
    for (const w of workers) w.post({ type: 'go' });
    const results = await firstFailure(workers.map((w) => expect(w, 'result')));
    const perRank: number[][][] = new Array(n);
    for (const r of results) if (r.type === 'result') for (const { rank, durations } of r.ranks) perRank[rank] = durations;
    if (perRank.some((d) => !d) || perRank.length !== n) throw new CaiError(`world ${n}: some ranks reported no durations`);
    return perRank;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

async function expect(w: Worker, type: FromWorker['type']): Promise<FromWorker> {
  const m = await w.next();
  if (m.type !== type) throw new CaiError(`bench worker sent "${m.type}" where "${type}" was expected`);
  return m;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
