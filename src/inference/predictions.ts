// The predictions file, the one home of its format: CSV with header `object_id,z_true,z_pred`, one row per
// sample. Object ids are exact 64-bit decimals (SDSS objids exceed 2^53); z_true is empty for unlabelled
// data; redshifts are written with the fewest digits that read back to the same float32. Written to a file
// atomically or as bytes for a storage object (a bucket has no file to stream into); read back by a
// streaming, validating parser (for merging per-rank files) or whole from bytes.
import { createReadStream } from 'node:fs';
import { DataError } from '../errors.js';
import { openAtomic, type AtomicFile } from '../util/atomic-file.js';

/** The file name of a predictions file, in a `cai infer` output and in a run's results alike. */
export const PREDICTIONS_FILE = 'predictions.csv';
export const PREDICTIONS_HEADER = 'object_id,z_true,z_pred';
/** No valid row comes near this; a longer line means the file is not a predictions file. */
export const MAX_LINE_CHARS = 256;
const ROWS_PER_WRITE = 16_384;

export interface Predictions {
  objectId: BigInt64Array;
  /** Absent when unlabelled; NaN marks a row without z_true in a mixed file. */
  zTrue?: Float32Array;
  zPred: Float32Array;
}

/** Shortest decimal that reads back as the same float32. */
export function formatFloat32(v: number): string {
  for (let p = 6; p < 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(Number(v.toPrecision(9)));
}

function checkLengths(p: Predictions): void {
  const n = p.zPred.length;
  if (p.objectId.length !== n || (p.zTrue && p.zTrue.length !== n)) throw new RangeError('predictions arrays differ in length');
}

/** Rows `start` to `end` (exclusive), each ending in a newline. */
function formatRows(p: Predictions, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) {
    const t = p.zTrue?.[i];
    text += `${p.objectId[i]},${t === undefined || Number.isNaN(t) ? '' : formatFloat32(t)},${formatFloat32(p.zPred[i]!)}\n`;
  }
  return text;
}

/** A whole predictions file as text, for storage that takes whole objects. */
export function formatPredictionsCsv(p: Predictions): string {
  checkLengths(p);
  return `${PREDICTIONS_HEADER}\n${formatRows(p, 0, p.zPred.length)}`;
}

/** Streams rows into a temp file; commit() renames it into place. */
export class PredictionsWriter {
  private rows = 0;
  private constructor(private readonly f: AtomicFile, readonly path: string) {}

  static async create(path: string): Promise<PredictionsWriter> {
    const f = await openAtomic(path);
    await f.handle.write(PREDICTIONS_HEADER + '\n');
    return new PredictionsWriter(f, path);
  }

  get rowCount(): number {
    return this.rows;
  }

  async append(p: Predictions): Promise<void> {
    checkLengths(p);
    const n = p.zPred.length;
    for (let start = 0; start < n; start += ROWS_PER_WRITE) await this.f.handle.write(formatRows(p, start, Math.min(n, start + ROWS_PER_WRITE)));
    this.rows += n;
  }

  commit(): Promise<void> {
    return this.f.commit();
  }

  abort(): Promise<void> {
    return this.f.abort();
  }
}

export async function writePredictionsCsv(path: string, p: Predictions): Promise<void> {
  const w = await PredictionsWriter.create(path);
  try {
    await w.append(p);
    await w.commit();
  } catch (err) {
    await w.abort();
    throw err;
  }
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const ID_RE = /^-?\d{1,20}$/;
const NUM_RE = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function parseZ(s: string, file: string, line: number, column: string): number {
  if (!NUM_RE.test(s)) throw new DataError(file, `line ${line}: ${column} "${s.slice(0, 40)}" is not a number`);
  const v = Number(s);
  if (!Number.isFinite(v)) throw new DataError(file, `line ${line}: ${column} ${s.slice(0, 40)} is not finite`);
  return v;
}

/** Parse one data row; `line` is 1-based (the header is line 1). */
export function parsePredictionRow(text: string, file: string, line: number): { objectId: bigint; zTrue: number; zPred: number } {
  const cells = text.split(',');
  if (cells.length !== 3) throw new DataError(file, `line ${line}: expected 3 fields (${PREDICTIONS_HEADER}), found ${cells.length}`);
  const [id, t, pz] = cells as [string, string, string];
  if (!ID_RE.test(id)) throw new DataError(file, `line ${line}: object_id "${id.slice(0, 40)}" is not an integer`);
  const objectId = BigInt(id);
  if (objectId < INT64_MIN || objectId > INT64_MAX) throw new DataError(file, `line ${line}: object_id ${id} does not fit in 64 bits`);
  const zTrue = t === '' ? NaN : parseZ(t, file, line, 'z_true');
  if (pz === '') throw new DataError(file, `line ${line}: z_pred is empty`);
  return { objectId, zTrue, zPred: parseZ(pz, file, line, 'z_pred') };
}

/** The header line, with any byte-order mark; anything else is a DataError naming the file. */
function checkHeader(line: string, file: string): void {
  const header = line.replace(/^\ufeff/, '');
  if (header !== PREDICTIONS_HEADER) throw new DataError(file, `line 1: expected header "${PREDICTIONS_HEADER}", found "${header.slice(0, 60)}"`);
}

/** Lines of a text stream, refusing any longer than `maxChars` (so a hostile file cannot exhaust memory). */
async function* lines(file: string, maxChars: number): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let rest = '';
  let stream;
  try {
    stream = createReadStream(file, { highWaterMark: 1 << 20 });
    for await (const chunk of stream) {
      let text: string;
      try {
        text = rest + decoder.decode(chunk as Buffer, { stream: true });
      } catch {
        throw new DataError(file, 'not UTF-8 text');
      }
      const parts = text.split('\n');
      rest = parts.pop()!;
      if (rest.length > maxChars) throw new DataError(file, `a line is longer than ${maxChars} characters`);
      for (const l of parts) {
        if (l.length > maxChars) throw new DataError(file, `a line is longer than ${maxChars} characters`);
        yield l.endsWith('\r') ? l.slice(0, -1) : l;
      }
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(file, code === 'ENOENT' ? 'file not found' : `cannot read (${(err as Error).message})`);
  } finally {
    stream?.destroy();
  }
  if (rest !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

/**
 * Stream a predictions file in chunks of up to `chunkRows` rows. Every line is validated; the first bad one
 * raises a DataError naming the file and line.
 */
export async function* readPredictions(file: string, opts: { chunkRows?: number } = {}): AsyncGenerator<Predictions & { labelled: boolean }> {
  const size = opts.chunkRows ?? 65_536;
  let lineNo = 0;
  let ids = new BigInt64Array(size);
  let zt = new Float32Array(size);
  let zp = new Float32Array(size);
  let n = 0;
  let labelledRows = 0;
  const flush = (): Predictions & { labelled: boolean } => {
    const labelled = labelledRows === n;
    const out = { objectId: ids.subarray(0, n), zTrue: labelledRows > 0 ? zt.subarray(0, n) : undefined, zPred: zp.subarray(0, n), labelled };
    ids = new BigInt64Array(size);
    zt = new Float32Array(size);
    zp = new Float32Array(size);
    n = 0;
    labelledRows = 0;
    return out;
  };
  for await (const text of lines(file, MAX_LINE_CHARS)) {
    lineNo++;
    if (lineNo === 1) {
      checkHeader(text, file);
      continue;
    }
    if (text === '') {
      // Only a final newline may leave an empty line.
      continue;
    }
    const row = parsePredictionRow(text, file, lineNo);
    ids[n] = row.objectId;
    zt[n] = row.zTrue;
    zp[n] = row.zPred;
    if (!Number.isNaN(row.zTrue)) labelledRows++;
    n++;
    if (n === size) yield flush();
  }
  if (lineNo === 0) throw new DataError(file, 'empty file (no header)');
  if (n > 0) yield flush();
}

/** Parse a whole predictions CSV from bytes; the first bad line raises a DataError naming `where` and the line. */
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
  checkHeader(lines[0]!.replace(/\r$/, ''), where);
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

/** Read a whole predictions file into arrays. */
export async function readPredictionsFile(file: string): Promise<Predictions & { labelled: boolean }> {
  const chunks: (Predictions & { labelled: boolean })[] = [];
  for await (const c of readPredictions(file)) chunks.push(c);
  return concatPredictions(chunks);
}

export function concatPredictions(chunks: (Predictions & { labelled?: boolean })[]): Predictions & { labelled: boolean } {
  const n = chunks.reduce((s, c) => s + c.zPred.length, 0);
  const anyTrue = chunks.some((c) => c.zTrue);
  const out = { objectId: new BigInt64Array(n), zTrue: anyTrue ? new Float32Array(n).fill(NaN) : undefined, zPred: new Float32Array(n), labelled: n > 0 && chunks.every((c) => c.zTrue && c.labelled !== false) };
  let at = 0;
  for (const c of chunks) {
    out.objectId.set(c.objectId, at);
    out.zPred.set(c.zPred, at);
    if (c.zTrue) out.zTrue!.set(c.zTrue, at);
    at += c.zPred.length;
  }
  return out;
}

/** Concatenate predictions files in order into one, atomically; returns the number of rows. */
export async function mergePredictionFiles(inputs: string[], out: string): Promise<number> {
  const w = await PredictionsWriter.create(out);
  try {
    for (const f of inputs) for await (const c of readPredictions(f)) await w.append(c);
    await w.commit();
    return w.rowCount;
  } catch (err) {
    await w.abort();
    throw err;
  }
}
