import { decodeValue, encodeValue, type FmiValue } from '../codec.js';
import type { ResolvedOp } from '../ops.js';
import { all, type Ctx } from './context.js';
import { treeChildren, treeParent } from './tree.js';

/**
 * Hillis-Steele inclusive scan: in round k rank r sends its partial (covering ranks r-2^k+1..r) to r+2^k
 * and prepends the partial from r-2^k. ceil(log2 n) rounds, about n·log2(n) messages; order-correct.
 */
export async function hillisSteeleScan(ctx: Ctx, value: FmiValue, op: ResolvedOp, step: number): Promise<FmiValue> {
  const { rank, size: n } = ctx;
  let acc = value;
  for (let k = 0, d = 1; d < n; k++, d *= 2) {
    const to = rank + d < n ? rank + d : -1;
    const from = rank - d;
    const work: Promise<unknown>[] = [];
    if (to >= 0) work.push(ctx.send(to, step + k, encodeValue(acc)));
    if (from >= 0) work.push(ctx.recv(from, step + k));
    const done = await all(work);
    if (from >= 0) acc = op.combine(decodeValue(done[done.length - 1] as Uint8Array, `scan frame from rank ${from}`), acc);
  }
  return acc;
}

/**
 * Tree scan over the binomial tree rooted at rank 0: an up-sweep sends each subtree's total to its parent,
 * a down-sweep sends each child the combination of every rank before it. 2·ceil(log2 n) rounds, 2(n-1)
 * messages; subtrees are contiguous rank ranges, so it is order-correct.
 */
export async function treeScan(ctx: Ctx, value: FmiValue, op: ResolvedOp, step: number): Promise<FmiValue> {
  const { rank, size: n } = ctx;
  const children = treeChildren(rank, n);
  const totals = (await all(children.map((c) => ctx.recv(c, step)))).map((b, i) => decodeValue(b, `scan frame from rank ${children[i]}`));
  const parent = treeParent(rank);
  if (parent >= 0) {
    let total = value;
    for (const t of totals) total = op.combine(total, t);
    await ctx.send(parent, step, encodeValue(total));
  }
  const inclusive = parent >= 0 ? op.combine(decodeValue(await ctx.recv(parent, step + 1), `scan frame from rank ${parent}`), value) : value;
  let running = inclusive;
  const sends: Promise<void>[] = [];
  children.forEach((c, i) => {
    sends.push(ctx.send(c, step + 1, encodeValue(running)));
    running = op.combine(running, totals[i]);
  });
  await all(sends);
  return inclusive;
}

/** For operators that are not associative: a chain, rank r folds rank r-1's prefix with its value. n-1 rounds. */
export async function linearScan(ctx: Ctx, value: FmiValue, op: ResolvedOp, step: number): Promise<FmiValue> {
  const { rank, size: n } = ctx;
  const acc = rank > 0 ? op.combine(decodeValue(await ctx.recv(rank - 1, step), `scan frame from rank ${rank - 1}`), value) : value;
  if (rank < n - 1) await ctx.send(rank + 1, step, encodeValue(acc));
  return acc;
}
