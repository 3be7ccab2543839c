import { all, type Ctx } from './context.js';
import { absRank, relRank, treeChildren, treeParent } from './tree.js';

/** Binomial-tree broadcast of raw bytes: ceil(log2 n) rounds, n-1 messages. Forwards the frame as received. */
export async function binomialBcast(ctx: Ctx, bytes: Uint8Array | undefined, root: number, step: number): Promise<Uint8Array> {
  const n = ctx.size;
  const rel = relRank(ctx.rank, root, n);
  let data = bytes;
  if (rel !== 0) data = await ctx.recv(absRank(treeParent(rel), root, n), step);
  if (data === undefined) throw new TypeError('broadcast root has no data');
  // Farthest child first: it heads the largest subtree.
  const children = treeChildren(rel, n).reverse();
  await all(children.map((c) => ctx.send(absRank(c, root, n), step, data)));
  return data;
}
