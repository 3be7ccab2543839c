// sfc32 (Chris Doty-Humphrey's "small fast chaotic" generator): 128 bits of state, 32-bit outputs, passes
// PractRand for the sizes used here. Subclasses decide how a seed becomes the state.
export class Sfc32Core {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 1;

  /** Set the state and discard the first outputs, which still show the seed's structure. */
  protected seedState(a: number, b: number, c: number, d: number): void {
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = d | 0;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** The next 32-bit unsigned output. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
}
