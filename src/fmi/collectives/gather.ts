import { packList, unpackList } from '../codec.js';
import { FmiProtocolError } from '../errors.js';
import { all, type Ctx } from './context.js';
import { absRank, relRank, subtreeSize, treeChildren, treeParent } from './tree.js';

/** Binomial gather of one byte item per rank; the root gets them indexed by rank. ceil(log2 n) rounds, n-1 messages. */
export async function binomialGather(ctx: Ctx, item: Uint8Array, root: number, step: number): Promise<Uint8Array[] | undefined> {
  const n = ctx.size;
  const rel = relRank(ctx.rank, root, n);
  const children = treeChildren(rel, n);
  const got = await all(children.map((c) => ctx.recv(absRank(c, root, n), step)));
  const items: Uint8Array[] = [item];
  got.forEach((frame, i) => {
    const child = children[i];
    const from = `gather frame from rank ${absRank(child, root, n)}`;
    const list = unpackList(frame, from);
    if (list.length !== subtreeSize(child, n)) throw new FmiProtocolError(`${from}: ${list.length} items, expected ${subtreeSize(child, n)}`);
    for (const x of list) items.push(x);
  });
  if (rel !== 0) {
    await ctx.send(absRank(treeParent(rel), root, n), step, packList(items));
    return undefined;
  }
  const out: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) out[absRank(i, root, n)] = items[i];
  return out;
}

/** Binomial scatter: the root's items[r] ends up at rank r. ceil(log2 n) rounds, n-1 messages. */
export async function binomialScatter(ctx: Ctx, items: readonly Uint8Array[] | undefined, root: number, step: number): Promise<Uint8Array> {
  const n = ctx.size;
  const rel = relRank(ctx.rank, root, n);
  let block: Uint8Array[];
  if (rel === 0) {
    if (!items || items.length !== n) throw new TypeError(`scatter root needs exactly ${n} items, got ${items?.length ?? 0}`);
    block = Array.from({ length: n }, (_, i) => items[absRank(i, root, n)]);
  } else {
    const parent = absRank(treeParent(rel), root, n);
    const from = `scatter frame from rank ${parent}`;
    block = unpackList(await ctx.recv(parent, step), from);
    if (block.length !== subtreeSize(rel, n)) throw new FmiProtocolError(`${from}: ${block.length} items, expected ${subtreeSize(rel, n)}`);
  }
  // block[i] belongs to relative rank rel + i; child rel + m takes block[m .. 2m).
  const children = treeChildren(rel, n).reverse();
  await all(children.map((c) => ctx.send(absRank(c, root, n), step, packList(block.slice(c - rel, Math.min(2 * (c - rel), block.length))))));
  return block[0];
}
