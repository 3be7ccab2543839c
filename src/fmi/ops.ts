// Reduction operators. Built-ins work on numbers, bigints and element-wise on typed arrays (with the
// array type's own wrap-around/rounding); user operators say whether they are associative and commutative,
// which decides which algorithms may reorder them.
import { UsageError } from '../errors.js';
import type { FmiArray, FmiValue } from './codec.js';

export type BuiltinOp = 'sum' | 'prod' | 'min' | 'max';

/** A user reduction over whole values. `fn(a, b)` is always called with `a` from the lower ranks. */
export interface UserOp<T extends FmiValue = FmiValue> {
  name?: string;
  fn: (a: T, b: T) => T;
  /** (a·b)·c = a·(b·c): lets trees and recursive doubling regroup. Without it the fold is strictly left to right. */
  associative: boolean;
  /** a·b = b·a: lets algorithms combine in any rank order. */
  commutative: boolean;
}

export type ReduceOp<T extends FmiValue = FmiValue> = BuiltinOp | UserOp<T>;

export interface ResolvedOp {
  readonly name: string;
  readonly associative: boolean;
  readonly commutative: boolean;
  /** Combine; `a` covers lower ranks than `b`. Never modifies its arguments. */
  combine(a: FmiValue, b: FmiValue): FmiValue;
}

const BUILTINS: readonly BuiltinOp[] = ['sum', 'prod', 'min', 'max'];

/** Lift a scalar function to act element-wise on typed arrays of one type (and directly on scalars). */
export function elementwise<E extends number | bigint>(fn: (a: E, b: E) => E): <T extends FmiValue>(a: T, b: T) => T {
  return <T extends FmiValue>(a: T, b: T): T => {
    if (typeof a === 'number' || typeof a === 'bigint') return fn(a as unknown as E, b as unknown as E) as unknown as T;
    const x = a as FmiArray;
    const y = b as unknown as FmiArray;
    const out = x.slice() as FmiArray;
    for (let i = 0; i < x.length; i++) (out as unknown as E[])[i] = fn((x as unknown as E[])[i], (y as unknown as E[])[i]);
    return out as T;
  };
}

export function resolveOp(op: ReduceOp<any>): ResolvedOp {
  if (typeof op === 'string') {
    if (!BUILTINS.includes(op)) throw new UsageError(`unknown reduction "${op}"; use ${BUILTINS.join(', ')} or a user function`);
    return { name: op, associative: true, commutative: true, combine: (a, b) => builtin(op, a, b) };
  }
  if (!op || typeof op.fn !== 'function') throw new UsageError('a user reduction needs { fn, associative, commutative }');
  return {
    name: op.name ?? (op.fn.name || 'user'),
    associative: Boolean(op.associative),
    commutative: Boolean(op.commutative),
    combine: (a, b) => op.fn(a, b),
  };
}

function checkSameShape(a: FmiValue, b: FmiValue): void {
  const ta = typeof a === 'object' ? a.constructor.name : typeof a;
  const tb = typeof b === 'object' ? b.constructor.name : typeof b;
  if (ta !== tb) throw new UsageError(`cannot reduce a ${ta} with a ${tb}: every rank must contribute the same type`);
  if (typeof a === 'object' && (a as FmiArray).length !== (b as FmiArray).length)
    throw new UsageError(`cannot reduce arrays of ${(a as FmiArray).length} and ${(b as FmiArray).length} elements: every rank must contribute the same length`);
}

function builtin(op: BuiltinOp, a: FmiValue, b: FmiValue): FmiValue {
  checkSameShape(a, b);
  if (typeof a === 'number') return scalarNumber(op, a, b as number);
  if (typeof a === 'bigint') return BigInt.asIntN(64, scalarBig(op, a, b as bigint));
  const x = a as FmiArray;
  const y = b as FmiArray;
  const out = new (x.constructor as { new (n: number): FmiArray })(x.length);
  if (x instanceof BigInt64Array || x instanceof BigUint64Array) {
    const o = out as BigInt64Array, p = x as BigInt64Array, q = y as BigInt64Array;
    for (let i = 0; i < p.length; i++) o[i] = scalarBig(op, p[i], q[i]);
    return out;
  }
  const o = out as Float64Array, p = x as Float64Array, q = y as Float64Array;
  const n = p.length;
  // 32-bit integer products overflow double precision; Math.imul gives the exact wrapped result.
  const exactMul = x instanceof Int32Array || x instanceof Uint32Array;
  switch (op) {
    case 'sum':
      for (let i = 0; i < n; i++) o[i] = p[i] + q[i];
      break;
    case 'prod':
      if (exactMul) for (let i = 0; i < n; i++) o[i] = Math.imul(p[i], q[i]);
      else for (let i = 0; i < n; i++) o[i] = p[i] * q[i];
      break;
    case 'min':
      for (let i = 0; i < n; i++) o[i] = Math.min(p[i], q[i]);
      break;
    case 'max':
      for (let i = 0; i < n; i++) o[i] = Math.max(p[i], q[i]);
      break;
  }
  return out;
}

function scalarNumber(op: BuiltinOp, a: number, b: number): number {
  switch (op) {
    case 'sum':
      return a + b;
    case 'prod':
      return a * b;
    case 'min':
      return Math.min(a, b);
    case 'max':
      return Math.max(a, b);
  }
}

function scalarBig(op: BuiltinOp, a: bigint, b: bigint): bigint {
  switch (op) {
    case 'sum':
      return a + b;
    case 'prod':
      return a * b;
    case 'min':
      return a < b ? a : b;
    case 'max':
      return a > b ? a : b;
  }
}
