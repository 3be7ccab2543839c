// Channel conformance: any Channel implementation must make every collective equal a sequential reference
// computed here independently, for random world sizes, roots, data, operators and algorithms, and must name
// a rank that never joined, on every rank that waits for it. Channels call
// `runChannelConformance('name', makeWorld, options)` from their own test file. Time limits scale with
// CAI_TEST_TIME_SCALE (test/support/time-scale.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Absence, Channel } from '../../../src/fmi/channel.js';
import { Communicator } from '../../../src/fmi/communicator.js';
import type { FmiArray, FmiValue } from '../../../src/fmi/codec.js';
import { FmiDeadlineError } from '../../../src/fmi/errors.js';
import { ALGORITHMS, allowedAlgorithms, type CollectiveOp } from '../../../src/fmi/collectives/select.js';
import type { ReduceOp, UserOp } from '../../../src/fmi/ops.js';
import { scaled } from '../../support/time-scale.js';

export interface ConformanceOptions {
  /** Largest world size tried (default 65; smaller for slow channels). */
  maxWorldSize?: number;
  /** Random worlds per property (default 12). */
  numRuns?: number;
  /** Operations per world (default up to 8). */
  maxOps?: number;
  /** Per-operation time limit in ms (default 20000, scaled). */
  timeoutMs?: number;
  /** Largest frame in the ordering test (default 1 MiB). */
  largeFrameBytes?: number;
  /**
   * Releases a world (default: close every channel). `absent` lists ranks that never joined: frames
   * addressed to them stay until the run is removed, and only those.
   */
  teardown?: (channels: Channel[], absent: readonly number[]) => Promise<void>;
  /** Fixed fast-check seed, to reproduce a failure. */
  seed?: number;
  /** Skip the deadline test. */
  skipDeadline?: boolean;
  /** Per-operation limit in the deadline test (default: 40 measured round trips, 2 s to 10 s; scaled).
   *  A fifth of it (at most 2 s) is where the ranks ask the channel who is absent. */
  deadlineTimeoutMs?: number;
  /**
   * The ranks of a world of `worldSize` except `absent`, in rank order: the absent ones never join. Default:
   * open the whole world and close the absent ranks at once (they join, then leave before anything), for
   * channels where a world cannot form without every rank (tcp's rendezvous).
   */
  makeWorldWithout?: (worldSize: number, absent: readonly number[]) => Promise<Channel[]>;
}

type Dtype = 'number' | 'f64' | 'f32' | 'i32' | 'i64' | 'u8';
type OpName = 'sum' | 'prod' | 'min' | 'max' | 'matmul7' | 'xor' | 'affine';
type Step =
  | { kind: 'bcast' | 'gather' | 'scatter'; root: number; dtype: Dtype; alg: number }
  | { kind: 'allgather' | 'barrier'; dtype: Dtype; alg: number }
  | { kind: 'reduce'; root: number; dtype: Dtype; op: OpName; len: number; alg: number }
  | { kind: 'allreduce' | 'scan'; dtype: Dtype; op: OpName; len: number; alg: number }
  | { kind: 'shift'; shift: number; tag: number; dtype: Dtype };

// ---- deterministic data ----

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values chosen so every reduction is exact in any grouping: small integers, products of ±1 and ±2. */
function makeValue(rand: () => number, dtype: Dtype, len: number, op?: OpName): FmiValue {
  const pick = (): number => {
    if (op === 'prod') return [-2, -1, 1, 2][Math.floor(rand() * 4)];
    if (op === 'matmul7' || op === 'affine') return Math.floor(rand() * 7);
    return Math.floor(rand() * 2001) - 1000;
  };
  switch (dtype) {
    case 'number':
      return pick();
    case 'f64':
      return Float64Array.from({ length: len }, pick);
    case 'f32':
      return Float32Array.from({ length: len }, pick);
    case 'i32':
      return Int32Array.from({ length: len }, pick);
    case 'i64':
      return BigInt64Array.from({ length: len }, () => BigInt(pick()));
    case 'u8':
      return Uint8Array.from({ length: len }, () => pick() & 0xff);
  }
}

// ---- operators, with an independent reference implementation ----

/** 2x2 matrices mod 7 (row-major in 4 elements): associative, not commutative. */
const matmul7: UserOp<Float64Array> = {
  name: 'matmul7',
  associative: true,
  commutative: false,
  fn: (a, b) => Float64Array.from([(a[0] * b[0] + a[1] * b[2]) % 7, (a[0] * b[1] + a[1] * b[3]) % 7, (a[2] * b[0] + a[3] * b[2]) % 7, (a[2] * b[1] + a[3] * b[3]) % 7]),
};
/** Element-wise xor of Int32 arrays: associative and commutative. */
const xor: UserOp<Int32Array> = { name: 'xor', associative: true, commutative: true, fn: (a, b) => a.map((x, i) => x ^ b[i]) };
/** 2a + b mod 1000003 on numbers: neither associative nor commutative, so only a left-to-right fold is right. */
const affine: UserOp<number> = { name: 'affine', associative: false, commutative: false, fn: (a, b) => (2 * a + b) % 1000003 };

function opFor(name: OpName): ReduceOp<any> {
  if (name === 'matmul7') return matmul7;
  if (name === 'xor') return xor;
  if (name === 'affine') return affine;
  return name;
}

function refScalar(op: OpName, a: any, b: any): any {
  switch (op) {
    case 'sum':
      return a + b;
    case 'prod':
      return a * b;
    case 'min':
      return a < b ? a : b;
    case 'max':
      return a > b ? a : b;
    case 'xor':
      return a ^ b;
    case 'affine':
      return (2 * a + b) % 1000003;
  }
  throw new Error(op);
}

function refCombine(op: OpName, a: FmiValue, b: FmiValue): FmiValue {
  if (op === 'matmul7') return matmul7.fn(a as Float64Array, b as Float64Array);
  if (typeof a === 'number' || typeof a === 'bigint') return refScalar(op, a, b);
  const x = a as FmiArray;
  const y = b as FmiArray;
  const out = new (x.constructor as any)(x.length) as FmiArray;
  for (let i = 0; i < x.length; i++) {
    if (x instanceof BigInt64Array) (out as BigInt64Array)[i] = refScalar(op, x[i], (y as BigInt64Array)[i]);
    else if (x instanceof Int32Array && op === 'prod') (out as Int32Array)[i] = Number(BigInt.asIntN(32, BigInt(x[i]) * BigInt((y as Int32Array)[i])));
    else (out as Float64Array)[i] = refScalar(op, x[i] as number, (y as Float64Array)[i]);
  }
  return out;
}

function refFold(op: OpName, values: FmiValue[]): FmiValue {
  let acc = values[0];
  for (let i = 1; i < values.length; i++) acc = refCombine(op, acc, values[i]);
  return acc;
}

// ---- programs ----

const dtypeFor = (op: OpName, dtype: Dtype): Dtype => (op === 'matmul7' ? 'f64' : op === 'xor' ? 'i32' : op === 'affine' ? 'number' : dtype);
const lenFor = (op: OpName, len: number): number => (op === 'matmul7' ? 4 : len);

const dtypeArb = fc.constantFrom<Dtype>('number', 'f64', 'f32', 'i32', 'i64', 'u8');
const opArb = fc.constantFrom<OpName>('sum', 'prod', 'min', 'max', 'matmul7', 'xor', 'affine');
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constantFrom('bcast' as const, 'gather' as const, 'scatter' as const), root: fc.nat(), dtype: dtypeArb, alg: fc.nat() }),
  fc.record({ kind: fc.constantFrom('allgather' as const, 'barrier' as const), dtype: dtypeArb, alg: fc.nat() }),
  fc.record({ kind: fc.constant('reduce' as const), root: fc.nat(), dtype: dtypeArb, op: opArb, len: fc.integer({ min: 0, max: 9 }), alg: fc.nat() }),
  fc.record({ kind: fc.constantFrom('allreduce' as const, 'scan' as const), dtype: dtypeArb, op: opArb, len: fc.integer({ min: 0, max: 9 }), alg: fc.nat() }),
  fc.record({ kind: fc.constant('shift' as const), shift: fc.nat(), tag: fc.integer({ min: 0, max: 1000 }), dtype: dtypeArb }),
);

function algorithmOf(step: Step): string | undefined {
  if (step.kind === 'shift') return undefined;
  const kind = step.kind as CollectiveOp;
  let allowed: readonly string[] = ALGORITHMS[kind];
  if ('op' in step) {
    const op = opFor(step.op);
    const associative = typeof op === 'string' || op.associative;
    const commutative = typeof op === 'string' || op.commutative;
    allowed = allowedAlgorithms(kind, associative, commutative);
  }
  return allowed[step.alg % allowed.length];
}

/** Runs one step on one rank and returns what that rank got. */
async function runStep(comm: Communicator, step: Step, input: (rank: number) => FmiValue, timeoutMs: number): Promise<unknown> {
  const n = comm.size;
  const r = comm.rank;
  const o = { timeoutMs, algorithm: algorithmOf(step) };
  switch (step.kind) {
    case 'bcast':
      return comm.bcast(r === step.root % n ? input(r) : undefined, step.root % n, o);
    case 'barrier':
      return comm.barrier(o);
    case 'gather':
      return comm.gather(input(r), step.root % n, o);
    case 'allgather':
      return comm.allgather(input(r), o);
    case 'scatter':
      return comm.scatter(r === step.root % n ? Array.from({ length: n }, (_, i) => input(i)) : undefined, step.root % n, o);
    case 'reduce':
      return comm.reduce(input(r), opFor(step.op), step.root % n, o);
    case 'allreduce':
      return comm.allreduce(input(r), opFor(step.op), o);
    case 'scan':
      return comm.scan(input(r), opFor(step.op), o);
    case 'shift': {
      const s = (step.shift % n) || 1;
      const dest = (r + s) % n;
      const src = (r - s + n) % n;
      if (n === 1) return input(r);
      const [, got] = await Promise.all([comm.send(input(r), dest, { tag: step.tag, timeoutMs }), comm.recv(src, { tag: step.tag, timeoutMs })]);
      return got;
    }
  }
}

function expected(step: Step, n: number, r: number, input: (rank: number) => FmiValue): unknown {
  const all = () => Array.from({ length: n }, (_, i) => input(i));
  switch (step.kind) {
    case 'bcast':
      return input(step.root % n);
    case 'barrier':
      return undefined;
    case 'gather':
      return r === step.root % n ? all() : undefined;
    case 'allgather':
      return all();
    case 'scatter':
      return input(r);
    case 'reduce':
      return r === step.root % n ? refFold(step.op, all()) : undefined;
    case 'allreduce':
      return refFold(step.op, all());
    case 'scan':
      return refFold(step.op, all().slice(0, r + 1));
    case 'shift': {
      const s = (step.shift % n) || 1;
      return n === 1 ? input(r) : input((r - s + n) % n);
    }
  }
}

function inputsFor(step: Step, seed: number, stepIndex: number): (rank: number) => FmiValue {
  const cache = new Map<number, FmiValue>();
  return (rank) => {
    let v = cache.get(rank);
    if (v === undefined) {
      const rand = prng(seed ^ Math.imul(stepIndex + 1, 0x9e3779b1) ^ Math.imul(rank + 1, 0x85ebca6b));
      if ('op' in step) v = makeValue(rand, dtypeFor(step.op, step.dtype), lenFor(step.op, step.len), step.op);
      else v = makeValue(rand, step.dtype, Math.floor(rand() * 12));
      cache.set(rank, v);
    }
    return v;
  };
}

async function defaultTeardown(channels: Channel[]): Promise<void> {
  await Promise.all(channels.map((c) => c.close()));
}

export function runChannelConformance(name: string, makeWorld: (worldSize: number) => Promise<Channel[]>, options: ConformanceOptions = {}): void {
  const maxWorld = options.maxWorldSize ?? 65;
  const numRuns = options.numRuns ?? 12;
  const maxOps = options.maxOps ?? 8;
  const timeoutMs = scaled(options.timeoutMs ?? 20_000);
  const teardown = options.teardown ?? defaultTeardown;
  const fcParams = { numRuns, endOnFailure: true, ...(options.seed !== undefined ? { seed: options.seed } : {}) };

  async function withWorld<T>(n: number, fn: (channels: Channel[]) => Promise<T>): Promise<T> {
    const channels = await makeWorld(n);
    assert.equal(channels.length, n, `${name}: makeWorld(${n}) returned ${channels.length} channels`);
    channels.forEach((c, i) => {
      assert.equal(c.rank, i, `${name}: channel ${i} reports rank ${c.rank}`);
      assert.equal(c.worldSize, n, `${name}: channel ${i} reports world size ${c.worldSize}`);
    });
    let result: T;
    try {
      result = await fn(channels);
    } catch (err) {
      // Report the test's own failure, not a teardown complaint it may have caused.
      await teardown(channels, []).catch(() => {});
      throw err;
    }
    await teardown(channels, []);
    return result;
  }

  describe(`${name} channel conformance`, () => {
    it('keeps frames in order per (source, tag) and keeps tags apart', async () => {
      const big = options.largeFrameBytes ?? 1 << 20;
      await withWorld(3, async ([a, b, c]) => {
        const deadline = Date.now() + timeoutMs;
        const frames = Array.from({ length: 12 }, (_, i) => Uint8Array.from({ length: i === 5 ? big : i * 37 }, (_, j) => (i * 31 + j) & 0xff));
        for (let i = 0; i < frames.length; i++) await a.send(1, i % 2 === 0 ? 10 : 11, frames[i], deadline);
        await c.send(1, 10, Uint8Array.of(42), deadline);
        // Tag 11 first, although tag 10's frames were sent earlier; then the other source on the same tag.
        for (let i = 1; i < frames.length; i += 2) assert.deepEqual(await b.recv(0, 11, deadline), frames[i], `tag 11 frame ${i}`);
        assert.deepEqual(await b.recv(2, 10, deadline), Uint8Array.of(42));
        for (let i = 0; i < frames.length; i += 2) assert.deepEqual(await b.recv(0, 10, deadline), frames[i], `tag 10 frame ${i}`);
        // Zero-length frames and large tags survive the trip.
        await b.send(0, 2 ** 52 + 2, new Uint8Array(0), deadline);
        assert.equal((await a.recv(1, 2 ** 52 + 2, deadline)).length, 0);
      });
    });

    it('collectives equal a sequential reference for random worlds, roots, data, operators and algorithms', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: maxWorld }), fc.array(stepArb, { minLength: 1, maxLength: maxOps }), fc.integer(), async (n, steps, seed) => {
          await withWorld(n, async (channels) => {
            const comms = channels.map((ch) => new Communicator(ch, { name: `conformance-${name}`, timeoutMs }));
            const inputs = steps.map((s, i) => inputsFor(s, seed, i));
            // Each rank runs the whole program without waiting for the others, so a fast rank's later
            // operations overlap a slow rank's earlier ones: tags must keep them apart.
            const results = await Promise.all(
              comms.map(async (comm) => {
                const got: unknown[] = [];
                for (let i = 0; i < steps.length; i++) got.push(await runStep(comm, steps[i], inputs[i], timeoutMs));
                return got;
              }),
            );
            for (let r = 0; r < n; r++)
              for (let i = 0; i < steps.length; i++) assert.deepStrictEqual(results[r][i], expected(steps[i], n, r, inputs[i]), `world ${n}, rank ${r}, step ${i} ${JSON.stringify(steps[i])}`);
          });
        }),
        fcParams,
      );
    });

    if (!options.skipDeadline)
      it('a rank that never joins makes every other rank fail by the deadline, naming it', async () => {
        const absentRank = 3;
        const present = options.makeWorldWithout ? await options.makeWorldWithout(5, [absentRank]) : await withoutByClosing(5, absentRank);
        assert.deepEqual(present.map((c) => c.rank), [0, 1, 2, 4], `${name}: the world without rank ${absentRank}`);
        try {
          const comms = present.map((ch) => new Communicator(ch, { name: `conformance-${name}`, timeoutMs }));
          // Scale the limit to the channel: every case must finish for the ranks that do not need rank 3.
          let rtt = 0;
          for (let i = 0; i < 3; i++) {
            const t = Date.now();
            await Promise.all([comms[0]!.send(i, 1, { tag: 9 }).then(() => comms[0]!.recv(1, { tag: 9 })), comms[1]!.recv(0, { tag: 9 }).then((v) => comms[1]!.send(v, 0, { tag: 9 }))]);
            rtt = Math.max(rtt, Date.now() - t);
          }
          const limit = scaled(options.deadlineTimeoutMs ?? Math.min(10_000, Math.max(2000, 40 * rtt)));
          const everyone = [0, 1, 2, 4];
          type Run = (c: Communicator, deadline: number) => Promise<unknown>;
          const cases: [string, Run, number[]][] = [
            ['barrier', (c, deadline) => c.barrier({ algorithm: 'dissemination', deadline }), everyone],
            ['barrier', (c, deadline) => c.barrier({ algorithm: 'tree', deadline }), everyone],
            ['allreduce', (c, deadline) => c.allreduce(c.rank, 'sum', { algorithm: 'recursive-doubling', deadline }), everyone],
            ['allreduce', (c, deadline) => c.allreduce(c.rank, 'sum', { algorithm: 'reduce-bcast', deadline }), everyone],
            // Rank 3 is a leaf of the broadcast tree: nobody else needs it.
            ['bcast', (c, deadline) => c.bcast(7, 0, { deadline }), []],
            // Only rank 4's prefix includes rank 3.
            ['scan', (c, deadline) => c.scan(c.rank, 'sum', { algorithm: 'hillis-steele', deadline }), [4]],
          ];
          // Most ranks never talk to rank 3 directly; they must still name it, and only it, whatever they
          // waited on and however late their notices would be. Every rank starts all cases at once, in the
          // same order (so operation tags agree), with one absolute deadline, as a job's ranks would share.
          const started = Date.now();
          const deadline = started + limit;
          const outcomes = await Promise.all(comms.map((c) => Promise.allSettled(cases.map(([, run]) => run(c, deadline)))));
          const elapsed = Date.now() - started;
          assert.ok(elapsed < limit + scaled(2000), `gave up after ${elapsed} ms (limit ${limit} ms)`);
          cases.forEach(([op, , failing], k) => {
            for (const [i, c] of comms.entries()) {
              const r = c.rank;
              const o = outcomes[i]![k]!;
              if (!failing.includes(r)) {
                assert.equal(o.status, 'fulfilled', `${op} (case ${k}): rank ${r} does not depend on rank 3 and should finish: ${(o as PromiseRejectedResult).reason}`);
                continue;
              }
              assert.equal(o.status, 'rejected', `${op} (case ${k}): rank ${r} should fail`);
              const err = (o as PromiseRejectedResult).reason;
              assert.ok(err instanceof FmiDeadlineError, `${op}: ${err}`);
              assert.deepEqual(err.ranks, [absentRank], `${op}: ${err.message}`);
              const why: Absence | undefined = err.absence.get(absentRank);
              assert.ok(why, `${op}: the channel says why rank 3 is missing: ${err.message}`);
              // The message names rank 3 and why, and nothing that depends on timing.
              const head = `fmi ${op} #${k + 1} on rank ${r}/5 of "conformance-${name}": `;
              assert.ok([`${head}deadline passed while waiting for rank 3 (${why})`, `${head}stopped waiting for rank 3 (${why})`].includes(err.message), err.message);
            }
          });
        } finally {
          await teardown(present, [absentRank]);
        }
      });
  });

  /** The whole world, with `absentRank` closed at once: it joined, and left before anything happened. */
  async function withoutByClosing(n: number, absentRank: number): Promise<Channel[]> {
    const channels = await makeWorld(n);
    await channels[absentRank]!.close();
    return channels.filter((c) => c.rank !== absentRank);
  }
}

