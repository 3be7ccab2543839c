// A minimal pickle writer for building test tensor files the way torch.save (protocol 2) lays them out:
// strings, globals, tuples and dicts are memoized (BINPUT) and reused (BINGET) like Python's pickler does.

export class PickleWriter {
  private readonly out: number[] = [];
  private readonly memo = new Map<string, number>();
  private nextMemo = 0;

  raw(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }

  proto(v = 2): this {
    return this.raw(0x80, v);
  }

  /** Memoize the value on top of the stack (BINPUT / LONG_BINPUT); `key` lets it be reused by get(). */
  put(key?: string): this {
    const i = this.nextMemo++;
    if (key !== undefined) this.memo.set(key, i);
    if (i < 256) return this.raw(0x71, i);
    return this.raw(0x72, ...u32(i));
  }

  /** Push a memoized value again if it was stored; returns false when not memoized yet. */
  private get(key: string): boolean {
    const i = this.memo.get(key);
    if (i === undefined) return false;
    if (i < 256) this.raw(0x68, i);
    else this.raw(0x6a, ...u32(i));
    return true;
  }

  /** GLOBAL 'module name', memoized. */
  global(module: string, name: string): this {
    if (this.get(`g:${module}.${name}`)) return this;
    this.raw(0x63, ...Buffer.from(`${module}\n${name}\n`, 'utf8'));
    return this.put(`g:${module}.${name}`);
  }

  /** STACK_GLOBAL (protocol 4 style). */
  stackGlobal(module: string, name: string): this {
    this.shortUnicode(module).shortUnicode(name);
    return this.raw(0x93);
  }

  /** BINUNICODE, memoized. */
  str(s: string): this {
    if (this.get(`s:${s}`)) return this;
    const b = Buffer.from(s, 'utf8');
    this.raw(0x58, ...u32(b.length), ...b);
    return this.put(`s:${s}`);
  }

  shortUnicode(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.raw(0x8c, b.length, ...b);
  }

  int(n: number | bigint): this {
    const v = BigInt(n);
    if (v >= 0n && v < 256n) return this.raw(0x4b, Number(v));
    if (v >= 0n && v < 65536n) return this.raw(0x4d, Number(v) & 0xff, Number(v) >> 8);
    if (v >= -(2n ** 31n) && v < 2n ** 31n) return this.raw(0x4a, ...i32(Number(v)));
    // LONG1: little-endian two's complement, minimal length.
    const bytes: number[] = [];
    let x = v;
    while (true) {
      bytes.push(Number(x & 0xffn));
      x >>= 8n;
      const sign = bytes[bytes.length - 1]! & 0x80;
      if ((x === 0n && !sign) || (x === -1n && sign)) break;
    }
    return this.raw(0x8a, bytes.length, ...bytes);
  }

  float(v: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    return this.raw(0x47, ...b);
  }

  none(): this {
    return this.raw(0x4e);
  }
  bool(v: boolean): this {
    return this.raw(v ? 0x88 : 0x89);
  }
  mark(): this {
    return this.raw(0x28);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  emptyDict(): this {
    return this.raw(0x7d);
  }
  emptyList(): this {
    return this.raw(0x5d);
  }
  /** Close a tuple of `n` items the way pickle does: TUPLE1-3 for short ones, MARK..TUPLE otherwise (mark already pushed). */
  tupleN(n: number): this {
    if (n === 0) return this.emptyTuple();
    if (n <= 3) return this.raw(0x84 + n).put();
    return this.raw(0x74).put();
  }
  tuple(): this {
    return this.raw(0x74);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  newobj(): this {
    return this.raw(0x81);
  }
  build(): this {
    return this.raw(0x62);
  }
  setitem(): this {
    return this.raw(0x73);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  appends(): this {
    return this.raw(0x65);
  }
  binpersid(): this {
    return this.raw(0x51);
  }
  stop(): this {
    return this.raw(0x2e);
  }

  /** Write a tuple of ints (shape/stride) the way pickle does. */
  intTuple(values: readonly number[]): this {
    if (values.length === 0) return this.emptyTuple();
    if (values.length > 3) this.mark();
    for (const v of values) this.int(v);
    return this.tupleN(values.length);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function i32(n: number): number[] {
  return u32(n >>> 0);
}
