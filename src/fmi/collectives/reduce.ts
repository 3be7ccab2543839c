import { decodeValue, encodeValue, type FmiValue } from '../codec.js';
import type { ResolvedOp } from '../ops.js';
import { all, type Ctx } from './context.js';
import { binomialGather } from './gather.js';
import { absRank, relRank, treeChildren, treeParent } from './tree.js';

/**
 * Binomial-tree reduction: ceil(log2 n) rounds, n-1 messages. Subtrees are contiguous rank ranges combined
 * lower-first, so an associative but non-commutative operator is reduced at rank 0 (where relative order is
 * rank order) and handed to the root in one more message.
 */
export async function binomialReduce(ctx: Ctx, value: FmiValue, op: ResolvedOp, root: number, step: number): Promise<FmiValue | undefined> {
  const n = ctx.size;
  const treeRoot = op.commutative ? root : 0;
  const rel = relRank(ctx.rank, treeRoot, n);
  const children = treeChildren(rel, n);
  const got = await all(children.map((c) => ctx.recv(absRank(c, treeRoot, n), step)));
  let acc = value;
  for (let i = 0; i < got.length; i++) acc = op.combine(acc, decodeValue(got[i], `reduce frame from rank ${absRank(children[i], treeRoot, n)}`));
  if (rel !== 0) {
    await ctx.send(absRank(treeParent(rel), treeRoot, n), step, encodeValue(acc));
    if (ctx.rank !== root) return undefined;
  }
  if (treeRoot === root) return acc;
  if (ctx.rank === treeRoot) {
    await ctx.send(root, step + 1, encodeValue(acc));
    return undefined;
  }
  return decodeValue(await ctx.recv(treeRoot, step + 1), `reduce frame from rank ${treeRoot}`);
}

/** For operators that are not associative: gather every value to the root and fold strictly left to right. */
export async function gatherFoldReduce(ctx: Ctx, value: FmiValue, op: ResolvedOp, root: number, step: number): Promise<FmiValue | undefined> {
  const items = await binomialGather(ctx, encodeValue(value), root, step);
  if (!items) return undefined;
  let acc = decodeValue(items[0], 'reduce item 0');
  for (let r = 1; r < items.length; r++) acc = op.combine(acc, r === ctx.rank ? value : decodeValue(items[r], `reduce item ${r}`));
  return acc;
}
