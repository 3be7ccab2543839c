// Binomial-tree shape over ranks relative to a root: rank `rel` receives from rel - lowbit(rel) and feeds
// rel + m for every power of two m below lowbit(rel). Subtrees cover contiguous relative-rank ranges, which
// is what keeps tree reductions in rank order.

/** Relative rank → absolute rank. */
export const absRank = (rel: number, root: number, n: number) => (rel + root) % n;
export const relRank = (rank: number, root: number, n: number) => (rank - root + n) % n;

/** Parent of `rel` (-1 for the root). */
export function treeParent(rel: number): number {
  return rel === 0 ? -1 : rel - (rel & -rel);
}

/** Children of `rel`, nearest (smallest subtree) first. */
export function treeChildren(rel: number, n: number): number[] {
  const out: number[] = [];
  for (let m = 1; m < n; m <<= 1) {
    if (rel & m) break;
    if (rel + m < n) out.push(rel + m);
  }
  return out;
}

/** Number of ranks in the subtree rooted at `rel`. */
export function subtreeSize(rel: number, n: number): number {
  if (rel === 0) return n;
  return Math.min(rel & -rel, n - rel);
}
