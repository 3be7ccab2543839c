// Predictions CSV as bytes, for storage backends that take whole objects (a bucket has no file to stream
// into). Same format and row parser as the predictions file module.
import { DataError } from '../errors.js';
import { MAX_LINE_CHARS, PREDICTIONS_HEADER, formatFloat32, parsePredictionRow, type Predictions } from '../inference/predictions.js';

export function formatPredictionsCsv(p: Predictions): string {
  const n = p.zPred.length;
  if (p.objectId.length !== n || (p.zTrue && p.zTrue.length !== n)) throw new RangeError('predictions arrays differ in length');
  const rows = new Array<string>(n + 1);
  rows[0] = PREDICTIONS_HEADER;
  for (let i = 0; i < n; i++) {
    const t = p.zTrue?.[i];
    rows[i + 1] = `${p.objectId[i]},${t === undefined || Number.isNaN(t) ? '' : formatFloat32(t)},${formatFloat32(p.zPred[i]!)}`;
  }
  return rows.join('\n') + '\n';
}

/** Parse a whole predictions CSV; the first bad line raises a DataError naming `where` and the line. */
export function parsePredictionsCsv(bytes: Uint8Array, where: string): Predictions & { labelled: boolean } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(where, 'not UTF-8 text');
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw new DataError(where, 'empty file (no header)');
  const header = lines[0]!.replace(/^\ufeff/, '').replace(/\r$/, '');
  if (header !== PREDICTIONS_HEADER) throw new DataError(where, `line 1: expected header "${PREDICTIONS_HEADER}", found "${header.slice(0, 60)}"`);
  const n = lines.length - 1;
  const objectId = new BigInt64Array(n);
  const zTrue = new Float32Array(n);
  const zPred = new Float32Array(n);
  let labelledRows = 0;
  for (let i = 0; i < n; i++) {
    const line = lines[i + 1]!.replace(/\r$/, '');
    if (line.length > MAX_LINE_CHARS) throw new DataError(where, `line ${i + 2}: longer than ${MAX_LINE_CHARS} characters`);
    const row = parsePredictionRow(line, where, i + 2);
    objectId[i] = row.objectId;
    zTrue[i] = row.zTrue;
    zPred[i] = row.zPred;
    if (!Number.isNaN(row.zTrue)) labelledRows++;
  }
  return { objectId, zTrue: labelledRows > 0 ? zTrue : undefined, zPred, labelled: n > 0 && labelledRows === n };
}
