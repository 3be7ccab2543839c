// Refuses sequence numbers seen before. Frames from one sender carry increasing numbers, but a receiver
// may consume them out of order (by tag), so the window remembers everything below `floor` as seen plus
// the numbers above it that have arrived. The set holds only frames consumed ahead of an older one, so it
// stays small while every frame is eventually received.
export class ReplayWindow {
  private floor = 0;
  private readonly ahead = new Set<number>();

  /** True (and remembered) for a number not seen before; false for a replay. */
  accept(seq: number): boolean {
    if (!Number.isSafeInteger(seq) || seq < this.floor || this.ahead.has(seq)) return false;
    if (seq === this.floor) {
      this.floor++;
      while (this.ahead.delete(this.floor)) this.floor++;
    } else {
      this.ahead.add(seq);
    }
    return true;
  }

  /** Numbers remembered individually (for tests). */
  get pending(): number {
    return this.ahead.size;
  }
}
