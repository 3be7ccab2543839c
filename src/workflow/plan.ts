// Assigning partitions to ranks: greedy largest-first onto the least-loaded rank (LPT scheduling), which
// keeps the slowest rank within 4/3 of the optimum. Pure and deterministic: the same manifest and world
// size always give the same plan, which is what lets a rerun of a run id resume.
import type { PartitionEntry } from '../data/manifest.js';
import { UsageError } from '../errors.js';
import type { PartitionRef, RankAssignment } from './contracts.js';

/** A min-heap of ranks by (bytes, rank). */
class LoadHeap {
  private readonly bytes: number[] = [];
  private readonly rank: number[] = [];
  constructor(n: number) {
    for (let r = 0; r < n; r++) {
      this.bytes.push(0);
      this.rank.push(r);
    }
  }
  private less(i: number, j: number): boolean {
    return this.bytes[i]! < this.bytes[j]! || (this.bytes[i] === this.bytes[j] && this.rank[i]! < this.rank[j]!);
  }
  private swap(i: number, j: number): void {
    [this.bytes[i], this.bytes[j]] = [this.bytes[j]!, this.bytes[i]!];
    [this.rank[i], this.rank[j]] = [this.rank[j]!, this.rank[i]!];
  }
  /** Add `b` bytes to the least-loaded rank and return that rank. */
  addToLightest(b: number): number {
    const r = this.rank[0]!;
    this.bytes[0]! += b;
    let i = 0;
    const n = this.bytes.length;
    for (;;) {
      const l = 2 * i + 1;
      const rr = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (rr < n && this.less(rr, m)) m = rr;
      if (m === i) return r;
      this.swap(i, m);
      i = m;
    }
  }
}

export function toPartitionRef(e: PartitionEntry): PartitionRef {
  return {
    path: e.path,
    samples: e.samples,
    bytes: e.bytes,
    ...(e.firstObjectId !== undefined ? { firstObjectId: e.firstObjectId } : {}),
    ...(e.lastObjectId !== undefined ? { lastObjectId: e.lastObjectId } : {}),
  };
}

/**
 * Balance partitions over `worldSize` ranks by bytes. Every rank gets an entry (possibly empty); within a
 * rank partitions keep manifest order so predictions come out in a stable order.
 */
export function assignPartitions(entries: readonly PartitionEntry[], worldSize: number): RankAssignment[] {
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) throw new UsageError(`world size must be a positive integer, got ${worldSize}`);
  const order = entries.map((_, i) => i).sort((a, b) => entries[b]!.bytes - entries[a]!.bytes || a - b);
  const heap = new LoadHeap(worldSize);
  const members: number[][] = Array.from({ length: worldSize }, () => []);
  for (const i of order) members[heap.addToLightest(entries[i]!.bytes)]!.push(i);
  return members.map((idx, rank) => {
    idx.sort((a, b) => a - b);
    const partitions = idx.map((i) => toPartitionRef(entries[i]!));
    return {
      rank,
      partitions,
      samples: partitions.reduce((s, p) => s + p.samples, 0),
      bytes: partitions.reduce((s, p) => s + p.bytes, 0),
    };
  });
}
