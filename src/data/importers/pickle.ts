// A restricted pickle reader. It implements the opcodes that tensor files use and builds inert data:
// globals become named references (only those on an allowlist), and calls (REDUCE, NEWOBJ, BUILD) become
// records of "this would call X with these arguments". Nothing is ever executed or imported. Anything not
// on the allowlist is refused with the global's name, the way torch.load(weights_only=True) refuses it.
import { DataError } from '../../errors.js';

/** A reference to an allowlisted global such as `torch._utils._rebuild_tensor_v2`. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** `callable(*args)`, recorded (REDUCE). */
export class PyCall {
  constructor(
    readonly callable: PyGlobal,
    readonly args: PyValue[],
  ) {}
}

/** `cls.__new__(cls, *args)` then `__setstate__(state)` (NEWOBJ + BUILD), recorded. */
export class PyObject {
  state: PyValue | undefined = undefined;
  constructor(
    readonly cls: PyGlobal,
    readonly args: PyValue[],
  ) {}
}

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export class PyDict {
  readonly map = new Map<DictKey, PyValue>();
}

export type DictKey = string | number | bigint | boolean | null;

export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyGlobal | PyCall | PyObject | { persistent: unknown };

export interface UnpickleOptions {
  /** The file name for errors. */
  file: string;
  /** `module.name` of each global that may appear. */
  allowedGlobals: ReadonlySet<string>;
  /** Resolve a persistent id (BINPERSID): the torch storage reference. */
  persistentLoad?: (pid: PyValue) => unknown;
  maxMemo?: number;
  maxStack?: number;
}

const DEFAULT_MAX_MEMO = 1 << 20;
const DEFAULT_MAX_STACK = 1 << 20;
/** Strings longer than this in a tensor pickle are not plausible (names, dtype strings, keys). */
const MAX_STRING = 1 << 24;
const MAX_LONG_BYTES = 1024;

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

/** Unpickle `bytes` into inert data. Throws DataError naming the file and the first problem. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): PyValue {
  const { file } = opts;
  const maxMemo = opts.maxMemo ?? DEFAULT_MAX_MEMO;
  const maxStack = opts.maxStack ?? DEFAULT_MAX_STACK;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, PyValue>();
  let pos = 0;
  let opPos = 0;

  const fail = (problem: string): never => {
    throw new DataError(file, `pickle: ${problem} (at byte ${opPos})`);
  };
  const need = (n: number): void => {
    if (pos + n > bytes.length) fail('truncated');
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) fail(`length ${v} exceeds the pickle size`);
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    if (n > MAX_STRING) fail(`string of ${n} bytes is too long`);
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const utf8 = (n: number): string => Buffer.from(take(n)).toString('utf8');
  const latin1 = (n: number): string => Buffer.from(take(n)).toString('latin1');
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 1024) fail('unterminated or overlong text line');
    const s = Buffer.from(bytes.subarray(pos, end)).toString('utf8');
    pos = end + 1;
    return s;
  };
  const push = (v: StackItem): void => {
    if (stack.length >= maxStack) fail(`stack exceeds ${maxStack} items`);
    stack.push(v);
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined) fail('stack underflow');
    if (v === MARK) fail('unexpected mark');
    return v as PyValue;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail('stack underflow');
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail('no mark on the stack');
    const items = stack.splice(at) as PyValue[];
    items.shift();
    return items;
  };
  const put = (i: number): void => {
    if (!memo.has(i) && memo.size >= maxMemo) fail(`memo exceeds ${maxMemo} entries`);
    memo.set(i, top());
  };
  const get = (i: number): PyValue => {
    if (!memo.has(i)) fail(`memo key ${i} was never stored`);
    return memo.get(i)!;
  };
  const global = (module: string, name: string): PyGlobal => {
    const q = `${module}.${name}`;
    if (!opts.allowedGlobals.has(q)) throw new DataError(file, `refuses to load global ${q}: only tensor data is allowed (the file may try to run code)`);
    return new PyGlobal(module, name);
  };
  const dictKey = (k: PyValue): DictKey => {
    if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return k;
    return fail('unsupported dictionary key type');
  };
  const setItems = (target: PyValue, items: PyValue[]): void => {
    if (!(target instanceof PyDict)) fail('SETITEM(S) on a non-dict');
    if (items.length % 2 !== 0) fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) (target as PyDict).map.set(dictKey(items[i]!), items[i + 1]!);
  };
  const callable = (v: PyValue): PyGlobal => {
    if (!(v instanceof PyGlobal)) fail('call of something that is not an allowed global');
    return v as PyGlobal;
  };
  const tupleArgs = (v: PyValue): PyValue[] => {
    if (!(v instanceof PyTuple)) fail('call arguments are not a tuple');
    return (v as PyTuple).items;
  };
  const long = (n: number): bigint | number => {
    if (n > MAX_LONG_BYTES) fail(`integer of ${n} bytes is too long`);
    const b = take(n);
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('unsupported pickle protocol');
        break;
      case 0x95: // FRAME: framing is only a read-ahead hint
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} items on the stack`);
        return pop();
      case 0x28: // MARK
        push(MARK);
        break;
      case 0x30: // POP
        if (stack.pop() === undefined) fail('stack underflow');
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b, c]));
        break;
      }
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x58: // BINUNICODE
        push(utf8(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8(u8()));
        break;
      case 0x8d: // BINUNICODE8
        push(utf8(u64()));
        break;
      case 0x54: // BINSTRING (Python 2 str)
        push(latin1(u32()));
        break;
      case 0x55: // SHORT_BINSTRING
        push(latin1(u8()));
        break;
      case 0x42: // BINBYTES
        push(new Uint8Array(take(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        push(new Uint8Array(take(u8())));
        break;
      case 0x4a: // BININT
        need(4);
        push(dv.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(long(u8()));
        break;
      case 0x8b: // LONG4
        push(long(u32()));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        push(global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(global(module as string, name as string));
        break;
      }
      case 0x71: // BINPUT
        put(u8());
        break;
      case 0x72: // LONG_BINPUT
        put(u32());
        break;
      case 0x94: // MEMOIZE
        put(memo.size);
        break;
      case 0x68: // BINGET
        push(get(u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(get(u32()));
        break;
      case 0x52: {
        // REDUCE
        const args = tupleArgs(pop());
        const fn = callable(pop());
        // An empty OrderedDict is plain data; pickle fills it with SETITEMS afterwards.
        push(fn.qualified === 'collections.OrderedDict' && args.length === 0 ? new PyDict() : new PyCall(fn, args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = tupleArgs(pop());
        push(new PyObject(callable(pop()), args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const target = top();
        if (target instanceof PyObject) target.state = state;
        else if (target instanceof PyCall) {
          // Tensors built by REDUCE may get a state (e.g. parameter attributes); keep the call itself.
        } else fail('BUILD on a value that is not an object');
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail('APPEND on a non-list');
        (list as PyValue[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail('APPENDS on a non-list');
        for (const v of items) (list as PyValue[]).push(v);
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('persistent ids are not allowed here');
        push({ persistent: opts.persistentLoad!(pid) });
        break;
      }
      default:
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
