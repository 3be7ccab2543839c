import { all, EMPTY, type Ctx } from './context.js';
import { binomialBcast } from './bcast.js';
import { treeChildren, treeParent } from './tree.js';

/** Dissemination barrier: ceil(log2 n) rounds; in round k rank r signals r+2^k and hears from r-2^k. n·ceil(log2 n) messages. */
export async function disseminationBarrier(ctx: Ctx, step: number): Promise<void> {
  const { rank, size: n } = ctx;
  for (let k = 0, d = 1; d < n; k++, d *= 2) await ctx.exchange((rank + d) % n, (rank - d + n) % n, step + k, EMPTY);
}

/** Tree barrier: binomial fan-in to rank 0, then binomial fan-out. 2·ceil(log2 n) rounds, 2(n-1) messages. */
export async function treeBarrier(ctx: Ctx, step: number): Promise<void> {
  const { rank, size: n } = ctx;
  await all(treeChildren(rank, n).map((c) => ctx.recv(c, step)));
  if (rank !== 0) await ctx.send(treeParent(rank), step, EMPTY);
  await binomialBcast(ctx, rank === 0 ? EMPTY : undefined, 0, step + 1);
}
