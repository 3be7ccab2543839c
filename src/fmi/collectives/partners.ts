// Every rank a given rank exchanges messages with in one collective (both directions). When an operation
// times out, a rank tells these partners whom it was waiting for, so ranks stuck behind a stuck rank can
// name the rank actually missing rather than their immediate neighbour.
import { floorPow2 } from './context.js';
import { absRank, relRank, treeChildren, treeParent } from './tree.js';

function tree(rank: number, n: number, root: number): number[] {
  const rel = relRank(rank, root, n);
  const out = treeChildren(rel, n).map((c) => absRank(c, root, n));
  if (rel !== 0) out.push(absRank(treeParent(rel), root, n));
  return out;
}

function distances(rank: number, n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d < n; d *= 2) out.push((rank + d) % n, (rank - d + n) % n);
  return out;
}

function recursiveDoubling(rank: number, n: number): number[] {
  const p = floorPow2(n);
  const extra = n - p;
  const out: number[] = [];
  let vrank: number;
  if (rank < 2 * extra) {
    out.push(rank % 2 === 0 ? rank + 1 : rank - 1);
    vrank = rank % 2 === 0 ? -1 : rank >> 1;
  } else vrank = rank - extra;
  if (vrank >= 0)
    for (let mask = 1; mask < p; mask *= 2) {
      const v = vrank ^ mask;
      out.push(v < extra ? 2 * v + 1 : v + extra);
    }
  return out;
}

export function partnersOf(op: string, algorithm: string, rank: number, n: number, root = 0, commutative = true): number[] {
  let out: number[];
  switch (`${op}/${algorithm}`) {
    case 'barrier/dissemination':
    case 'scan/hillis-steele':
    case 'allgather/bruck':
      out = distances(rank, n);
      break;
    case 'allreduce/recursive-doubling':
      out = recursiveDoubling(rank, n);
      break;
    case 'scan/linear':
      out = [rank - 1, rank + 1].filter((r) => r >= 0 && r < n);
      break;
    case 'reduce/binomial':
      out = commutative ? tree(rank, n, root) : [...tree(rank, n, 0), ...(rank === 0 ? [root] : rank === root ? [0] : [])];
      break;
    case 'bcast/binomial':
    case 'gather/binomial':
    case 'scatter/binomial':
    case 'reduce/gather-fold':
      out = tree(rank, n, root);
      break;
    default:
      // tree barrier, reduce-bcast, tree scan, gather-bcast: the binomial tree rooted at rank 0.
      out = tree(rank, n, 0);
  }
  return [...new Set(out)].filter((r) => r !== rank);
}
