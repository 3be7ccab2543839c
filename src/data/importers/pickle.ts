// A restricted pickle reader. It implements the opcodes that tensor files use and builds inert data:
// globals become named references (only those on an allowlist), and calls (REDUCE, NEWOBJ, BUILD) become
// records of "this would call X with these arguments". Nothing is ever executed or imported. Anything not
// on the allowlist is refused with the global's name, the way torch.load(weights_only=True) refuses it.
// Work and memory are bounded: every opcode consumes input, the values built are counted, containers
// nest at most MAX_PICKLE_DEPTH deep, and a container is frozen once it is placed inside another, so
// no structure can become cyclic or grow deeper after its depth was checked (Python's pickler always
// fills a container before it uses it, except for self-referencing data, which no tensor file holds).
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
  maxValues?: number;
  maxDepth?: number;
}

const DEFAULT_MAX_MEMO = 1 << 20;
const DEFAULT_MAX_STACK = 1 << 20;
/** Values (containers, strings, calls, ...) one pickle may build: a tensor file builds a few per tensor. */
export const MAX_PICKLE_VALUES = 1_000_000;
/** How deep containers may nest (a TensorDataset is 6 deep; Python's own limit is about 1000 frames). */
export const MAX_PICKLE_DEPTH = 100;
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
  const maxValues = opts.maxValues ?? MAX_PICKLE_VALUES;
  const maxDepth = opts.maxDepth ?? MAX_PICKLE_DEPTH;
  let values = 0;
  const depthOf = new WeakMap<object, number>();
  const frozen = new WeakSet<object>();
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
    const at = bytes.subarray(pos, pos + 1025).indexOf(0x0a);
    if (at < 0) fail('unterminated or overlong text line');
    const s = Buffer.from(bytes.subarray(pos, pos + at)).toString('utf8');
    pos += at + 1;
    return s;
  };
  /** Count a newly built value against the budget. */
  const made = <T extends PyValue>(v: T): T => {
    if (++values > maxValues) fail(`builds more than ${maxValues} values`);
    return v;
  };
  // An object counts as one level (an empty list is a container too); scalars and strings as none.
  const depth = (v: PyValue): number => (typeof v === 'object' && v !== null ? (depthOf.get(v) ?? 1) : 0);
  /** `container` now holds `items`: freeze them, and check how deep the container has become. */
  const holds = (container: object, items: readonly PyValue[]): void => {
    if (frozen.has(container)) fail('modifies a value already placed inside another (cyclic or shared data is not tensor data)');
    let d = depthOf.get(container) ?? 1;
    for (const item of items) {
      if (typeof item !== 'object' || item === null) continue;
      if (item === container) fail('a container holds itself (cyclic data is not tensor data)');
      frozen.add(item);
      d = Math.max(d, 1 + depth(item));
    }
    if (d > maxDepth) fail(`containers nest more than ${maxDepth} deep`);
    depthOf.set(container, d);
  };
  const tuple = (items: PyValue[]): PyTuple => {
    const t = made(new PyTuple(items));
    holds(t, items);
    return t;
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
    holds(target as PyDict, items);
    for (let i = 0; i < items.length; i += 2) (target as PyDict).map.set(dictKey(items[i]!), items[i + 1]!);
  };
  const callable = (v: PyValue): PyGlobal => {
    if (!(v instanceof PyGlobal)) fail('call of something that is not an allowed global');
    return v as PyGlobal;
  };
  const tupleArgs = (v: PyValue): PyValue[] => {
    if (!(v instanceof PyTuple)) fail('call arguments are not a tuple');
    frozen.add(v as PyTuple);
    return (v as PyTuple).items;
  };
  const long = (n: number): bigint | number => {
    if (n > MAX_LONG_BYTES) fail(`integer of ${n} bytes is too long`);
    const b = take(n);
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : made(v);
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
        push(made(new PyDict()));
        break;
      case 0x5d: // EMPTY_LIST
        push(made([]));
        break;
      case 0x29: // EMPTY_TUPLE
        push(tuple([]));
        break;
      case 0x74: // TUPLE
        push(tuple(popMark()));
        break;
      case 0x85: // TUPLE1
        push(tuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        push(tuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(tuple([a, b, c]));
        break;
      }
      case 0x6c: {
        // LIST
        const list = made(popMark());
        holds(list, list);
        push(list);
        break;
      }
      case 0x64: {
        // DICT
        const d = made(new PyDict());
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x58: // BINUNICODE
        push(made(utf8(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(made(utf8(u8())));
        break;
      case 0x8d: // BINUNICODE8
        push(made(utf8(u64())));
        break;
      case 0x54: // BINSTRING (Python 2 str)
        push(made(latin1(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        push(made(latin1(u8())));
        break;
      case 0x42: // BINBYTES
        push(made(new Uint8Array(take(u32()))));
        break;
      case 0x43: // SHORT_BINBYTES
        push(made(new Uint8Array(take(u8()))));
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
        push(made(global(module, name)));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(made(global(module as string, name as string)));
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
        if (fn.qualified === 'collections.OrderedDict' && args.length === 0) push(made(new PyDict()));
        else {
          const call = made(new PyCall(fn, args));
          holds(call, args);
          push(call);
        }
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = tupleArgs(pop());
        const obj = made(new PyObject(callable(pop()), args));
        holds(obj, args);
        push(obj);
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const target = top();
        if (target instanceof PyObject) {
          holds(target, [state]);
          target.state = state;
        } else if (target instanceof PyCall || target instanceof PyDict) {
          // Tensors built by REDUCE may get a state (parameter attributes), and a state_dict's OrderedDict
          // its `_metadata`; neither is tensor data, so the value is kept as it is.
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
        holds(list as PyValue[], [v]);
        (list as PyValue[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail('APPENDS on a non-list');
        holds(list as PyValue[], items);
        for (const v of items) (list as PyValue[]).push(v);
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('persistent ids are not allowed here');
        push(made({ persistent: opts.persistentLoad!(pid) }));
        break;
      }
      default:
        fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
