import { decodeValue, encodeValue, type FmiValue } from '../codec.js';
import type { ResolvedOp } from '../ops.js';
import { floorPow2, type Ctx } from './context.js';
import { binomialBcast } from './bcast.js';
import { binomialReduce, gatherFoldReduce } from './reduce.js';

/**
 * Recursive doubling for any world size. With p the largest power of two <= n and e = n - p, ranks below
 * 2e pair up first (even into odd), the p survivors exchange with partner rank^2^k for log2(p) rounds, and
 * the odd ranks hand the result back to their even neighbours. Every exchanged block is a contiguous rank
 * range, combined lower-first, so associative non-commutative operators come out in rank order.
 */
export async function recursiveDoublingAllreduce(ctx: Ctx, value: FmiValue, op: ResolvedOp, step: number): Promise<FmiValue> {
  const { rank, size: n } = ctx;
  const p = floorPow2(n);
  const extra = n - p;
  let acc = value;
  let vrank: number;
  if (rank < 2 * extra) {
    if (rank % 2 === 0) {
      await ctx.send(rank + 1, step, encodeValue(acc));
      vrank = -1;
    } else {
      acc = op.combine(decodeValue(await ctx.recv(rank - 1, step), `allreduce frame from rank ${rank - 1}`), acc);
      vrank = rank >> 1;
    }
  } else vrank = rank - extra;

  if (vrank >= 0) {
    for (let k = 0, mask = 1; mask < p; k++, mask *= 2) {
      const vpeer = vrank ^ mask;
      const peer = vpeer < extra ? 2 * vpeer + 1 : vpeer + extra;
      const got = decodeValue(await ctx.exchange(peer, peer, step + 1 + k, encodeValue(acc)), `allreduce frame from rank ${peer}`);
      acc = vpeer < vrank ? op.combine(got, acc) : op.combine(acc, got);
    }
  }

  const last = step + 1 + 40;
  if (rank < 2 * extra) {
    if (rank % 2 === 1) await ctx.send(rank - 1, last, encodeValue(acc));
    else acc = decodeValue(await ctx.recv(rank + 1, last), `allreduce frame from rank ${rank + 1}`);
  }
  return acc;
}

/** Reduce to rank 0, then broadcast: 2·ceil(log2 n) rounds but only 2(n-1) messages. */
export async function reduceBcastAllreduce(ctx: Ctx, value: FmiValue, op: ResolvedOp, step: number): Promise<FmiValue> {
  const reduce = op.associative ? binomialReduce : gatherFoldReduce;
  const reduced = await reduce(ctx, value, op, 0, step);
  const bytes = await binomialBcast(ctx, ctx.rank === 0 ? encodeValue(reduced!) : undefined, 0, step + 64);
  return ctx.rank === 0 ? reduced! : decodeValue(bytes, 'allreduce frame from rank 0');
}
