// What a collective algorithm sees: the channel, its place in the world, the operation's tag space and
// deadline. Algorithms address messages by step (round/phase); the tag keeps operations apart.
import type { Absence, Channel } from '../channel.js';
import { FmiDeadlineError } from '../errors.js';

/** Steps available to one collective operation (phases use disjoint step ranges). */
export const STEPS_PER_OP = 256;

/** Collective tags are even, point-to-point tags odd, so the two never meet. */
export function collectiveTag(seq: number, step: number): number {
  return 2 * (seq * STEPS_PER_OP + step);
}

export function pointToPointTag(userTag: number): number {
  return 2 * userTag + 1;
}

export class Ctx {
  readonly rank: number;
  readonly size: number;
  constructor(
    readonly ch: Channel,
    readonly seq: number,
    readonly deadline: number,
  ) {
    this.rank = ch.rank;
    this.size = ch.worldSize;
  }
  send(dest: number, step: number, bytes: Uint8Array): Promise<void> {
    return this.ch.send(dest, collectiveTag(this.seq, step), bytes, this.deadline);
  }
  recv(source: number, step: number): Promise<Uint8Array> {
    return this.ch.recv(source, collectiveTag(this.seq, step), this.deadline);
  }
  /** Send to `dest` and receive from `source` at once (neither waits for the other). */
  async exchange(dest: number, source: number, step: number, bytes: Uint8Array): Promise<Uint8Array> {
    const [, got] = await all<unknown>([this.send(dest, step, bytes), this.recv(source, step)]);
    return got as Uint8Array;
  }
}

/**
 * Like Promise.all, but waits for every promise to settle so no rejection goes unobserved, and merges
 * deadline errors so the one thrown names every peer still missing.
 */
export async function all<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  if (promises.length === 0) return [];
  if (promises.length === 1) return [await promises[0]];
  const settled = await Promise.allSettled(promises);
  const ranks: number[] = [];
  const absence = new Map<number, Absence>();
  let other: unknown;
  let deadlines = 0;
  let early = 0;
  const out: T[] = new Array(settled.length);
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') out[i] = s.value;
    else if (s.reason instanceof FmiDeadlineError) {
      deadlines++;
      if (s.reason.early) early++;
      ranks.push(...s.reason.ranks);
      for (const [r, why] of s.reason.absence) absence.set(r, why);
    } else other ??= s.reason;
  });
  if (other !== undefined) throw other;
  if (deadlines) throw new FmiDeadlineError('operation', ranks, [], { absence, early: early === deadlines });
  return out;
}

export const EMPTY = new Uint8Array(0);

export function ceilLog2(n: number): number {
  let l = 0;
  while (1 << l < n) l++;
  return l;
}

export function floorPow2(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
