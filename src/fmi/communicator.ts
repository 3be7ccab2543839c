// MPI-style operations for one rank of a communicator, over any Channel. Every operation is bounded by a
// deadline and tagged with the communicator's operation sequence number, so consecutive collectives never
// mix frames and a lost peer surfaces as FmiDeadlineError naming it instead of a hang.
import { UsageError } from '../errors.js';
import { MAX_WORLD_SIZE, type Absence, type Channel } from './channel.js';
import { cloneValue, decodeValue, encodeValue, type FmiValue } from './codec.js';
import { FmiDeadlineError } from './errors.js';
import { resolveOp, type ReduceOp, type ResolvedOp } from './ops.js';
import { bruckAllgather, gatherBcastAllgather } from './collectives/allgather.js';
import { recursiveDoublingAllreduce, reduceBcastAllreduce } from './collectives/allreduce.js';
import { disseminationBarrier, treeBarrier } from './collectives/barrier.js';
import { binomialBcast } from './collectives/bcast.js';
import { Ctx, pointToPointTag } from './collectives/context.js';
import { binomialGather, binomialScatter } from './collectives/gather.js';
import { binomialReduce, gatherFoldReduce } from './collectives/reduce.js';
import { hillisSteeleScan, linearScan, treeScan } from './collectives/scan.js';
import { ALGORITHMS, allowedAlgorithms, selectAlgorithm, type CollectiveOp, type SelectOptions } from './collectives/select.js';
import { resolveBlame } from './collectives/blame.js';
import { partnersOf } from './collectives/partners.js';

export interface CommunicatorOptions extends Pick<SelectOptions, 'ranksPerCore' | 'latencyUs' | 'perMessageUs'> {
  /** Communicator name, used in messages. Default "world". */
  name?: string;
  /** Default time limit for one operation, in milliseconds. Default 60000. */
  timeoutMs?: number;
  /** Force an algorithm per operation (must agree on every rank); otherwise the cost model picks. */
  algorithms?: Partial<Record<CollectiveOp, string>>;
}

export interface OpOptions {
  /** Time limit for this operation in milliseconds (overrides the communicator default). */
  timeoutMs?: number;
  /** Absolute deadline (Date.now() milliseconds); wins over timeoutMs. */
  deadline?: number;
  /** Force the algorithm for this call (must agree on every rank). */
  algorithm?: string;
}

export interface P2POptions extends Omit<OpOptions, 'algorithm'> {
  /** Matches sends to receives between one pair of ranks; 0 by default. */
  tag?: number;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
/** Share of an operation's time limit (at most MAX_BLAME_MS) kept for naming the missing rank on timeout:
 *  time for the channel to say who is absent, or else for the ranks to tell each other whom they waited for. */
const BLAME_SHARE = 0.2;
const MAX_BLAME_MS = 2000;
const MAX_USER_TAG = 2 ** 40;
export { MAX_WORLD_SIZE };

export class Communicator {
  readonly rank: number;
  readonly size: number;
  readonly name: string;
  private seq = 0;
  private readonly timeoutMs: number;
  private readonly selectOptions: SelectOptions;
  private readonly forced: Partial<Record<CollectiveOp, string>>;

  constructor(
    readonly channel: Channel,
    options: CommunicatorOptions = {},
  ) {
    this.rank = channel.rank;
    this.size = channel.worldSize;
    if (!Number.isInteger(this.size) || this.size < 1 || this.size > MAX_WORLD_SIZE) throw new UsageError(`world size must be 1..${MAX_WORLD_SIZE}, got ${this.size}`);
    this.name = options.name ?? 'world';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new UsageError(`timeoutMs must be positive, got ${options.timeoutMs}`);
    this.selectOptions = { ranksPerCore: options.ranksPerCore, latencyUs: options.latencyUs, perMessageUs: options.perMessageUs };
    this.forced = { ...options.algorithms };
    for (const [op, alg] of Object.entries(this.forced)) if (alg) checkKnown(op as CollectiveOp, alg);
  }

  /** Number of collective operations started so far (the next one's tag sequence is this + 1). */
  get operations(): number {
    return this.seq;
  }

  // ---- point to point ----

  async send(value: FmiValue, dest: number, options: P2POptions = {}): Promise<void> {
    this.checkRank(dest, 'send to');
    const deadline = this.deadline(options);
    await this.guard('send', () => this.channel.send(dest, pointToPointTag(userTag(options.tag)), encodeValue(value), deadline));
  }

  async recv<T extends FmiValue = FmiValue>(source: number, options: P2POptions = {}): Promise<T> {
    this.checkRank(source, 'receive from');
    const deadline = this.deadline(options);
    const bytes = await this.guard('recv', () => this.channel.recv(source, pointToPointTag(userTag(options.tag)), deadline));
    return decodeValue(bytes, `frame from rank ${source}`) as T;
  }

  // ---- collectives ----

  /** Every rank returns the root's value. */
  async bcast<T extends FmiValue>(value: T | undefined, root: number, options: OpOptions = {}): Promise<T> {
    this.checkRank(root, 'broadcast from');
    return this.collective('bcast', options, { root }, async (ctx) => {
      if (this.rank === root && value === undefined) throw new UsageError(`bcast: root ${root} has no value`);
      const bytes = await binomialBcast(ctx, this.rank === root ? encodeValue(value!) : undefined, root, 0);
      return (this.rank === root ? cloneValue(value!) : decodeValue(bytes, 'bcast frame')) as T;
    });
  }

  async barrier(options: OpOptions = {}): Promise<void> {
    await this.collective('barrier', options, {}, (ctx, alg) => (alg === 'tree' ? treeBarrier(ctx, 0) : disseminationBarrier(ctx, 0)));
  }

  /** The root gets every rank's value, indexed by rank; other ranks get undefined. */
  async gather<T extends FmiValue>(value: T, root: number, options: OpOptions = {}): Promise<T[] | undefined> {
    this.checkRank(root, 'gather to');
    return this.collective('gather', options, { root }, async (ctx) => {
      const items = await binomialGather(ctx, encodeValue(value), root, 0);
      return items?.map((b, r) => (r === this.rank ? cloneValue(value) : (decodeValue(b, `gather item ${r}`) as T)));
    });
  }

  /** Every rank gets every rank's value, indexed by rank. */
  async allgather<T extends FmiValue>(value: T, options: OpOptions = {}): Promise<T[]> {
    return this.collective('allgather', options, {}, async (ctx, alg) => {
      const bytes = encodeValue(value);
      const items = alg === 'gather-bcast' ? await gatherBcastAllgather(ctx, bytes, 0) : await bruckAllgather(ctx, bytes, 0);
      return items.map((b, r) => (r === this.rank ? cloneValue(value) : (decodeValue(b, `allgather item ${r}`) as T)));
    });
  }

  /** Rank r gets the root's values[r]. Other ranks pass undefined. */
  async scatter<T extends FmiValue>(values: readonly T[] | undefined, root: number, options: OpOptions = {}): Promise<T> {
    this.checkRank(root, 'scatter from');
    return this.collective('scatter', options, { root }, async (ctx) => {
      if (this.rank === root && (!values || values.length !== this.size)) throw new UsageError(`scatter: root ${root} needs ${this.size} values, got ${values?.length ?? 0}`);
      const bytes = await binomialScatter(ctx, this.rank === root ? values!.map((v) => encodeValue(v)) : undefined, root, 0);
      return (this.rank === root ? cloneValue(values![root]) : decodeValue(bytes, 'scatter frame')) as T;
    });
  }

  /** The root gets value_0 · value_1 · … · value_{n-1} (in rank order); other ranks get undefined. */
  async reduce<T extends FmiValue>(value: T, op: ReduceOp<T>, root: number, options: OpOptions = {}): Promise<T | undefined> {
    this.checkRank(root, 'reduce to');
    const rop = resolveOp(op as ReduceOp);
    return this.collective('reduce', options, { rop, root }, async (ctx, alg) =>
      own(value, (await (alg === 'gather-fold' ? gatherFoldReduce : binomialReduce)(ctx, value, rop, root, 0)) as T | undefined),
    );
  }

  /** Every rank gets value_0 · value_1 · … · value_{n-1}. */
  async allreduce<T extends FmiValue>(value: T, op: ReduceOp<T>, options: OpOptions = {}): Promise<T> {
    const rop = resolveOp(op as ReduceOp);
    return this.collective('allreduce', options, { rop }, async (ctx, alg) =>
      own(value, (await (alg === 'recursive-doubling' ? recursiveDoublingAllreduce : reduceBcastAllreduce)(ctx, value, rop, 0)) as T),
    );
  }

  /** Inclusive prefix: rank r gets value_0 · … · value_r. */
  async scan<T extends FmiValue>(value: T, op: ReduceOp<T>, options: OpOptions = {}): Promise<T> {
    const rop = resolveOp(op as ReduceOp);
    return this.collective('scan', options, { rop }, async (ctx, alg) => {
      const run = alg === 'linear' ? linearScan : alg === 'tree' ? treeScan : hillisSteeleScan;
      return own(value, (await run(ctx, value, rop, 0)) as T);
    });
  }

  /** The algorithm this communicator would use for `op` (same answer on every rank). */
  algorithmFor(op: CollectiveOp, reduction?: ReduceOp<any>, override?: string): string {
    const rop = reduction === undefined ? undefined : resolveOp(reduction);
    return this.pick(op, rop, override);
  }

  async close(): Promise<void> {
    await this.channel.close();
  }

  // ---- plumbing ----

  private pick(op: CollectiveOp, rop: ResolvedOp | undefined, override: string | undefined): string {
    const associative = rop?.associative ?? true;
    const commutative = rop?.commutative ?? true;
    if (override) checkKnown(op, override);
    const wanted = override ?? this.forced[op];
    if (wanted && allowedAlgorithms(op, associative, commutative).includes(wanted)) return wanted;
    // A forced choice the operator cannot use correctly (e.g. recursive doubling for a non-associative
    // operator) falls back to the model: correctness first.
    return selectAlgorithm(op, this.size, { ...this.selectOptions, associative, commutative }).algorithm;
  }

  private async collective<R>(op: CollectiveOp, options: OpOptions, meta: { rop?: ResolvedOp; root?: number }, run: (ctx: Ctx, algorithm: string) => Promise<R>): Promise<R> {
    const { rop, root = 0 } = meta;
    const deadline = this.deadline(options);
    const algorithm = this.pick(op, rop, options.algorithm);
    // The last part of the time limit is kept for finding out whom to blame if the operation stalls.
    const grace = Math.min(MAX_BLAME_MS, Math.floor(Math.max(0, deadline - Date.now()) * BLAME_SHARE));
    const ctx = new Ctx(this.channel, ++this.seq, deadline - grace);
    try {
      return await run(ctx, algorithm);
    } catch (err) {
      if (!(err instanceof FmiDeadlineError)) throw err;
      const what = `fmi ${op} #${ctx.seq} on rank ${this.rank}/${this.size} of "${this.name}"`;
      if (err.ranks.length === 0) throw new FmiDeadlineError(what, err.ranks);
      // Joining is explicit on every channel, so the channel knows who never joined or has left: those are
      // the ranks to name, whichever rank this one happened to wait on.
      const absent = await absentBy(this.channel, deadline);
      if (absent && absent.size > 0) throw new FmiDeadlineError(what, [...absent.keys()], [], { waitedOn: err.ranks, absence: absent, early: err.early });
      if (this.size < 3 || grace <= 0) throw new FmiDeadlineError(what, err.ranks);
      // Everyone is present, so someone is stuck: ask the partners whom they waited for (best effort).
      const partners = partnersOf(op, algorithm, this.rank, this.size, root, rop?.commutative ?? true);
      const blamed = await resolveBlame(this.channel, ctx.seq, partners, err.ranks, deadline);
      throw new FmiDeadlineError(what, blamed, [], { waitedOn: err.ranks });
    }
  }

  /** Rewrites deadline errors so they say which operation on which rank timed out. */
  private async guard<R>(what: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof FmiDeadlineError) throw new FmiDeadlineError(`fmi ${what} on rank ${this.rank}/${this.size} of "${this.name}"`, err.ranks, [], { absence: err.absence, early: err.early });
      throw err;
    }
  }

  private deadline(options: OpOptions): number {
    if (options.deadline !== undefined) return options.deadline;
    const t = options.timeoutMs ?? this.timeoutMs;
    if (!(t > 0)) throw new UsageError(`timeoutMs must be positive, got ${t}`);
    return Date.now() + t;
  }

  private checkRank(r: number, what: string): void {
    if (!Number.isInteger(r) || r < 0 || r >= this.size) throw new UsageError(`cannot ${what} rank ${r}: "${this.name}" has ranks 0..${this.size - 1}`);
  }
}

/** The channel's absent ranks, by `deadline` at the latest; undefined when it cannot tell in time. */
async function absentBy(channel: Channel, deadline: number): Promise<ReadonlyMap<number, Absence> | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([channel.absentRanks(deadline).catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

function checkKnown(op: CollectiveOp, alg: string): void {
  const known = ALGORITHMS[op] as readonly string[] | undefined;
  if (!known) throw new UsageError(`unknown collective "${op}"; choose one of ${Object.keys(ALGORITHMS).join(', ')}`);
  if (!known.includes(alg)) throw new UsageError(`unknown algorithm "${alg}" for ${op}; choose one of ${known.join(', ')}`);
}

function userTag(tag: number | undefined): number {
  const t = tag ?? 0;
  if (!Number.isInteger(t) || t < 0 || t >= MAX_USER_TAG) throw new UsageError(`tag must be an integer in 0..2^40-1, got ${tag}`);
  return t;
}

/** Results never alias the caller's input (a one-rank world would otherwise hand the input back). */
function own<T extends FmiValue>(input: T, result: T): T;
function own<T extends FmiValue>(input: T, result: T | undefined): T | undefined;
function own<T extends FmiValue>(input: T, result: T | undefined): T | undefined {
  return result === input ? cloneValue(result) : result;
}
