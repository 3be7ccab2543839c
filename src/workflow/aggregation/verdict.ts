// The root's word to every member once its gather has ended: every rank's results arrived, or which
// ranks were missing (absent from the run, or only late), or the root could not gather at all. Members
// end their part with the root's outcome, so every rank of an attempt reports the same thing, whatever
// it happened to see itself. It travels as an Int32Array: [kind, ...communicator ranks].
import { DataError } from '../../errors.js';

export type Verdict = { kind: 'gathered' } | { kind: 'missing'; ranks: number[]; absent: boolean } | { kind: 'root-failed' };

const KIND = { gathered: 0, absent: 1, late: 2, rootFailed: 3 } as const;

export function encodeVerdict(v: Verdict): Int32Array {
  if (v.kind === 'gathered') return Int32Array.of(KIND.gathered);
  if (v.kind === 'root-failed') return Int32Array.of(KIND.rootFailed);
  return Int32Array.from([v.absent ? KIND.absent : KIND.late, ...v.ranks]);
}

/** A verdict from the root of a communicator of `size` ranks; anything else is a one-line DataError. */
export function decodeVerdict(value: unknown, size: number, where: string): Verdict {
  if (!(value instanceof Int32Array) || value.length < 1 || value.length > size + 1) throw new DataError(where, 'is not a verdict of this aggregation');
  const [kind, ...ranks] = value;
  if (kind === KIND.gathered && ranks.length === 0) return { kind: 'gathered' };
  if (kind === KIND.rootFailed && ranks.length === 0) return { kind: 'root-failed' };
  if ((kind === KIND.absent || kind === KIND.late) && ranks.length > 0 && ranks.every((r) => Number.isInteger(r) && r > 0 && r < size)) return { kind: 'missing', ranks, absent: kind === KIND.absent };
  throw new DataError(where, `is not a verdict of this aggregation (kind ${kind}, ${ranks.length} ranks)`);
}
